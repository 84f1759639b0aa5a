# slipwatch. `make test` is the command the README and CI run.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: build test fmt-check vet bench lint fuzz fuzz-short

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/slipwatch ./cmd/slipwatch

# gofmt, vet, then every test with the race detector (internal/e2e runs
# the built binary through faults, bad input and a headless browser, a
# few minutes on 2 cores), then
# each fuzz target for 50,000 inputs (about 30 s more). Tests that need
# redis-server or helm fail (rather than skip) when CI=true.
test: fmt-check vet
	$(GO) test -race -count=1 ./...
	cd charts && $(GO) vet ./... && $(GO) test -race -count=1 ./...
	@$(MAKE) --no-print-directory fuzz-short

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# Native Go fuzz targets, "package Target" pairs. Crashers land in the
# package's testdata/fuzz/<Target>/ and stay there as regression seeds
# (plain `go test` replays them).
FUZZ_TARGETS := \
	./connectors FuzzParseDate \
	./connectors FuzzDateText \
	./config FuzzParse \
	./connectors/github FuzzParseWebhook \
	./connectors/jira FuzzParseWebhook \
	./reconcile FuzzParseCommand \
	./reconcile FuzzParseMarkers
FUZZTIME ?= 10s

# Nightly-style: every target for FUZZTIME (make fuzz FUZZTIME=10m).
fuzz:
	@set -e; set -- $(FUZZ_TARGETS); while [ $$# -gt 0 ]; do \
		echo "fuzz $$1 $$2 for $(FUZZTIME)"; \
		$(GO) test $$1 -run '^$$' -fuzz "^$$2\$$" -fuzztime $(FUZZTIME); shift 2; done

# What CI runs: each target for 50,000 inputs (3 to 8 s each on 2 cores).
# A count, not a duration: Go 1.26's coordinator can fail a duration run
# with a bare "context deadline exceeded" when the clock runs out while a
# worker is mid-input (golang/go#75804, fixed in Go 1.27); a count has no
# deadline to race, so CI fails only on a real finding.
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=50000x

# Every performance figure next to its baseline, written to BENCHMARKS.md
# (starts its own redis-server; about seven minutes on 2 cores). The Go
# micro-benchmarks stay one command away: go test -run '^$$' -bench . ./...
bench:
	$(GO) run ./cmd/slipbench -out BENCHMARKS.md

lint: fmt-check vet
	@command -v staticcheck >/dev/null 2>&1 && staticcheck ./... || echo "staticcheck not installed; ran gofmt and vet only"
