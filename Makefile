# Rapid Review: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
# Calc reads back the .ods exports in the tests (Debian splits LibreOffice; the reports need Writer only).
CALC_LIBRARY := /usr/lib/libreoffice/program/libsclo.so
SYSTEM_PACKAGES := libreoffice-writer-nogui libreoffice-calc-nogui fonts-crosextra-carlito fonts-crosextra-caladea fonts-liberation2 chromium
# The warm PDF converter (docs/documents.md): unoserver needs LibreOffice's Python bridge, which Debian builds
# for its own Python only, so it gets its own virtualenv from that Python, not the app's .venv.
UNO_PACKAGES := python3-uno python3-venv
SYSTEM_PYTHON ?= /usr/bin/python3
UNO_VENV := .unoserver
UNOSERVER_VERSION := 3.7
UNOSERVER_PORT ?= 2003
UNO_PORT ?= 2002
EDITOR_BUNDLE := editor/dist/editor.js

.DEFAULT_GOAL := help
.PHONY: template-tags wheel help setup system-deps warm-converter unoserver run demo test test-sqlite test-postgres lint bench bench-quick clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/rapidreview: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

setup: $(BIN)/rapidreview node_modules/.installed $(EDITOR_BUNDLE) system-deps warm-converter ## create .venv and node_modules; install LibreOffice, Chromium and the warm PDF converter when root

# UNO_OK: Debian's Python can import LibreOffice's bridge and make a virtualenv (ensurepip is in python3-venv).
UNO_OK := $(SYSTEM_PYTHON) -c 'import uno, ensurepip' >/dev/null 2>&1

system-deps: ## install LibreOffice, Office-metric fonts, Chromium and python3-uno from Debian when missing (needs root)
	@if command -v soffice >/dev/null 2>&1 && [ -e $(CALC_LIBRARY) ] && command -v chromium >/dev/null 2>&1 && $(UNO_OK); then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing LibreOffice (PDF reports), its Python bridge (warm PDF converter) and Chromium (browser tests) from Debian..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) $(UNO_PACKAGES) >/dev/null; \
	else \
		if ! command -v soffice >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then \
			echo "Missing soffice or chromium: install $(SYSTEM_PACKAGES) (PDF reports and browser tests need them)."; \
		fi; \
		if ! $(UNO_OK); then \
			echo "Warm PDF converter unavailable (PDFs are converted cold): as root, apt-get install $(UNO_PACKAGES), then make setup."; \
		fi; \
	fi

# The stamp carries the version, so changing UNOSERVER_VERSION rebuilds the virtualenv; without python3-uno
# this does nothing (system-deps said why) and conversions stay cold.
warm-converter: system-deps ## create .unoserver/ with unoserver (the warm PDF converter) when python3-uno is installed
	@if [ -f $(UNO_VENV)/.installed-$(UNOSERVER_VERSION) ] && $(UNO_VENV)/bin/python -c 'import uno, unoserver' >/dev/null 2>&1; then exit 0; fi; \
	if ! $(UNO_OK); then exit 0; fi; \
	echo "Installing unoserver $(UNOSERVER_VERSION) into $(UNO_VENV)/ (the warm PDF converter)..."; \
	rm -rf $(UNO_VENV) && $(SYSTEM_PYTHON) -m venv --system-site-packages $(UNO_VENV) && \
	$(UNO_VENV)/bin/pip install --quiet --disable-pip-version-check unoserver==$(UNOSERVER_VERSION) && \
	$(UNO_VENV)/bin/python -c 'import uno, unoserver' && touch $(UNO_VENV)/.installed-$(UNOSERVER_VERSION)

# Loopback only: its XML-RPC has no authentication and can read and write files as this user. Its own
# LibreOffice profile under the data directory, so it never shares one with a cold conversion.
unoserver: warm-converter ## run the warm PDF converter on 127.0.0.1:2003 (UNOSERVER_PORT); for the app: RAPIDREVIEW_UNOSERVER=127.0.0.1:2003
	@test -x $(UNO_VENV)/bin/unoserver || { echo "No $(UNO_VENV)/bin/unoserver: install $(UNO_PACKAGES) (as root), then make setup."; exit 1; }
	@data="$${RAPIDREVIEW_DATA_DIR:-var}"; mkdir -p "$$data/unoserver-profile" && profile="$$(cd "$$data" && pwd)/unoserver-profile"; \
	echo "Warm PDF converter on 127.0.0.1:$(UNOSERVER_PORT) (profile $$profile); in another shell: export RAPIDREVIEW_UNOSERVER=127.0.0.1:$(UNOSERVER_PORT)"; \
	exec $(UNO_VENV)/bin/unoserver --interface 127.0.0.1 --port $(UNOSERVER_PORT) --uno-interface 127.0.0.1 --uno-port $(UNO_PORT) \
		--user-installation "$$profile" --conversion-timeout 60

# GOV.UK Frontend, bpmn-js and axe-core come from npm at set-up, never from a CDN.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

# The process editor (bpmn-js, its properties panel, bpmnlint, token simulation), bundled from node_modules by esbuild.
$(EDITOR_BUNDLE): node_modules/.installed editor/build.mjs $(wildcard editor/src/*.* editor/src/*/*.*)
	node editor/build.mjs

wheel: $(BIN)/rapidreview node_modules/.installed $(EDITOR_BUNDLE) ## build dist/rapidreview-VERSION-py3-none-any.whl for installing on a server (docs/operations.md)
	rm -rf build
	$(BIN)/pip wheel --no-deps --quiet --wheel-dir dist .
	@ls dist/rapidreview-*.whl

run: setup ## set up and start the web app on http://127.0.0.1:5000 (SQLite, scheduler in-process, mail as .eml files)
	$(BIN)/rapidreview run

demo: setup ## run the demo scenario on a virtual clock and print its timeline
	$(BIN)/rapidreview simulate scenarios/demo.json

test: setup ## set up and run the tests on SQLite (and on PostgreSQL when TEST_DATABASE_URL is set)
	$(BIN)/pytest -q

test-sqlite: setup ## the tests on SQLite only
	TEST_DATABASE_URL= $(BIN)/pytest -q

test-postgres: setup ## the tests on PostgreSQL ($(PG_TEST_URL))
	TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest -q

lint: setup ## ruff, mypy and bpmnlint
	$(BIN)/ruff check .
	$(BIN)/mypy
	npx --no-install bpmnlint bpmn/*.bpmn

bench: setup ## the performance harness, about 10 minutes, on PostgreSQL (BENCH_DATABASE_URL, default the test database): docs/performance.md
	BENCH_DATABASE_URL=$${BENCH_DATABASE_URL:-$(PG_TEST_URL)} $(BIN)/python -m bench

bench-quick: setup ## the harness at reduced sizes, about a minute; writes the same keys to bench/results.json
	BENCH_DATABASE_URL=$${BENCH_DATABASE_URL:-$(PG_TEST_URL)} $(BIN)/python -m bench --quick

clean: ## remove the virtualenvs, caches and simulation output
	rm -rf $(VENV) $(UNO_VENV) node_modules .pytest_cache .mypy_cache .ruff_cache out var

template-tags: ## print the names each Word template may use, for docs/process-owners.md
	@$(BIN)/python -c 'from rapidreview.documents.template_check import tags_markdown; print(tags_markdown(), end="")'
