# camscan: `make demo` scans a simulated camera network; `make test` runs every test.
# Both set themselves up on a fresh Debian machine (Python >= 3.11); re-running them is quick.

PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Root gets the namespace lab (real ARP, real MACs); anyone else gets the loopback lab.
IS_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes)

.PHONY: setup demo test lint typecheck unit bench clean lab-down snmpd

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PY) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "camscan needs Python 3.11 or newer (found: $(PY)); set PY=/path/to/python3.11"; exit 2; }
	@$(PY) -c 'import ensurepip, venv' 2>/dev/null || { \
		if [ "$(IS_ROOT)" = yes ] && command -v apt-get >/dev/null; then \
			echo "installing python3-venv (Debian splits venv out of python3)"; \
			apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null; \
		else echo "python venv support is missing: run 'sudo apt-get install python3-venv' and retry"; exit 2; fi; }
	@[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)
	@echo "camscan installed in $(VENV) ($$($(BIN)/camscan version))"

# The SNMP tests read a real agent: Debian's snmpd, run by the tests inside their own namespaces (root).
# Only the program is wanted: the system service the package starts is stopped and disabled again.
snmpd:
	@command -v snmpd >/dev/null || [ -x /usr/sbin/snmpd ] || { \
		if [ "$(IS_ROOT)" = yes ] && command -v apt-get >/dev/null; then \
			echo "installing snmpd (the real agent of the SNMP tests)"; \
			export DEBIAN_FRONTEND=noninteractive; \
			{ apt-get install -y -qq snmpd >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq snmpd >/dev/null; }; } && \
			{ systemctl disable --now snmpd >/dev/null 2>&1 || true; }; \
		else echo "snmpd is not installed: the SNMP lab tests are skipped (they need root anyway)"; fi; }

demo: setup
	@bash scripts/demo.sh

lint: setup
	$(BIN)/ruff check camscan tests bench scripts

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -q -m "not netns"

test: setup snmpd
	$(BIN)/ruff check camscan tests bench scripts
	$(BIN)/mypy
	$(BIN)/pytest -q

bench: setup
	@command -v nmap >/dev/null || { [ "$(IS_ROOT)" = yes ] && command -v apt-get >/dev/null && \
		{ echo "installing nmap for the side-by-side comparison"; apt-get install -y -qq nmap >/dev/null; } || \
		echo "nmap not installed: camscan is benchmarked alone"; }
	$(BIN)/python bench/scan_lab.py

lab-down: setup
	-$(BIN)/camscan lab down

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
