# make lambda-sandbox: the built functions (sam build) run in a Lambda-like sandbox
# (tests/integration/lambda_sandbox.py): every function with its events/*.json, then the
# whole state machine once (moto's Step Functions, moto's server for AWS, the local Slack
# server). Needs root (unshare -m) and a CPython 3.12 (pyenv); otherwise the tests say why
# they are skipped.
#
# What AWS provides is stood in for by folders cached in .cache/lambda-sandbox/:
#   aws-sdk-pandas-<v>/  the managed AWSSDKPandas layer, built as aws-sdk-pandas documents a
#                        custom layer (pip install awswrangler==<v> into python/, py3.12 wheels)
#   runtime-boto3/       the boto3 the python3.12 runtime ships (/var/runtime)
#   duckdb/              the local engine, as one more layer: moto runs no Athena SQL, so the
#                        query function runs on DuckDB over sample days in the sandbox
#   typing-extensions-4.12/  the managed layer's older typing_extensions, compiled, to show
#                        the old layer order breaking pydantic (test_lambda_sandbox.py)

SANDBOX_CACHE := .cache/lambda-sandbox
req_version = $(shell grep -iE '^$(1)(\[[^]]*\])?==' requirements-dev.txt | head -1 | sed -E 's/.*==//')
AWSWRANGLER_VERSION := $(call req_version,awswrangler)
PANDAS_LAYER := $(SANDBOX_CACHE)/aws-sdk-pandas-$(AWSWRANGLER_VERSION)
RUNTIME_DIR := $(SANDBOX_CACHE)/runtime-boto3-$(call req_version,boto3)
DUCKDB_LAYER := $(SANDBOX_CACHE)/duckdb-$(call req_version,duckdb)
OLD_TE_LAYER := $(SANDBOX_CACHE)/typing-extensions-4.12
# Linux x86_64 / CPython 3.12 wheels, as aws-sdk-pandas' custom-layer recipe installs them.
# Each folder's name carries its pin, so a pin bump builds a new one.
SANDBOX_PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile \
	--platform manylinux2014_x86_64 --implementation cp --python-version 3.12 --only-binary=:all:

.PHONY: lambda-sandbox sandbox-layers

sandbox-layers: $(PANDAS_LAYER)/.built $(RUNTIME_DIR)/.built $(DUCKDB_LAYER)/.built $(OLD_TE_LAYER)/.built

$(PANDAS_LAYER)/.built: | $(STAMP)
	rm -rf $(@D) && mkdir -p $(@D)
	$(SANDBOX_PIP) --target $(@D)/python awswrangler==$(AWSWRANGLER_VERSION)
	touch $@

$(RUNTIME_DIR)/.built: | $(STAMP)
	rm -rf $(@D) && mkdir -p $(@D)
	$(SANDBOX_PIP) --target $(@D) boto3==$(call req_version,boto3)
	touch $@

$(DUCKDB_LAYER)/.built: | $(STAMP)
	rm -rf $(@D) && mkdir -p $(@D)
	$(SANDBOX_PIP) --platform manylinux_2_28_x86_64 --no-deps --target $(@D)/python duckdb==$(call req_version,duckdb)
	touch $@

$(OLD_TE_LAYER)/.built: | $(STAMP)
	rm -rf $(@D) && mkdir -p $(@D)
	$(SANDBOX_PIP) --no-deps --target $(@D)/python typing_extensions==4.12.2
	if [ -n "$(PY312)" ]; then "$(PY312)" -m compileall -q --invalidation-mode unchecked-hash $(@D)/python; fi
	touch $@

lambda-sandbox: venv chromium sam-build sandbox-layers  ## the built functions and the state machine in a Lambda-like sandbox
	FLOWDIGEST_SANDBOX_BUILD=$(BUILD_DIR) FLOWDIGEST_SANDBOX_CACHE=$(SANDBOX_CACHE) \
	FLOWDIGEST_SANDBOX_PANDAS=$(PANDAS_LAYER) FLOWDIGEST_SANDBOX_RUNTIME=$(RUNTIME_DIR) \
	FLOWDIGEST_SANDBOX_DUCKDB=$(DUCKDB_LAYER) FLOWDIGEST_SANDBOX_OLD_TE=$(OLD_TE_LAYER) \
		$(BIN)/pytest -q -p no:cacheprovider tests/integration/test_lambda_sandbox.py \
			tests/integration/test_layer_prune.py
# The Query function's unzipped total with the stand-in pandas layer (PyPI's wheels are
# bigger than the managed layer's own build: README, Deploy, states both figures).
# File sizes only, as Lambda counts them (bench/lambda_size.py does the same).
	@mib() { find "$$1" -type f -printf '%s\n' | awk '{s += $$1} END {printf "%.1f", s / 1048576}'; }; \
	echo "QueryFunction with the stand-in layers: code $$(mib $(BUILD_DIR)/QueryFunction) +" \
		"FlowdigestLayer $$(mib $(BUILD_DIR)/FlowdigestLayer) + AWS SDK for pandas (PyPI build) $$(mib $(PANDAS_LAYER)) MiB"

test: lambda-sandbox
