# shadercast developer entry points. `make run` and `make test` install the
# system packages they need first (scripts/install-deps; a no-op when present).

# Go may be installed under /usr/local/go without being on PATH (CI runs a
# non-login shell); append it so both make's shell and go's subprocesses find it.
ifeq ($(shell command -v go 2>/dev/null),)
export PATH := $(PATH):/usr/local/go/bin
endif

GO ?= go
ARGS ?=

.PHONY: all deps bench-deps run test vet fmt-check build bench bench-compare

all: build

deps:
	scripts/install-deps

bench-deps:
	scripts/install-deps --bench

# make run ARGS="--flag value"
run: deps
	$(GO) run ./cmd/shadercast $(ARGS)

test: deps vet fmt-check
	$(GO) test -count=1 -timeout 30m ./...

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
