# `make run` builds and serves; `make test` runs every test (unit + end to end).
GO ?= go
export GOFLAGS := -buildvcs=false

.PHONY: run build test unit e2e bench vet

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

test: vet unit e2e

bench:
	bash scripts/bench.sh
