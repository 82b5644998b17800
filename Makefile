# Customs pre-loading screening: the commands the README promises, and the ones behind them.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
KAFKA := deploy/kafka/kafka.sh
POSTGRES := deploy/postgres/postgres.sh

.DEFAULT_GOAL := help

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

run: setup ## Start Kafka, the worker and a sample feed; show hits until Ctrl-C
	@deploy/run.sh

test: setup lint ## Lint, type-check, unit and integration tests (starts its own broker)
	$(BIN)/pytest tests

unit: setup ## Unit tests only (no broker)
	$(BIN)/pytest tests/unit

integration: setup ## Integration tests only (starts its own broker)
	$(BIN)/pytest tests/integration

faults: setup ## Fault tests only: kill -9, broker restart, lost worker, poison (own brokers)
	$(BIN)/pytest tests/integration -m faults

lint: setup ## ruff, ruff format --check, mypy
	$(BIN)/ruff check pipeline tests load_tests
	$(BIN)/ruff format --check pipeline tests load_tests
	$(BIN)/mypy

setup: $(INSTALLED) system-deps kafka-fetch ## Virtualenv, Python packages, Kafka jars, kcat

# The versions tested together, with their hashes (requirements/dev.lock), then the project
# itself without resolving anything again.
$(INSTALLED): pyproject.toml requirements/dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

UV_COMPILE := $(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --quiet
lock: $(INSTALLED) ## Recompile requirements/*.lock after a change to pyproject.toml (locked versions that still fit stay)
	$(UV_COMPILE) --extra dev -o requirements/dev.lock
	$(UV_COMPILE) -c requirements/dev.lock -o requirements/runtime.lock
.PHONY: lock

bench: setup ## Benchmark the pipeline against its baselines (writes load_tests/results/)
	$(BIN)/python -m load_tests.bench

bench-smoke: setup ## The benchmark, small: a few thousand declarations, results in a temp folder
	$(BIN)/pytest tests/load_tests

profile: setup ## Where the worker's CPU goes, in place: py-spy on a worker screening a backlog (load_tests/results/profile.*)
	$(BIN)/python -m load_tests.profile_worker --results load_tests/results
.PHONY: profile

bench-workbench: setup ## The workbench: worklist at 10,000 open cases, hit-to-worklist delay at half rate
	$(BIN)/python -m load_tests.workbench_bench
.PHONY: bench-workbench

c2c-demo: setup ## Two administrations on one machine: two brokers, MirrorMaker 2, a worker each, a finding shared
	@deploy/c2c-demo.sh
.PHONY: c2c-demo

bench-names: setup ## Party names against the OFAC list: recall per kind of variation, false matches (load_tests/results/names.*)
	$(BIN)/python -m load_tests.name_matching
.PHONY: bench-names

soak: setup ## 10 minutes at half the benchmark's rate: worker memory and lag over time
	$(BIN)/python -m load_tests.soak

scale: setup ## Throughput with 1, 2 and 3 workers in one group (writes load_tests/results/scale.*)
	$(BIN)/python -m load_tests.scale

dashboards: setup ## Regenerate the Grafana dashboards (deploy/grafana/dashboards) from code
	$(BIN)/python -m pipeline.ops.dashboards

system-deps: ## Debian packages the tests use (kcat, prometheus, postgresql, chromium), when missing
	@deploy/system-deps.sh

kafka-fetch: ## Fetch the Kafka broker jars from Maven Central
	@$(KAFKA) fetch

kafka-start: kafka-fetch ## Start the local Kafka broker (127.0.0.1:9092)
	@$(KAFKA) start

postgres-start: ## Start the local PostgreSQL of the workbench (127.0.0.1:5433)
	@$(POSTGRES) start

postgres-stop: ## Stop the local PostgreSQL
	@$(POSTGRES) stop

stop: ## Stop the local Kafka broker and PostgreSQL
	@$(KAFKA) stop
	@$(POSTGRES) stop

clean: stop ## Stop them and remove their data and the worker state
	@$(POSTGRES) reset
	rm -rf .data

.PHONY: help run test unit integration faults lint bench bench-smoke soak scale dashboards setup system-deps kafka-fetch kafka-start postgres-start postgres-stop stop clean
