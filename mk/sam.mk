# The SAM application: tools, validation, build and size budget.
# The SAM CLI and checkov each get their own virtualenv (their pins clash with the app's
# and with each other); asl-validator comes from npm. All of it lives in gitignored dirs.

SAM_VERSION := 1.170.0
CHECKOV_VERSION := 3.3.30
ASL_VALIDATOR_VERSION := 4.0.0

TOOLS := .tools
SAM_VENV := $(TOOLS)/sam
CHECKOV_VENV := $(TOOLS)/checkov
NPM_TOOLS := .cache/npm-tools
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_VERSION)
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
ASL_STAMP := $(NPM_TOOLS)/.installed-$(ASL_VALIDATOR_VERSION)
# The SAM CLI runs on the machine's Python; the functions target python3.12 through
# BuildMethod makefile (pip --platform/--python-version), so no local 3.12 is needed.
TOOLS_PY ?= $(PY)

SAM := $(SAM_VENV)/bin/sam
ASL_VALIDATOR := $(NPM_TOOLS)/node_modules/.bin/asl-validator
VALIDATE_DIR := .aws-sam/validate
CFN_TEMPLATE := $(VALIDATE_DIR)/template.cfn.json
BUILD_DIR := .aws-sam/build

# No AWS account here: tools that insist on a region/credentials get harmless dummies,
# and nothing phones home (telemetry, update checks).
SAM_ENV := AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 \
	AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_SESSION_TOKEN=testing \
	AWS_EC2_METADATA_DISABLED=true SAM_CLI_TELEMETRY=0 SAM_CLI_DISABLE_VERSION_CHECK=1 \
	BC_SKIP_MAPPING=TRUE CHECKOV_RUN_SCA_PACKAGE_SCAN_V2=false

.PHONY: sam-tools validate sam-build sam-size

sam-tools: $(SAM_STAMP) $(CHECKOV_STAMP) $(ASL_STAMP)  ## SAM CLI, checkov, asl-validator (own venvs)

$(SAM_STAMP):
	test -x $(SAM_VENV)/bin/python || $(TOOLS_PY) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check aws-sam-cli==$(SAM_VERSION)
	rm -f $(SAM_VENV)/.installed-* && touch $@

$(CHECKOV_STAMP):
	test -x $(CHECKOV_VENV)/bin/python || $(TOOLS_PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	rm -f $(CHECKOV_VENV)/.installed-* && touch $@

$(ASL_STAMP):
	mkdir -p $(NPM_TOOLS)
	npm install --silent --no-audit --no-fund --prefix $(NPM_TOOLS) asl-validator@$(ASL_VALIDATOR_VERSION)
	rm -f $(NPM_TOOLS)/.installed-* && touch $@

# A CPython 3.12 lets the layers ship bytecode for the runtime; pyenv keeps it off PATH.
PY312 ?= $(shell python3.12 -c 'import sys; print(sys.executable)' 2>/dev/null || \
	{ d=$$(pyenv prefix 3.12 2>/dev/null | head -1) && test -x "$$d/bin/python3.12" && echo "$$d/bin/python3.12"; })
export PY312

validate: sam-tools  ## sam validate --lint, asl-validator, cfn-lint + checkov on the transformed template
	$(SAM_ENV) $(SAM) validate --lint --template-file template.yaml
	for f in statemachine/*.asl.json; do $(ASL_VALIDATOR) --json-path "$$f" || exit 1; done
	$(SAM_ENV) $(SAM_VENV)/bin/python mk/sam_transform.py template.yaml $(CFN_TEMPLATE)
	$(SAM_ENV) $(SAM_VENV)/bin/cfn-lint $(CFN_TEMPLATE)
	$(SAM_ENV) $(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download \
		--framework cloudformation -f $(CFN_TEMPLATE)

# Offline apart from the package registries the layer Makefiles use (PyPI, npm): the
# AWS SDK for pandas layer is referenced by ARN, so nothing is fetched from AWS.
# No `sam build --cached`: SAM's cache hashes only each CodeUri/ContentUri folder, while the
# layers' pins live in requirements-dev.txt (and the venv it built), so a pin bump would
# ship a stale layer. make decides instead, from every input of the build.
SAM_BUILD_STAMP := $(BUILD_DIR)/.built
SAM_BUILD_INPUTS := template.yaml requirements-dev.txt $(STAMP) \
	$(shell find functions layers -type f -not -path '*/__pycache__/*' 2>/dev/null)
sam-build: $(SAM_BUILD_STAMP)  ## sam build: functions and layers into .aws-sam/build (again when an input changes)
$(SAM_BUILD_STAMP): $(SAM_STAMP) $(SAM_BUILD_INPUTS)
	$(SAM_ENV) $(SAM) build --template-file template.yaml --build-dir $(BUILD_DIR)
	touch $@

sam-size: sam-build  ## fail if a function plus its layers reaches Lambda's 250 MB unzipped
	$(SAM_ENV) $(SAM_VENV)/bin/python mk/sam_size.py $(BUILD_DIR)

test: validate sam-size
