# Ordersmith — `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export ORDERSMITH_TEST_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.DEFAULT_GOAL := help
.PHONY: help install dev run test test-fast lint types imports migrations-check pytest screenshots bench clean

help: ## Show this help
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-18s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed ## Create .venv and install Ordersmith

dev: $(VENV)/.dev-installed ## Install Ordersmith with the test and lint tools

run: install ## Install, migrate, load demo data on first run, and serve (on ORDERSMITH_BIND_HOST:ORDERSMITH_BIND_PORT, default 127.0.0.1:8000)
	$(BIN)/ordersmith db upgrade
	$(BIN)/ordersmith demo load
	@url=$$($(BIN)/ordersmith url) || exit 1; \
	echo ""; \
	echo "  Console:  $$url        API docs: $${url}api/docs        Health: $${url}api/v1/health"; \
	echo "  Admin login: admin@demo.ordersmith.dev / ordersmith-admin"; \
	echo "  (other demo users and channel API keys: var/demo-credentials.txt)"; \
	echo ""
	$(BIN)/ordersmith serve

chromium: ## Install Debian's Chromium for the browser tests when it is missing
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing chromium for browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

lint: dev ## ruff lint and format check
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

types: dev ## mypy --strict on src/
	$(BIN)/mypy

imports: dev ## import-linter contracts (DESIGN.md's dependency order)
	$(BIN)/lint-imports

migrations-check: dev ## alembic check: migrations build exactly the tables in code (SQLite and PostgreSQL)
	@rm -f var/alembic-check.db
	ORDERSMITH_DATABASE_URL=sqlite:///var/alembic-check.db $(BIN)/ordersmith db upgrade
	ORDERSMITH_DATABASE_URL=sqlite:///var/alembic-check.db $(BIN)/alembic check
	@rm -f var/alembic-check.db
	@# A database of its own (named with this run's pid), dropped afterwards even when the check fails.
	@url=$$($(BIN)/python -m tests.support.pg_reset create alembic_check) || exit 1; \
	trap '$(BIN)/python -m tests.support.pg_reset drop "'"$$url"'"' EXIT; \
	ORDERSMITH_DATABASE_URL=$$url $(BIN)/ordersmith db upgrade && \
	ORDERSMITH_DATABASE_URL=$$url $(BIN)/alembic check

# Test processes: three on this 2-core machine. The suite waits a lot (servers, browsers, PostgreSQL): on
# 2026-12-07 (second session, after ADR 0066) two processes took 18:26 with the cores 59 % busy, three 15:52,
# four more than 16 (contention); every run passed whole.
PYTEST_WORKERS ?= 3

# Bytecode compiled once before a run: with PYTHONDONTWRITEBYTECODE set (as on this machine) every process the
# tests start (xdist workers, fork servers, servers, CLIs) would otherwise compile Ordersmith's sources anew.
pytest: dev chromium ## The pytest suite (unit, integration, API, races, browser), on PYTEST_WORKERS processes (3)
	@$(BIN)/python -m compileall -q -j 0 src tests bench
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal --durations=30

screenshots: dev chromium ## Refresh docs/screenshots/ from the browser tests (on SQLite)
	ORDERSMITH_SCREENSHOTS=1 $(BIN)/pytest -n $(PYTEST_WORKERS) -q tests/browser -k "not postgresql"

test: lint types imports migrations-check pytest ## Everything CI runs

test-fast: dev ## The quick loop: ruff, mypy, import rules, then unit, integration and API tests on SQLite only
	@$(BIN)/python -m compileall -q -j 0 src tests bench
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/pytest -n 2 -q tests/unit tests/integration tests/api -k "not postgresql" -m "not slow and not browser"

bench: install ## Run the benchmarks on SQLite and PostgreSQL
	$(BIN)/python -m bench.platform_overhead --db sqlite
	$(BIN)/python -m bench.platform_overhead --db postgres

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
