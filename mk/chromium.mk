# The headless Chromium that renders the charts locally: the same @sparticuz/chromium
# build the charts layer ships to Lambda, fetched with npm into .cache/npm and unpacked
# (brotli) into .cache/chromium by flowdigest.charts.browser. Both steps leave a stamp,
# so a second `make chromium` does nothing.
# The version is pinned once, as NPM_VERSION in charts/browser.py (which the Lambda code
# and the charts layer's Makefile read too).

CHROMIUM_PKG := @sparticuz/chromium
CHROMIUM_VERSION_SOURCE := layers/flowdigest/src/flowdigest/charts/browser.py
CHROMIUM_VERSION := $(shell sed -nE 's/^NPM_VERSION = "([^"]+)".*/\1/p' $(CHROMIUM_VERSION_SOURCE))
CHROMIUM_NPM_DIR := .cache/npm
CHROMIUM_DIR := .cache/chromium
CHROMIUM_NPM_STAMP := $(CHROMIUM_NPM_DIR)/.installed-chromium-$(CHROMIUM_VERSION)
CHROMIUM_STAMP := $(CHROMIUM_DIR)/.unpacked

.PHONY: chromium
chromium: $(CHROMIUM_STAMP)  ## the headless Chromium that renders charts (.cache/chromium)

# --ignore-scripts: only the package's files are wanted, none of its code is run.
# --loglevel=error hides the engines warning: the package's JS (which wants a newer
# node) is never used, only its bin/*.br archives.
$(CHROMIUM_NPM_STAMP):
	mkdir -p $(CHROMIUM_NPM_DIR)
	npm install --prefix $(CHROMIUM_NPM_DIR) --no-audit --no-fund --ignore-scripts --save-exact \
		--loglevel=error $(CHROMIUM_PKG)@$(CHROMIUM_VERSION)
	touch $@

# browser.py is a prerequisite because it writes the wrapper script (and knows when an
# older layout must be unpacked again); the touch keeps make from asking again when the
# unpack found nothing to do.
$(CHROMIUM_STAMP): $(CHROMIUM_NPM_STAMP) $(STAMP) layers/flowdigest/src/flowdigest/charts/browser.py
	$(BIN)/python -m flowdigest.charts.browser unpack --dest $(CHROMIUM_DIR) \
		--src $(CHROMIUM_NPM_DIR)/node_modules/$(CHROMIUM_PKG)/bin
	touch $@
