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
.PHONY: help setup lock run test lint format compile bench clean serve submit schedule unschedule runs \
	kserve-client-venv lock-kserve-client

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-16s %s\n", $$1, $$2}'

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || $(PY) -m pip install --quiet "uv==$(UV_VERSION)"
	$(UV) pip sync --compile-bytecode --python $(PY) requirements.txt
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
	$(VENV)/bin/pytest -n 2 --dist loadscope

compile: setup ## Compile every pipeline to dist/<pipeline>-<version>.yaml
	$(PY) -m pipelines compile

run: setup ## The main job, locally: data -> features -> validate -> train -> gate -> registry -> serve -> drift -> retrain
	$(PY) -m pipelines run-local --data-dir $(DATA_DIR) --scenario $(SCENARIO)

SERVE_PORT ?= 8080
serve: setup ## Serve the registry's champion on 127.0.0.1:$(SERVE_PORT) (gRPC +1, metrics +2); log to $(DATA_DIR)/predictions
	$(PY) -m components._serving serve --repo $(abspath $(DATA_DIR))/serving --port $(SERVE_PORT) \
	  --grpc-port $$(($(SERVE_PORT)+1)) --metrics-port $$(($(SERVE_PORT)+2)) \
	  --model-uri models:/churn@champion --tracking-uri sqlite:///$(abspath $(DATA_DIR))/mlflow/mlflow.db \
	  --prediction-log $(abspath $(DATA_DIR))/predictions

KSERVE_VENV := .venv-kserve-client
kserve-client-venv: $(KSERVE_VENV)/.synced ## The kserve Python client in a venv of its own (it cannot join the lock); used by the serving tests
$(KSERVE_VENV)/.synced: requirements/kserve-client.txt | $(STAMP)
	@test -x $(KSERVE_VENV)/bin/python || $(PYTHON) -m venv $(KSERVE_VENV)
	$(UV) pip sync --compile-bytecode --python $(KSERVE_VENV)/bin/python requirements/kserve-client.txt
	@touch $@

lock-kserve-client: setup ## Regenerate requirements/kserve-client.txt from requirements/kserve-client.in
	$(UV) pip compile requirements/kserve-client.in -o requirements/kserve-client.txt --python-version 3.11

KFP_ARGS ?=
submit: setup ## Upload dist/<pipeline>-<version>.yaml as a KFP pipeline version and start a run (PIPELINE=training|monitoring)
	$(PY) -m pipelines submit --pipeline $(or $(PIPELINE),training) $(KFP_ARGS)

CRON ?= 0 0 6 * * *
schedule: setup ## Create or replace the recurring monitoring run (CRON, six fields, seconds first)
	$(PY) -m pipelines schedule --cron "$(CRON)" $(KFP_ARGS)

unschedule: setup ## Delete the recurring monitoring run
	$(PY) -m pipelines unschedule $(KFP_ARGS)

runs: setup ## List recent KFP runs
	$(PY) -m pipelines runs $(KFP_ARGS)

bench: setup ## Benchmarks (results go in the README): generator, get_features, drift, pipeline overhead, prediction log
	$(PY) -m bench.generator
	$(PY) -m bench.features
	$(PY) -m bench.drift
	$(PY) -m bench.pipeline_overhead
	$(PY) -m bench.prediction_log

clean: ## Remove generated data, compiled pipelines and caches (keeps .venv)
	rm -rf $(DATA_DIR) dist mlruns .pytest_cache

include mk/cluster.mk
