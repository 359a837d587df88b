# `make run` builds and serves; `make test` runs every test (unit + end to end).
GO ?= go
export GOFLAGS := -buildvcs=false

.PHONY: run build test unit e2e bench vet fuzz fuzz-short

run:
	$(GO) run ./cmd/sluice serve

build:
	$(GO) build -o bin/sluice ./cmd/sluice

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 10m ./internal/... ./cmd/...

e2e:
	$(GO) test -count=1 -timeout 25m ./test/e2e/...

test: vet unit fuzz-short e2e

# Every fuzz target for FUZZTIME (default 1m) each; fuzz-short is CI's fixed run.
FUZZTIME ?= 1m
fuzz:
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

fuzz-short:
	FUZZTIME=2s FUZZMINIMIZETIME=5s bash scripts/fuzz.sh

bench:
	bash scripts/bench.sh
