# Ward's build. `make help` lists the targets. `make test` and `make demo`
# install the Debian packages they need first (only those that are missing).

SHELL        := /bin/bash
.SHELLFLAGS  := -o pipefail -c
GO           ?= go
BIN          := bin/ward
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS      := -X main.version=$(VERSION)
FUZZTIME     ?= 30s
POLICY       ?= examples/hospital/policy
DEMO_DB      ?= sqlite://./ward-demo.db
# The demo database outlives the lab (its state in /run), so its audit key
# lives beside it rather than in the lab's credential directory.
DEMO_AUDIT_KEY ?= $(CURDIR)/ward-demo.audit.key
LAB_STATE    ?= /run/ward-lab
# Debian packages the tests and the demo need (PostgreSQL: the store tests
# run on it as well as SQLite). Grows as Ward talks to real sshd, nft, Open
# vSwitch and Chromium.
DEB_PACKAGES := ca-certificates git postgresql openvswitch-switch openssh-server openssh-client nftables iproute2 ethtool sudo iputils-ping chromium
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
	@# The openvswitch driver tests change their own bridge, but the lab's
	@# switch target manages every bridge of the host's Open vSwitch: run them
	@# after the rest, not beside the lab tests.
	$(GO) test -count=1 $$($(GO) list ./... | grep -v '/drivers/openvswitch$$')
	$(GO) test -count=1 ./drivers/openvswitch

lint: ## Check formatting (gofmt) and run go vet
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

bench: ## Run the benchmarks (figures go in BENCHMARKS.md)
	$(GO) test -run '^$$' -bench . -benchmem ./...

FUZZ_TARGETS := ./policy:FuzzParse ./internal/inventory:FuzzImportCSV ./internal/inventory:FuzzParseJSON ./internal/quarantine/alert:FuzzAlert ./api:FuzzAPIJSON ./internal/plan:FuzzOpenSignedPlan ./drivers/nftables:FuzzCheckConfig ./drivers/ciscoiosxe:FuzzParse ./drivers/aristaeos:FuzzParse ./drivers/juniperjunos:FuzzParse

fuzz: ## Fuzz every parser, FUZZTIME each (default 30s)
	@set -e; for t in $(FUZZ_TARGETS); do \
	  echo "fuzz $${t#*:} ($${t%%:*}) for $(FUZZTIME)"; \
	  $(GO) test $${t%%:*} -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME); \
	done

demo: deps build ## Build Ward, bring up the lab hospital, import the inventory, render and apply the policy to every target, serve the API on 127.0.0.1:8080
	./$(BIN) version
	./$(BIN) validate -policy $(POLICY)
	./$(BIN) test -policy $(POLICY)
	$(SUDO) bash examples/lab/lab.sh up
	WARD_AUDIT_KEY=$(DEMO_AUDIT_KEY) ./$(BIN) inventory import examples/hospital/inventory.csv -db $(DEMO_DB)
	WARD_AUDIT_KEY=$(DEMO_AUDIT_KEY) ./$(BIN) render -policy $(POLICY) -db $(DEMO_DB) -o $(LAB_STATE)/render
	@echo "Every target's configuration, in its own syntax, is in $(LAB_STATE)/render/TARGET.cfg."
	@# Every target: the lab's nftables firewall and Open vSwitch switch, and
	@# the Cisco IOS-XE, Arista EOS and Juniper Junos fakes (netfakes), read
	@# first (-refresh: a restarted netfakes is a factory reset). A failed
	@# target stops the demo with ward's own words, never hidden.
	@echo "==> ward apply to every target of $(POLICY) (full output: $(LAB_STATE)/demo-apply.log)"
	@rc=0; WARD_AUDIT_KEY=$(DEMO_AUDIT_KEY) WARD_CREDENTIALS_DIR=$(LAB_STATE)/credentials ./$(BIN) apply -policy $(POLICY) -db $(DEMO_DB) \
	  -refresh -auto-approve > $(LAB_STATE)/demo-apply.log 2>&1 || rc=$$?; \
	sed -n '/^Apply results:/,$$p' $(LAB_STATE)/demo-apply.log | grep . || tail -n 1 $(LAB_STATE)/demo-apply.log; \
	grep '^Target .*could not read its running configuration' $(LAB_STATE)/demo-apply.log || true; \
	if [ $$rc -ne 0 ]; then \
	  echo; echo "demo: ward apply FAILED (exit $$rc); the last lines of $(LAB_STATE)/demo-apply.log:"; \
	  tail -n 25 $(LAB_STATE)/demo-apply.log; \
	  echo "demo: stopped. The lab stays up (bash examples/lab/lab.sh status; the fakes log to $(LAB_STATE)/logs/netfakes.log)."; \
	  exit 1; \
	fi
	@echo "==> ward drift: every target must run what Ward applied"
	@rc=0; WARD_AUDIT_KEY=$(DEMO_AUDIT_KEY) WARD_CREDENTIALS_DIR=$(LAB_STATE)/credentials ./$(BIN) drift -policy $(POLICY) -db $(DEMO_DB) || rc=$$?; \
	if [ $$rc -ne 0 ]; then \
	  echo "demo: ward drift FAILED (exit $$rc): a target above is not in sync or could not be read."; \
	  echo "demo: stopped. The lab stays up (bash examples/lab/lab.sh status; the fakes log to $(LAB_STATE)/logs/netfakes.log)."; \
	  exit 1; \
	fi
	@echo
	@echo "The example hospital runs in network namespaces; Ward enforces its policy there, and on"
	@echo "fake Cisco, Arista and Juniper switches ($(LAB_STATE)/netfakes/TARGET.cfg is each one's running configuration)."
	@echo "Try (as root):"
	@echo "  export WARD_CREDENTIALS_DIR=$(LAB_STATE)/credentials WARD_DB=$(DEMO_DB) WARD_AUDIT_KEY=$(DEMO_AUDIT_KEY)"
	@echo "  ./$(BIN) query reach pump-netlab-01 pumpsrv-netlab-01 51444/tcp -policy $(POLICY)"
	@echo "  examples/lab/probe.sh pump-netlab-01 pumpsrv-netlab-01 51444     # allowed: connects"
	@echo "  examples/lab/probe.sh tv-netlab-01 pump-netlab-01 443            # guest -> pump: denied"
	@echo "  bash examples/lab/lab.sh matrix                                  # every pair"
	@echo "  ./$(BIN) plan -policy $(POLICY)"
	@echo "  ./$(BIN) drift -policy $(POLICY)                                  # every target: in_sync"
	@echo "  ./$(BIN) quarantine tv-5w-01 -level isolate -reason demo -policy $(POLICY)   # a patient TV on a Cisco port"
	@echo "  grep -A4 'GigabitEthernet6/0/25\$$' $(LAB_STATE)/netfakes/access-3w.cfg   # now in the quarantine VLAN"
	@echo "  ./$(BIN) release tv-5w-01 -policy $(POLICY)"
	@echo "  bash examples/lab/lab.sh down                                    # tear it down"
	@echo
	@test -s $(LAB_STATE)/alert-token || (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > $(LAB_STATE)/alert-token)
	@(umask 077; WARD_AUDIT_KEY=$(DEMO_AUDIT_KEY) ./$(BIN) token create -role admin -name demo-admin-$$(date +%s) -expires 7d -db $(DEMO_DB) -json \
	  | sed -n 's/.*"token": "\(ward_[^"]*\)".*/\1/p' > $(LAB_STATE)/admin-token)
	@echo "Ward now serves its API on http://127.0.0.1:8080 (Ctrl-C stops it; the lab stays up)."
	@echo "The compliance UI is at http://127.0.0.1:8080/ui/ : sign in with this demo admin token (valid 7 days, also in $(LAB_STATE)/admin-token):"
	@echo "  $$(cat $(LAB_STATE)/admin-token)"
	@echo "  A reviewer's read-only, audited token: ./$(BIN) token create -role auditor -db $(DEMO_DB)"
	@echo "An admin token is in $(LAB_STATE)/admin-token (ward token create makes more). In another shell:"
	@echo "  T=\$$(cat $(LAB_STATE)/admin-token)"
	@echo "  curl -sS -H \"Authorization: Bearer \$$T\" http://127.0.0.1:8080/api/v1/whoami"
	@echo "  curl -sS -H \"Authorization: Bearer \$$T\" 'http://127.0.0.1:8080/api/v1/devices?zone=infusion_pumps&limit=5'"
	@echo "  curl -sS -H \"Authorization: Bearer \$$T\" http://127.0.0.1:8080/api/v1/devices/tv-netlab-01/effective"
	@echo "Quarantine the patient TV with a Suricata EVE alert:"
	@echo "  curl -sS http://127.0.0.1:8080/api/v1/alerts -H \"Authorization: Bearer \$$T\" --data \\"
	@echo "    '{\"event_type\":\"alert\",\"timestamp\":\"2026-11-22T10:01:02.123456+0000\",\"flow_id\":1,\"src_ip\":\"10.61.190.241\",\"dest_ip\":\"203.0.113.9\",\"alert\":{\"signature_id\":2024897,\"signature\":\"ET TROJAN demo\",\"severity\":1}}'"
	@echo "  curl -sS -H \"Authorization: Bearer \$$T\" http://127.0.0.1:8080/api/v1/quarantines"
	@echo "  curl -sS -H \"Authorization: Bearer \$$T\" -X POST http://127.0.0.1:8080/api/v1/quarantines/1/release"
	@echo "  curl -sS -H \"Authorization: Bearer \$$T\" http://127.0.0.1:8080/metrics | grep ^ward_"
	WARD_ALERT_TOKEN=$$(cat $(LAB_STATE)/alert-token) WARD_CREDENTIALS_DIR=$(LAB_STATE)/credentials WARD_AUDIT_KEY=$(DEMO_AUDIT_KEY) \
	  ./$(BIN) serve -listen 127.0.0.1:8080 -policy $(POLICY) -db $(DEMO_DB)

clean: ## Remove build output and the demo database
	rm -rf bin ward-demo.db ward-demo.db-shm ward-demo.db-wal ward-demo.db.lock
