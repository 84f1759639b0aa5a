# slipwatch. `make test` is the command the README and CI run.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: build test fmt-check vet bench lint

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/slipwatch ./cmd/slipwatch

# gofmt, vet, then every test with the race detector. Tests that need
# redis-server or helm fail (rather than skip) when CI=true.
test: fmt-check vet
	$(GO) test -race -count=1 ./...
	cd charts && $(GO) vet ./... && $(GO) test -race -count=1 ./...

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Every performance figure next to its baseline, written to BENCHMARKS.md
# (starts its own redis-server; a few minutes on 2 cores). The Go
# micro-benchmarks stay one command away: go test -run '^$$' -bench . ./...
bench:
	$(GO) run ./cmd/slipbench -out BENCHMARKS.md

lint: fmt-check vet
	@command -v staticcheck >/dev/null 2>&1 && staticcheck ./... || echo "staticcheck not installed; ran gofmt and vet only"
