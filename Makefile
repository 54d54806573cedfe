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
  test-durations contract train monitor repo-args-check kserve-client-venv lock-kserve-client component \
  component-docs

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

# Groups (a fixture package or a module) run longest first, each on one worker: see tests/conftest.py.
PYTEST_PARALLEL := -n 2 --dist loadgroup --no-loadscope-reorder
test: setup ## Run the whole test suite
	$(VENV)/bin/pytest $(PYTEST_PARALLEL)

test-durations: setup ## Run the whole test suite and refresh tests/durations.json (the scheduler's costs)
	$(VENV)/bin/pytest $(PYTEST_PARALLEL) --record-durations tests/durations.json

component-docs: setup ## Regenerate components/<name>/README.md from each component's docstring and KFP spec
	$(PY) -m pipelines.component_docs

compile: setup ## Compile every pipeline to dist/<pipeline>-<version>.yaml
	$(PY) -m pipelines compile

TRACKING_URI ?=
run: setup ## The main job, locally: data -> features -> validate -> train -> gate -> registry -> serve -> traffic -> drift + performance -> retrain policy
	$(PY) -m pipelines run-local --data-dir $(DATA_DIR) --scenario $(SCENARIO) \
	  $(if $(TRACKING_URI),--tracking-uri $(TRACKING_URI)) \
	  $(if $(WINDOW_SOURCE),--window-source $(WINDOW_SOURCE)) \
	  $(if $(RETRAIN_POLICY),--retrain-policy $(RETRAIN_POLICY))

# Bring your own data: any feature repo with a suite.yaml (see README "Bring your own data").
FEATURE_REPO ?=
LABELS ?=
REPO_ARGS = --feature-repo $(FEATURE_REPO) --labels $(LABELS) $(if $(REPO_DATA_DIR),--data-dir $(REPO_DATA_DIR))
repo-args-check:
	@test -n "$(FEATURE_REPO)" -a -n "$(LABELS)" || { echo "set FEATURE_REPO=<feature repo dir> LABELS=<labels parquet>"; exit 2; }

contract: setup repo-args-check ## Draft a data contract from a feature repo's point-in-time frame (FEATURE_REPO, LABELS, OUT)
	@test -n "$(OUT)" || { echo "set OUT=<contract yaml to write>"; exit 2; }
	$(PY) -m pipelines draft-contract $(REPO_ARGS) --out $(OUT)

train: setup repo-args-check ## Train on any feature repo locally (FEATURE_REPO, LABELS, optional START, END, REPO_DATA_DIR)
	$(PY) -m pipelines train $(REPO_ARGS) $(if $(START),--start $(START)) $(if $(END),--end $(END))

monitor: setup repo-args-check ## Monitor a repo's champion locally (FEATURE_REPO, LABELS, WINDOW_START, WINDOW_END, optional RETRAIN_START)
	@test -n "$(WINDOW_START)" -a -n "$(WINDOW_END)" || { echo "set WINDOW_START=<ISO> WINDOW_END=<ISO>"; exit 2; }
	$(PY) -m pipelines monitor $(REPO_ARGS) --window-start $(WINDOW_START) --window-end $(WINDOW_END) \
	  $(if $(RETRAIN_START),--retrain-start $(RETRAIN_START))

SERVE_PORT ?= 8080
# The registered model to serve: churn after `make run`; after `make train` the repo's model_name
# (then DATA_DIR=data/<model_name>, where `make train` keeps its state by default).
MODEL ?= churn
serve: setup ## Serve the registry's champion on 127.0.0.1:$(SERVE_PORT) (gRPC +1, metrics +2); log to $(DATA_DIR)/predictions; SHADOW=1 adds @challenger in shadow
	$(PY) -m components._serving serve --repo $(abspath $(DATA_DIR))/serving --port $(SERVE_PORT) \
	  --grpc-port $$(($(SERVE_PORT)+1)) --metrics-port $$(($(SERVE_PORT)+2)) \
	  --served-name $(MODEL) --model-uri models:/$(MODEL)@champion \
	  --tracking-uri $(or $(TRACKING_URI),sqlite:///$(abspath $(DATA_DIR))/mlflow/mlflow.db) \
	  --prediction-log $(abspath $(DATA_DIR))/predictions \
	  $(if $(SHADOW),--shadow-uri models:/$(MODEL)@challenger)

KSERVE_VENV := .venv-kserve-client
kserve-client-venv: $(KSERVE_VENV)/.synced ## The kserve Python client in a venv of its own (it cannot join the lock); used by the serving tests
$(KSERVE_VENV)/.synced: requirements/clients/kserve-client.txt | $(STAMP)
	@test -x $(KSERVE_VENV)/bin/python || $(PYTHON) -m venv $(KSERVE_VENV)
	$(UV) pip sync --compile-bytecode --python $(KSERVE_VENV)/bin/python requirements/clients/kserve-client.txt
	@touch $@

lock-kserve-client: setup ## Regenerate requirements/clients/kserve-client.txt from requirements/clients/kserve-client.in
	$(UV) pip compile requirements/clients/kserve-client.in -o requirements/clients/kserve-client.txt --python-version 3.11

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

bench: setup ## Benchmarks (results go in bench/README.md): generator, get_features, drift, pipeline overhead, prediction log
	$(PY) -m bench.generator
	$(PY) -m bench.features
	$(PY) -m bench.drift
	$(PY) -m bench.pipeline_overhead
	$(PY) -m bench.prediction_log

component: setup ## Scaffold a new component with its tests (NAME=snake_name, GROUP=data|train|serve)
	@test -n "$(NAME)" || { echo "set NAME=<snake_case component name>"; exit 2; }
	$(PY) -m pipelines.scaffold $(NAME) --group $(or $(GROUP),train)
	$(PY) -m pipelines.component_docs

clean: ## Remove generated data, compiled pipelines and caches (keeps .venv)
	rm -rf $(DATA_DIR) dist mlruns .pytest_cache

include mk/cluster.mk
include mk/observe.mk
include mk/postgres.mk
