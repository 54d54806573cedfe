# KFP MLOps Suite. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.synced
DATA_DIR ?= data
SCENARIO ?= covariate_shift+concept_drift
export PYTHONHASHSEED := 0

.DEFAULT_GOAL := help
.PHONY: help setup lock run test lint format compile bench clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || $(PY) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) pip sync --python $(PY) requirements.txt
	$(UV) pip install --python $(PY) --no-deps -e .
	@touch $(STAMP)

setup: $(STAMP) ## Create or update .venv from the lock (fast when already in sync)

lock: ## Regenerate requirements.txt from requirements.in
	@test -x $(UV) || $(MAKE) setup
	$(UV) pip compile requirements.in -o requirements.txt --python-version 3.11

lint: setup ## ruff check + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup ## ruff format + autofix
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: setup ## Run the whole test suite
	$(VENV)/bin/pytest

compile: setup ## Compile every pipeline to dist/<pipeline>-<version>.yaml
	$(PY) -m pipelines compile

run: setup ## The main job: data -> features -> validation -> training -> gate -> registry, locally
	$(PY) -m pipelines run-local --data-dir $(DATA_DIR) --scenario $(SCENARIO)

bench: setup ## Benchmarks (results go in the README)
	$(PY) -m bench.generator
	$(PY) -m bench.features

clean: ## Remove generated data, compiled pipelines and caches (keeps .venv)
	rm -rf $(DATA_DIR) dist mlruns .pytest_cache
