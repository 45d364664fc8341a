# mlattest — two commands on a fresh machine:
#   make demo   runs the example pipeline end to end against a private Sigstore stack
#   make test   runs every check CI runs (vet, gofmt, race tests, end-to-end, fuzz)
SHELL := /bin/bash
export GOTOOLCHAIN := local
GO ?= go
BIN := bin/mlattest
FUZZTIME ?= 5s
# Every recipe that needs the stack sources its environment first.
STACK_ENV = eval "$$(scripts/stack.sh env)" && eval "$$(scripts/registry.sh env)"

.PHONY: all build stack stack-stop s3 tools test unit lint fuzz bench demo clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/mlattest

stack:
	scripts/stack.sh start
	scripts/registry.sh start

stack-stop:
	scripts/stack.sh stop
	scripts/registry.sh stop
	scripts/s3.sh stop
	scripts/gcs.sh stop

# The S3-compatible server (SeaweedFS) and the GCS emulator
# (fake-gcs-server) of the object-storage tests; not needed by the demo.
s3:
	scripts/s3.sh start
	scripts/gcs.sh start

# Pinned tools the tests run (actionlint), cached like the stack's servers.
tools:
	scripts/tools.sh build

lint:
	$(GO) vet ./...
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Unit tests only: no services needed.
unit:
	$(GO) test -race -short ./...

# The end-to-end package drives the real CLI against every service under
# -race: on 2 busy cores it can pass go test's default 10-minute limit.
# The dataset-scan harness has no concurrency of its own (scan/data's race
# tests cover the scanner's) and is ten times slower under -race, so it runs
# once without it.
RACE_PKGS = $$($(GO) list ./... | grep -v '/scan/data/harness$$')
test: lint build stack s3 tools
	$(STACK_ENV) && $(GO) test -race -count=1 -timeout 25m $(RACE_PKGS)
	$(GO) test -count=1 -timeout 10m ./scan/data/harness
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

fuzz:
	FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

# Benchmarks report ratios against baselines measured in the same run
# (openssl dgst, sha256sum, find|xargs sha256sum, plain reads and
# in-toto-golang run for hashing; see scripts/bench.sh). Not part of test.
bench: build stack
	$(STACK_ENV) && scripts/bench.sh

demo: build stack
	$(STACK_ENV) && examples/pipeline/demo.sh

clean:
	rm -rf bin .demo
