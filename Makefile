# TradeFly — the two commands: `make run` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config/paper.toml
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test lint typecheck pytest bench postgres postgres-stop web chromium java clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-groups --quiet
	@touch $@

install: $(VENV)/.installed web  ## create .venv, the locked dependencies and the web assets (idempotent)

run: install  ## replay the shipped real trading day on paper (no keys needed)
	$(BIN)/tradefly run --config $(CONFIG)

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy .

pytest: install postgres chromium java
	source scripts/postgres.sh env && $(BIN)/pytest $(PYTEST_ARGS)

test: install lint typecheck pytest  ## ruff, mypy and the whole test suite (starts PostgreSQL)

bench: install  ## benchmarks: print figures and peer comparisons
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

WEB_VENDOR := bot/web/static/vendor/lightweight-charts.standalone.production.js

web: $(WEB_VENDOR)  ## dashboard assets: npm ci (lock file) and copy the chart library into static/vendor

$(WEB_VENDOR): bot/web/package.json bot/web/package-lock.json
	cd bot/web && npm ci --no-audit --no-fund --silent
	mkdir -p bot/web/static/vendor
	cp bot/web/node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js $@

chromium:  ## headless browser for the dashboard's end-to-end tests (Debian package)
	@test -x /usr/bin/chromium || { SUDO=$$(sudo -n true 2>/dev/null && echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

java:  ## a Java runtime for the Spark test of the history store (Debian package)
	@command -v java >/dev/null || { SUDO=$$(sudo -n true 2>/dev/null && echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq default-jre-headless; }

postgres:  ## install (if needed) and start a local PostgreSQL for the tests
	@bash scripts/postgres.sh start

postgres-stop:
	@bash scripts/postgres.sh stop

clean:
	rm -rf $(VENV) .tools var .mypy_cache .ruff_cache
