# Two commands do everything: `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# Debian packages: WeasyPrint's Pango/HarfBuzz and fonts, poppler (pdfsig, pdftotext), NSS tools (certutil: pdfsig's
# trust store), Chromium for browser tests.
RUNTIME_DEBS := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core
TEST_DEBS := $(RUNTIME_DEBS) chromium poppler-utils libnss3-tools

.PHONY: demo test validation-report lint unit system-packages test-system-packages venv assets clean

demo: system-packages venv assets
	$(BIN)/ebr demo

test: test-system-packages venv assets lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)
	$(BIN)/python -m tests.requirements_coverage

# The requirement → test trace matrix (VAL-01) from the last full test run, as HTML and PDF.
validation-report: venv
	$(BIN)/ebr validation-report docs/REQUIREMENTS.md --results test-results/requirements.json \
		--evidence docs/validation/evidence.toml --out test-results/validation

lint: venv
	$(BIN)/ruff check ebr tests bench
	$(BIN)/ruff format --check ebr tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

system-packages:
	@missing=$$(for p in $(RUNTIME_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing python3-venv; fi

test-system-packages:
	@missing=$$(for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; fi

venv: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	[ -x $(BIN)/python ] || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

# Browser assets from the npm registry, served by the app itself (plants run offline: no CDN).
VENDOR := ebr/web/static/vendor
assets: $(VENDOR)/.installed

$(VENDOR)/.installed: package.json package-lock.json
	command -v npm >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm)
	npm ci --no-audit --no-fund --loglevel=error
	mkdir -p $(VENDOR)
	cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js $(VENDOR)/bpmn-viewer.js
	cp node_modules/bpmn-js/dist/assets/diagram-js.css node_modules/bpmn-js/dist/assets/bpmn-js.css $(VENDOR)/
	touch $@

clean:
	rm -rf $(VENV) instance .mypy_cache .ruff_cache node_modules $(VENDOR)
