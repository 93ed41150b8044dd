# Ward's build. `make help` lists the targets. `make test` and `make demo`
# install the Debian packages they need first (only those that are missing).

SHELL        := /bin/bash
GO           ?= go
BIN          := bin/ward
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS      := -X main.version=$(VERSION)
FUZZTIME     ?= 30s
POLICY       ?= examples/hospital/policy
# Debian packages the tests and the demo need. Grows as Ward talks to real
# sshd, nft, Open vSwitch, PostgreSQL and Chromium.
DEB_PACKAGES := ca-certificates git postgresql
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.DEFAULT_GOAL := help
.PHONY: help deps build test lint bench demo fuzz clean

help: ## Show the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-7s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

deps: ## Install the Debian packages the tests and demo need (only missing ones)
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all Debian packages present"; fi

build: ## Build bin/ward
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/ward

test: deps ## Install what the tests need, then run every test
	$(GO) vet ./...
	$(GO) test -count=1 ./...

lint: ## Check formatting (gofmt) and run go vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

bench: ## Run the benchmarks (figures go in BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem ./...

fuzz: ## Fuzz the policy parser for FUZZTIME (default 30s)
	$(GO) test ./policy -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME)

demo: deps build ## Build Ward, validate the example hospital policy, run its guardrail tests
	./$(BIN) version
	./$(BIN) validate -policy $(POLICY)
	./$(BIN) fmt -check examples/
	./$(BIN) test -policy $(POLICY)
	@echo
	@echo "Try: ./$(BIN) validate -policy $(POLICY) -json"
	@echo "     ./$(BIN) test -policy $(POLICY) -v"
	@echo "     edit $(POLICY)/flows.hcl and run ./$(BIN) validate -policy $(POLICY) again"

clean: ## Remove build output
	rm -rf bin
