# The one entry point. `make demo` and `make test` set up everything they need themselves.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out

.PHONY: demo test unit pytest-all lint venv bench clean help
.DEFAULT_GOAL := help

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | sort

venv: $(STAMP)  ## the Python virtual environment (.venv)
$(STAMP): requirements-dev.txt layers/flowdigest/pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

demo: venv chromium  ## generate sample days and run the digest on them (writes out/)
	$(BIN)/flowdigest demo --out $(OUT)

lint: venv  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/mypy

# Tiers (tests/README.md): unit, functional, integration. `make unit` is the quick loop:
# every tier but the slow and the Chromium tests, no coverage.
unit: venv  ## the quick loop: every tier but the slow and the Chromium tests, no coverage
	$(BIN)/pytest -q -m "not slow and not chromium"

# The whole pytest suite, gated on branch coverage of the domain package (pyproject's
# [tool.coverage]: the CLI subprocesses the tests start are measured too). Used by `make test`.
COVERAGE_FLOOR ?= 90
pytest-all: venv chromium
	rm -f .coverage .coverage.*
	$(BIN)/pytest -q --cov=flowdigest --cov-branch --cov-report=term:skip-covered \
		--cov-fail-under=$(COVERAGE_FLOOR)

test: lint pytest-all  ## everything CI runs: lint, all tests with the coverage floor, the SAM checks

clean:  ## remove generated output (keeps the installed tools)
	rm -rf $(OUT) .aws-sam .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*

-include mk/*.mk
