# syntax=docker/dockerfile:1
#
# The slipwatch image: a static binary on distroless, as a non-root user,
# with no shell. Build with the version stamped in:
#
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse --short HEAD) -t slipwatch .
#
# charts/image_test.go lints this file and runs its `go build` line, so keep
# that line one plain command.

# The build runs on the builder's own platform and cross-compiles (no
# emulation): a pure-Go binary needs nothing of the target but GOOS/GOARCH.
FROM --platform=$BUILDPLATFORM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so that a code change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
ARG TARGETOS=linux
ARG TARGETARCH=amd64
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath -buildvcs=false -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" -o /out/slipwatch ./cmd/slipwatch

# static-debian12 has CA certificates, tzdata (timezone: Europe/Berlin needs
# it) and /etc/passwd with nonroot (65532); nothing else, not even a shell.
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG COMMIT=unknown
LABEL org.opencontainers.image.title="slipwatch" \
      org.opencontainers.image.description="Keeps the delivery dates promised to leadership honest" \
      org.opencontainers.image.source="https://github.com/slipwatch/slipwatch" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build /out/slipwatch /usr/local/bin/slipwatch
# Numeric, so that Kubernetes' runAsNonRoot can check it without /etc/passwd.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/slipwatch"]
CMD ["run", "--config", "/etc/slipwatch/config.yaml"]
