# TradeFly — the two commands: `make run` and `make test`. Everything else is set up by them.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := .tools/bin/uv
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config/paper.toml
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install run test lint typecheck pytest bench postgres postgres-stop web clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --all-groups --quiet
	@touch $@

install: $(VENV)/.installed  ## create .venv and install the locked dependencies (idempotent)

run: install  ## replay the shipped real trading day on paper (no keys needed)
	$(BIN)/tradefly run --config $(CONFIG)

lint: install
	$(BIN)/ruff check .

typecheck: install
	$(BIN)/mypy .

pytest: install postgres
	source scripts/postgres.sh env && $(BIN)/pytest $(PYTEST_ARGS)

test: install lint typecheck pytest  ## ruff, mypy and the whole test suite (starts PostgreSQL)

bench: install  ## benchmarks: print figures and peer comparisons
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

postgres:  ## install (if needed) and start a local PostgreSQL for the tests
	@bash scripts/postgres.sh start

postgres-stop:
	@bash scripts/postgres.sh stop

clean:
	rm -rf $(VENV) .tools var .mypy_cache .ruff_cache
