# Billing functions: the stable make interface (see README.md).
SHELL := /bin/bash
GO ?= go
BILLING := $(GO) run ./cmd/billing
FUNCTIONS := $(notdir $(wildcard functions/*))
BUILD_DIR ?= build
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"

.PHONY: dev serve migrate test test-go lint build wasm bench package-sizes clean

## dev: the whole stack on one machine (Postgres, stripe-mock, migrations, all functions)
dev:
	$(BILLING) dev

## serve: every function on PORT, configured only from the environment
serve:
	$(BILLING) serve

## migrate: apply migrations/ to DATABASE_URL
migrate:
	$(BILLING) migrate

## test: lint, then every test against a throwaway Postgres and stripe-mock
test: lint
	$(BILLING) testenv -- $(GO) test -count=1 -timeout 8m ./...

## lint: gofmt, go vet, staticcheck (pinned in go.mod's tool block)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

## build: one bootstrap per function for AWS Lambda (linux/arm64)
build:
	@for f in $(FUNCTIONS); do \
	  echo "build $$f"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build $(LAMBDA_FLAGS) -o $(BUILD_DIR)/$$f/bootstrap ./functions/$$f || exit 1; \
	done

## wasm: GOOS=wasip1 builds of every function
wasm:
	@for f in $(FUNCTIONS); do \
	  echo "wasm $$f"; \
	  CGO_ENABLED=0 GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -ldflags "-s -w" -o $(BUILD_DIR)/wasm/$$f.wasm ./functions/$$f || exit 1; \
	done

## package-sizes: the size of every Lambda bootstrap
package-sizes: build
	@for f in $(FUNCTIONS); do printf "%-28s %8d bytes\n" $$f $$(stat -c %s $(BUILD_DIR)/$$f/bootstrap); done

## bench: the benchmarks against real Postgres and stripe-mock
bench:
	$(BILLING) testenv -- $(GO) test -run '^$$' -bench . -benchmem -count=1 ./...

clean:
	rm -rf $(BUILD_DIR)
