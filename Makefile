# The one entry point. `make demo` and `make test` set up everything they need themselves.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out

.PHONY: demo test unit lint venv bench clean help
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

unit: venv chromium  ## the Python test suite only
	$(BIN)/pytest -q

test: lint unit  ## everything CI runs

clean:  ## remove generated output (keeps the installed tools)
	rm -rf $(OUT) .aws-sam .pytest_cache .mypy_cache .ruff_cache

-include mk/*.mk
