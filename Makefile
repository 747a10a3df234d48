# Rapid Review: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
SYSTEM_PACKAGES := libreoffice-writer-nogui fonts-crosextra-carlito fonts-crosextra-caladea fonts-liberation2 chromium

.DEFAULT_GOAL := help
.PHONY: help setup system-deps run demo test test-sqlite test-postgres lint bench bench-quick clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

$(BIN)/rapidreview: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

setup: $(BIN)/rapidreview node_modules/.installed system-deps ## create .venv and node_modules; install LibreOffice and Chromium when root

system-deps: ## install LibreOffice, Office-metric fonts and Chromium from Debian when missing (needs root)
	@if command -v soffice >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing LibreOffice (PDF reports) and Chromium (browser tests) from Debian..."; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	else \
		echo "Missing soffice or chromium: install $(SYSTEM_PACKAGES) (PDF reports and browser tests need them)."; \
	fi

# GOV.UK Frontend, bpmn-js and axe-core come from npm at set-up, never from a CDN.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	@touch $@

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

clean: ## remove the virtualenv, caches and simulation output
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache out var
