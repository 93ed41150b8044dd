# Ward's build. `make help` lists the targets. `make test` and `make demo`
# install the Debian packages they need first (only those that are missing).

SHELL        := /bin/bash
GO           ?= go
BIN          := bin/ward
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS      := -X main.version=$(VERSION)
FUZZTIME     ?= 30s
POLICY       ?= examples/hospital/policy
DEMO_DB      ?= sqlite://./ward-demo.db
# Debian packages the tests and the demo need (PostgreSQL: the store tests
# run on it as well as SQLite). Grows as Ward talks to real sshd, nft, Open
# vSwitch and Chromium.
DEB_PACKAGES := ca-certificates git postgresql openvswitch-switch openssh-server openssh-client nftables iproute2 ethtool sudo iputils-ping
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

FUZZ_TARGETS := ./policy:FuzzParse ./internal/inventory:FuzzImportCSV ./internal/inventory:FuzzParseJSON

fuzz: ## Fuzz every parser, FUZZTIME each (default 30s)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $${t#*:} ($${t%%:*}) for $(FUZZTIME)"; \
	  $(GO) test $${t%%:*} -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME); \
	done

demo: deps build ## Build Ward, check the example policy, import its inventory (./ward-demo.db)
	./$(BIN) version
	./$(BIN) validate -policy $(POLICY)
	./$(BIN) fmt -check examples/
	./$(BIN) test -policy $(POLICY)
	./$(BIN) inventory import examples/hospital/inventory.csv -db $(DEMO_DB)
	./$(BIN) inventory list -zone infusion_pumps -policy $(POLICY) -db $(DEMO_DB) | head -5
	@echo
	@echo "Try: ./$(BIN) validate -policy $(POLICY) -json"
	@echo "     ./$(BIN) test -policy $(POLICY) -v"
	@echo "     ./$(BIN) inventory show pump-3w-01 -db $(DEMO_DB)"
	@echo "     ./$(BIN) audit -db $(DEMO_DB); ./$(BIN) audit verify -db $(DEMO_DB)"
	@echo "     edit $(POLICY)/flows.hcl and run ./$(BIN) validate -policy $(POLICY) again"

clean: ## Remove build output and the demo database
	rm -rf bin ward-demo.db ward-demo.db-shm ward-demo.db-wal ward-demo.db.lock
