# shadercast developer entry points. `make run` and `make test` install the
# system packages they need first (scripts/install-deps; a no-op when present).

# Go may be installed under /usr/local/go without being on PATH (CI runs a
# non-login shell); append it so both make's shell and go's subprocesses find it.
ifeq ($(shell command -v go 2>/dev/null),)
export PATH := $(PATH):/usr/local/go/bin
endif

GO ?= go
ARGS ?=
# How long `make fuzz` runs each fuzz target, and how long `make test` does:
# a count, not a time, for the brief run, because go test -fuzz with a short
# -fuzztime duration now and then fails with "context deadline exceeded"
# when its deadline falls inside a slow input (seen with 2s here).
FUZZTIME ?= 30s
FUZZTIME_BRIEF ?= 20000x

# The packages whose goroutines share state are tested under the race
# detector only: a -race run checks everything a plain run does, so running
# them twice would only cost CI time. The rest (end-to-end tests of the built
# binary, single-goroutine parsers, cgo codec wrappers) run plainly.
MODULE := github.com/shadercast/shadercast
RACE_PKGS := compositor generator internal/glthread internal/rtcendpoint internal/safe media plugins processor service trial whep whip

.PHONY: all deps livekit bench-deps run test test-race test-plain fuzz fuzz-brief vet fmt-check build bench bench-compare

all: build

deps:
	scripts/install-deps

# The LiveKit server the tests publish into, built once into ~/.cache.
livekit:
	scripts/install-livekit >/dev/null

bench-deps:
	scripts/install-deps --bench

# make run ARGS="--flag value"
run: deps
	$(GO) run ./cmd/shadercast $(ARGS)

test: deps livekit vet fmt-check test-race test-plain fuzz-brief

test-race: deps
	$(GO) test -race -count=1 -timeout 30m $(addprefix ./,$(RACE_PKGS))

test-plain: deps livekit
	$(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -vxF $(foreach p,$(RACE_PKGS),-e $(MODULE)/$(p)))

# Every fuzz target for FUZZTIME each (make fuzz FUZZTIME=10m); crashers land
# in the package's testdata/fuzz and fail the run (scripts/fuzz).
fuzz: deps
	scripts/fuzz $(FUZZTIME)

fuzz-brief: deps
	scripts/fuzz $(FUZZTIME_BRIEF)

vet: deps
	$(GO) vet ./...

# gofmt over every .go file outside testdata/ and dot directories (the go
# tool skips those too); fails listing the files gofmt would change.
fmt-check:
	@bad=$$(find . \( -name testdata -o -name vendor -o -name '.?*' \) -prune -o -name '*.go' -exec gofmt -l {} +); \
	if [ -n "$$bad" ]; then echo "gofmt needed on:"; echo "$$bad"; echo "fix: gofmt -w <files>"; exit 1; fi; \
	echo "gofmt: ok"

build:
	$(GO) build -o bin/shadercast ./cmd/shadercast

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

bench-compare: bench-deps
	scripts/bench-compare
