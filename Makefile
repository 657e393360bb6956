# camscan: `make demo` scans a simulated camera network; `make test` runs every test.
# Both set themselves up on a fresh Debian machine (Python >= 3.11); re-running them is quick.

PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Root gets the namespace lab (real ARP, real MACs); anyone else gets the loopback lab.
IS_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes)

.PHONY: setup lab-tools test-servers snmpd demo test lint typecheck unit bench bench-tools bench-routed fuzz clean lab-down

# The Python side; `make test` adds the Debian tools and servers the tests talk to (a demo needs none of them).
setup: $(STAMP)

# The tests' Debian tools (root only: the loopback lab needs none): nftables is the simulated devices' host
# firewall, snmpd the routed lab's router agent (and the SNMP tests' agent), snmp (snmpwalk) what the tests ask it
# with, dnsmasq (dnsmasq-base: the program, no service) the resolver the reverse-DNS tests start on loopback.
# Only the programs are wanted: the system service the snmpd package starts is stopped and disabled.
LAB_PACKAGES := nftables snmpd snmp dnsmasq-base
lab-tools:
	@if [ "$(IS_ROOT)" = yes ] && command -v apt-get >/dev/null && \
		! { command -v nft && command -v snmpd && command -v snmpwalk && \
			{ command -v dnsmasq || [ -x /usr/sbin/dnsmasq ]; }; } >/dev/null; then \
		echo "installing the tests' tools ($(LAB_PACKAGES))"; \
		export DEBIAN_FRONTEND=noninteractive; \
		{ apt-get install -y -qq $(LAB_PACKAGES) >/dev/null 2>&1 || \
			{ apt-get update -qq && apt-get install -y -qq $(LAB_PACKAGES) >/dev/null; }; } && \
		{ systemctl disable --now snmpd >/dev/null 2>&1 || true; }; fi

snmpd: lab-tools

# The sweep history's and audit report's tests talk to real servers (root only: others skip those tests): Debian's
# PostgreSQL (the tests start their own throw-away cluster as the postgres user; the system cluster the package
# starts is stopped and disabled) and headless Chromium, which renders the HTML audit report.
test-servers:
	@if [ "$(IS_ROOT)" = yes ] && command -v apt-get >/dev/null && \
		! { ls /usr/lib/postgresql/*/bin/pg_ctl && command -v chromium; } >/dev/null 2>&1; then \
		echo "installing the test servers (postgresql, chromium)"; \
		export DEBIAN_FRONTEND=noninteractive; \
		{ apt-get install -y -qq postgresql chromium >/dev/null 2>&1 || \
			{ apt-get update -qq && apt-get install -y -qq postgresql chromium >/dev/null; }; } && \
		{ systemctl disable --now postgresql >/dev/null 2>&1 || true; }; fi

$(STAMP): pyproject.toml lab/pyproject.toml
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "camscan needs Python 3.11 or newer (found: $(PY)); set PY=/path/to/python3.11"; exit 2; }
	@$(PY) -c 'import ensurepip, venv' 2>/dev/null || { \
		if [ "$(IS_ROOT)" = yes ] && command -v apt-get >/dev/null; then \
			echo "installing python3-venv (Debian splits venv out of python3)"; \
			apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; \
		else echo "python venv support is missing: run 'sudo apt-get install python3-venv' and retry"; exit 2; fi; }
	@[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]' -e ./lab
	@touch $(STAMP)
	@echo "camscan and camlab installed in $(VENV) ($$($(BIN)/camscan version))"

demo: setup
	@bash scripts/demo.sh

lint: setup
	$(BIN)/ruff check camscan lab tests bench scripts
	$(BIN)/ruff format --check camscan lab tests bench scripts

typecheck: setup
	$(BIN)/mypy

unit: setup lab-tools test-servers
	$(BIN)/pytest -q -n auto -m "not netns"

test: setup lab-tools test-servers
	$(BIN)/ruff check camscan lab tests bench scripts
	$(BIN)/ruff format --check camscan lab tests bench scripts
	$(BIN)/mypy
	$(BIN)/pytest -q -n auto

# The peers camscan is measured beside (root, Debian): nmap, and masscan for the routed benchmark.
bench-tools:
	@for tool in nmap masscan; do command -v $$tool >/dev/null || { [ "$(IS_ROOT)" = yes ] && \
		command -v apt-get >/dev/null && { echo "installing $$tool for the side-by-side comparison"; \
		apt-get install -y -qq $$tool >/dev/null; } || echo "$$tool not installed: camscan runs without it"; }; done

# A flat /24 of 200 devices, camscan beside nmap.
bench: setup bench-tools
	$(BIN)/python bench/scan_lab.py

# A routed /16 (and a /20) of 200 devices behind a router, beside nmap -sn, nmap -sV and masscan: long (nmap).
bench-routed: setup lab-tools bench-tools
	$(BIN)/python bench/scan_routed.py

# Coverage-guided fuzzing of every parser, decoder and the matcher (atheris); FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 60
fuzz: setup
	@$(BIN)/python -c 'import atheris' 2>/dev/null || $(BIN)/python -m pip install -q --disable-pip-version-check -e '.[fuzz]'
	$(BIN)/python bench/fuzz_parsers.py --all --seconds $(FUZZ_SECONDS)

lab-down: setup
	-$(BIN)/camlab down

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info lab/*.egg-info
