# `make run` builds and serves; `make test` runs every test (unit + end to end).
GO ?= go
export GOFLAGS := -buildvcs=false

.PHONY: run build test unit e2e bench vet fuzz fuzz-short soak

# run builds bin/sluice first (minutes on a fresh machine, seconds after) and says
# so, then serves in the foreground; ARGS are passed to serve (ARGS='--listen 127.0.0.1:8080').
ARGS ?=
run:
	@echo "make run: building bin/sluice (the first build compiles every dependency: a few minutes; later builds take seconds)..."
	@$(GO) build -o bin/sluice ./cmd/sluice
	@echo "make run: starting bin/sluice serve $(ARGS) in the foreground (Ctrl-C stops it)"
	@./bin/sluice serve $(ARGS)

build:
	$(GO) build -o bin/sluice ./cmd/sluice

vet:
	$(GO) vet ./...

unit:
	$(GO) test -race -count=1 -timeout 10m ./internal/... ./cmd/...

e2e:
	$(GO) test -count=1 -timeout 45m ./test/e2e/...

test: vet unit fuzz-short e2e

# Every fuzz target for FUZZTIME (default 1m) each; fuzz-short is CI's fixed run.
FUZZTIME ?= 1m
fuzz:
	FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

fuzz-short:
	FUZZTIME=1s FUZZMINIMIZETIME=5s bash scripts/fuzz.sh

bench:
	bash scripts/bench.sh

# Load through an HTTP API and a REST API to Node, Python and Go functions with
# control-plane churn, sampling the server every SOAK_SAMPLE into SOAK_CSV; fails on
# any error or unbounded growth. Not part of `make test`.
SOAK_DURATION ?= 1h
SOAK_SAMPLE ?= 1m
SOAK_CSV ?= $(CURDIR)/soak.csv
soak:
	SOAK_DURATION=$(SOAK_DURATION) SOAK_SAMPLE=$(SOAK_SAMPLE) SOAK_CSV=$(SOAK_CSV) \
		$(GO) test -count=1 -timeout 0 -run '^TestSoak$$' -v ./test/e2e/
