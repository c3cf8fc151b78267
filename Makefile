# Billing functions: the stable make interface (see README.md).
SHELL := /bin/bash
GO ?= go
BILLING := $(GO) run ./cmd/billing
FUNCTIONS := $(notdir $(wildcard functions/*))
BUILD_DIR ?= build
LAMBDA_FLAGS := -tags lambda.norpc -trimpath -ldflags "-s -w"
LAMBDA_ENV := CGO_ENABLED=0 GOOS=linux GOARCH=arm64
# ENV picks the samconfig.toml environment of `make deploy` (dev, staging, prod).
ENV ?= dev
# PLANS_FILE: a plan catalog to ship next to each bootstrap as plans.json
# (then deploy with BillingPlansFile=/var/task/plans.json); empty = embedded default.
PLANS_FILE ?=
# WASI components (make wasm, make serve-wasm): output folder, the pinned
# jco, and how many functions go build links at once.
WASM_DIR ?= dist/wasm
WASI_TOOLS := tools/wasi
JCO := $(WASI_TOOLS)/node_modules/.bin/jco
WASM_JOBS ?= 2

.PHONY: dev serve serve-wasm wasi-tools bench-wasm migrate test test-go lint build wasm bench package-sizes clean validate deploy node-deps chromium test-client test-e2e fuzz fuzz-short

# dev and serve run the built tool itself (not `go run`, which exits 1 on
# Ctrl-C and makes make print an error): Ctrl-C stops them cleanly.
BILLING_BIN := .bin/billing

## dev: the whole stack on one machine (Postgres, local Stripe over stripe-mock, migrations, all functions, demo page at /)
dev:
	@$(GO) build -o $(BILLING_BIN) ./cmd/billing && exec $(BILLING_BIN) dev

## serve: every function on PORT, configured only from the environment
serve:
	@$(GO) build -o $(BILLING_BIN) ./cmd/billing && exec $(BILLING_BIN) serve

## migrate: apply migrations/ to DATABASE_URL
migrate:
	$(BILLING) migrate

## test: lint, then every test against a throwaway Postgres and stripe-mock
## (the HTTP contract tests also against the components of make wasm, under jco serve),
## a short fuzz of every target, the TypeScript client's checks and the browser test
test: lint wasm
	BILLING_WASM_DIR=$(abspath $(WASM_DIR)) BILLING_JCO=$(abspath $(JCO)) BILLING_WASM_REQUIRED=1 \
	  $(BILLING) testenv -- $(GO) test -count=1 -timeout 8m ./...
	$(MAKE) --no-print-directory fuzz-short test-client test-e2e

# Node.js and npm (Debian's packages, with apt-get when root and missing),
# then the pinned npm packages of package-lock.json (npm ci).
node-deps:
	@if ! command -v node >/dev/null || ! command -v npm >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm; \
	  else echo "node and npm are needed: sudo apt-get install -y nodejs npm"; exit 1; fi; fi
	npm ci --prefix clients/typescript --no-audit --no-fund --loglevel=error
	npm ci --prefix e2e --no-audit --no-fund --loglevel=error

# Debian's chromium for the browser test (no browser download).
CHROMIUM_PATH ?= /usr/bin/chromium
chromium:
	@if [ ! -x "$(CHROMIUM_PATH)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; \
	  else echo "chromium is needed for the browser test: sudo apt-get install -y chromium"; exit 1; fi; fi

## test-client: the TypeScript client type-checks (tsc --noEmit) and its committed dist/ is what tsc makes of src/
test-client: node-deps
	cd clients/typescript && node node_modules/typescript/bin/tsc -p tsconfig.json --noEmit && node check-dist.mjs

## test-e2e: the demo page end to end in chromium (playwright-core) against billing dev, a throwaway Postgres and the local Stripe
test-e2e: node-deps chromium
	CHROMIUM_PATH=$(CHROMIUM_PATH) $(BILLING) testenv -- npm --prefix e2e test

# The fuzz targets (internal/fuzz, and stripesync's scanner against encoding/json;
# seed corpora in their testdata/fuzz/).
FUZZ_PKGS := ./internal/fuzz ./shared/stripesync
FUZZTIME ?= 60s
run-fuzz = @for p in $(FUZZ_PKGS); do \
	  for f in $$($(GO) test -list '^Fuzz' $$p | grep '^Fuzz'); do \
	    echo "fuzz $$p $$f for $(1)"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(1) $$p || exit 1; \
	  done; \
	done

## fuzz: every fuzz target for FUZZTIME (default 60s each); new failing inputs land in internal/fuzz/testdata/fuzz
fuzz:
	$(call run-fuzz,$(FUZZTIME))

# fuzz-short: every fuzz target for 3 s (part of make test)
fuzz-short:
	$(call run-fuzz,3s)

## lint: gofmt, go vet, staticcheck (pinned in go.mod's tool block), and every function compiles for WASI
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...
	CGO_ENABLED=0 GOOS=wasip1 GOARCH=wasm $(GO) build ./functions/...
	CGO_ENABLED=0 GOOS=wasip1 GOARCH=wasm $(GO) vet ./shared/wasihttp/ ./shared/outbound/

## build: one bootstrap per function for AWS Lambda (linux/arm64), in build/<name>/bootstrap
build:
	@for f in $(FUNCTIONS); do \
	  echo "build $$f"; \
	  $(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(BUILD_DIR)/$$f/bootstrap ./functions/$$f || exit 1; \
	done

# sam build (BuildMethod: makefile) runs `make build-<LogicalId>` with
# ARTIFACTS_DIR set; the bootstrap (and plans.json with PLANS_FILE) go there.
lambda-bootstrap = @test -n "$(ARTIFACTS_DIR)" || { echo "ARTIFACTS_DIR is not set (sam build sets it)"; exit 1; }; \
	echo "build $(1) -> $(ARTIFACTS_DIR)/bootstrap"; \
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/$(1) \
	$(if $(PLANS_FILE),&& cp $(PLANS_FILE) $(ARTIFACTS_DIR)/plans.json)

build-CreateCheckoutSessionFunction:
	$(call lambda-bootstrap,create-checkout-session)
build-HandleStripeWebhookFunction:
	$(call lambda-bootstrap,handle-stripe-webhook)
build-CancelSubscriptionFunction:
	$(call lambda-bootstrap,cancel-subscription)
build-ResumeSubscriptionFunction:
	$(call lambda-bootstrap,resume-subscription)
build-CheckSubscriptionFunction:
	$(call lambda-bootstrap,check-subscription)
build-CreatePortalSessionFunction:
	$(call lambda-bootstrap,create-portal-session)
build-ReconcileSubscriptionsFunction:
	$(call lambda-bootstrap,reconcile-subscriptions)
build-ChangePlanFunction:
	$(call lambda-bootstrap,change-plan)

## wasm: every function as a wasi:http/proxy@0.2.12 component in dist/wasm/<name>.wasm (docs/wasi.md)
wasm: wasi-tools
	@mkdir -p $(WASM_DIR)/core
	@printf '%s\n' $(FUNCTIONS) | xargs -P $(WASM_JOBS) -I{} sh -c \
	  'echo "wasm {}"; CGO_ENABLED=0 GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -ldflags "-s -w" -o $(WASM_DIR)/core/{}.wasm ./functions/{}'
	node $(WASI_TOOLS)/componentize.mjs $(foreach f,$(FUNCTIONS),$(WASM_DIR)/core/$(f).wasm $(WASM_DIR)/$(f).wasm)

## serve-wasm: `make serve`, every function running as its component under `jco serve`
serve-wasm: wasm
	$(BILLING) serve-wasm -dir $(WASM_DIR) -jco $(JCO)

# wasi-tools: Node.js (apt-get when root and missing) and the pinned jco
# from tools/wasi/package-lock.json.
wasi-tools: $(WASI_TOOLS)/node_modules/.installed
$(WASI_TOOLS)/node_modules/.installed: $(WASI_TOOLS)/package-lock.json
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq nodejs npm; \
	  else echo "Node.js and npm are missing: sudo apt-get install -y nodejs npm"; exit 1; fi; }
	@v=$$(node -p 'process.versions.node.split(".")[0]'); [ "$$v" -ge 20 ] || { echo "jco needs Node.js 20 or later (found $$(node --version))"; exit 1; }
	cd $(WASI_TOOLS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## package-sizes: the size of every Lambda bootstrap and of its zip, and whether it links stripe-go
package-sizes: build
	@printf "%-26s %10s %10s  %s\n" function bootstrap deflated stripe-go
	@for f in $(FUNCTIONS); do \
	  b=$(BUILD_DIR)/$$f/bootstrap; \
	  z=$$(gzip -6 -c $$b | wc -c); \
	  if $(GO) version -m $$b | grep -q 'github.com/stripe/stripe-go'; then s=yes; else s=no; fi; \
	  printf "%-26s %10d %10d  %s\n" $$f $$(stat -c %s $$b) $$z $$s; \
	done

## validate: lint the SAM template (cfn-lint; `sam validate --lint` when the SAM CLI is installed)
validate:
	cfn-lint template.yaml
	@if command -v sam >/dev/null; then sam validate --lint --template-file template.yaml; else echo "sam not installed: skipped sam validate --lint"; fi

## deploy: sam build and sam deploy for ENV (dev, staging, prod; see samconfig.toml)
deploy:
	@case "$(ENV)" in dev|staging|prod) ;; *) echo "ENV must be dev, staging or prod (got '$(ENV)')"; exit 1;; esac
	sam validate --lint --template-file template.yaml
	sam build --config-env $(ENV)
	sam deploy --config-env $(ENV)

## bench: every benchmark, one package at a time (-p 1: two at once shared the cores), against real Postgres and stripe-mock (the load driver included; starts through PgBouncer), the
## webhook CPU path and the Node peer pinned to one core, then one table (billing bench-report)
BENCH_COUNT ?= 3
BENCH_OUT := $(BUILD_DIR)/bench.txt
PEER_FIXTURE := functions/handle-stripe-webhook/webhook/testdata/peer-bench/customer.subscription.updated.json
bench:
	@mkdir -p $(BUILD_DIR)
	@command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || { \
	  if [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends pgbouncer >/dev/null; \
	  else echo "pgbouncer is not installed (sudo apt-get install -y pgbouncer): no pooler/ start figures"; fi; }
	$(BILLING) testenv -- $(GO) test -p 1 -run '^$$' -bench . -benchmem -count=$(BENCH_COUNT) -timeout 60m ./... > $(BENCH_OUT) 2>&1 || { cat $(BENCH_OUT); exit 1; }
	taskset -c 1 env GOMAXPROCS=1 $(GO) test -run '^$$' -bench PeerFixture -benchmem -count=$(BENCH_COUNT) \
	  ./functions/handle-stripe-webhook/webhook/ >> $(BENCH_OUT) 2>&1 || { cat $(BENCH_OUT); exit 1; }
	@if command -v node >/dev/null; then \
	  cd bench/peers && npm ci --no-audit --no-fund --silent && \
	  taskset -c 1 node construct-event.mjs ../../$(PEER_FIXTURE) 2 $(BENCH_COUNT) >> ../../$(BENCH_OUT); \
	else echo "node not installed: the Node peer was not run" >> $(BENCH_OUT); fi
	@cat $(BENCH_OUT)
	@echo
	$(BILLING) bench-report $(BENCH_OUT)

## bench-wasm: per-request time of the same calls (native and as components under jco serve), and each component's start
bench-wasm: wasm
	BILLING_WASM_DIR=$(abspath $(WASM_DIR)) BILLING_JCO=$(abspath $(JCO)) \
	  $(BILLING) testenv -- $(GO) test -run '^$$' -bench BenchmarkRequest -benchtime 100x -count=1 ./internal/contract
	BILLING_WASM_DIR=$(abspath $(WASM_DIR)) BILLING_JCO=$(abspath $(JCO)) \
	  $(BILLING) testenv -- $(GO) test -run '^$$' -bench BenchmarkComponentStart -benchtime 1x -count=1 -timeout 30m ./internal/contract

clean:
	rm -rf $(BUILD_DIR) dist
