# The two commands: `make run` (try it: demo PCN, web, worker, beat) and `make test` (what CI runs).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.8
PORT ?= 8000

# Tests run against the real PostgreSQL and Redis on this machine.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/pcn
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
TEST_ENV := DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) HTTPS=0 DEBUG=0 DEMO_MODE=0

.PHONY: help run test lint migrate demo bench vendor lock clean

help:
	@echo "make run    start the demo: web on http://127.0.0.1:$(PORT)/, Celery worker and beat"
	@echo "make test   lint, migration check and the whole test suite on PostgreSQL and Redis"
	@echo "make lint   ruff check, format check, the floors contract (lint-imports) and mypy only"
	@echo "make bench  the benchmarks in bench/ (PostgreSQL)"

$(PY):
	@python=$$(scripts/find-python.sh) && echo "Creating $(VENV) with $$python" && $$python -m venv $(VENV)

$(UV): | $(PY)
	@$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# `run` installs the runtime pins (adding to, never removing, what `test` installed).
$(VENV)/.runtime: requirements.lock | $(UV)
	$(UV) pip install --quiet --python $(PY) --require-hashes -r requirements.lock
	@touch $@

$(VENV)/.dev: requirements-dev.lock | $(UV)
	$(UV) pip sync --quiet --python $(PY) requirements-dev.lock
	@touch $(VENV)/.runtime $@

run: $(VENV)/.runtime
	@scripts/run-demo.sh $(PORT)

test: $(VENV)/.dev
	@scripts/test-deps.sh
	@scripts/services-up.sh
	@psql -h 127.0.0.1 -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'pcn'" | grep -q 1 \
	  || psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE pcn"
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(TEST_ENV) $(VENV)/bin/mypy
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(PY) -m pytest --create-db

lint: $(VENV)/.dev
	@$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/lint-imports \
	  && $(TEST_ENV) $(VENV)/bin/mypy

# Each benchmark prints its figures. They run on a database of their own, made afresh each time
# (audit rows are append-only, so a used database cannot be reseeded). saved_search_export.py runs on
# reports.py's 100,000 patients: the saved search's XLSX read-only, then the whole background task.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/pcn_bench
bench: $(VENV)/.dev
	@scripts/services-up.sh
	@psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS pcn_bench" -c "CREATE DATABASE pcn_bench"
	DATABASE_URL=$(BENCH_DATABASE_URL) HTTPS=0 $(PY) manage.py migrate -v0
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/seed_demo.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/caseload_pages.py
	@psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE pcn_bench" -c "CREATE DATABASE pcn_bench"
	DATABASE_URL=$(BENCH_DATABASE_URL) HTTPS=0 $(PY) manage.py migrate -v0
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/import_population.py
	@psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE pcn_bench" -c "CREATE DATABASE pcn_bench"
	DATABASE_URL=$(BENCH_DATABASE_URL) HTTPS=0 $(PY) manage.py migrate -v0
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/recall.py
	@psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE pcn_bench" -c "CREATE DATABASE pcn_bench"
	DATABASE_URL=$(BENCH_DATABASE_URL) HTTPS=0 $(PY) manage.py migrate -v0
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/reports.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/saved_search_export.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/saved_search_export.py --full
	@psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS pcn_faults_bench" -c "CREATE DATABASE pcn_faults_bench"
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcn_faults_bench $(PY) bench/faults/hostile_files.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/load/run.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/faults/outages.py
	DATABASE_URL=$(BENCH_DATABASE_URL) $(PY) bench/faults/two_beats.py

vendor:
	scripts/vendor-static.sh

# Re-pin after changing pyproject.toml's dependencies.
lock: | $(UV)
	$(UV) pip compile pyproject.toml --python $(PY) --generate-hashes -o requirements.lock -q
	$(UV) pip compile pyproject.toml --extra dev --python $(PY) --generate-hashes -o requirements-dev.lock -q

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache .ruff_cache .mypy_cache
