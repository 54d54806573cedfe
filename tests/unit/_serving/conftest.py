"""Fixtures: an MLflow sqlite store with the demo churn model, and one MLServer per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from components._mlflow import mlflow_client
from components._serving.models import download_model
from components._serving.server import LocalMLServer, group_alive, start_mlserver
from components._serving.settings import write_model_settings
from tests._helpers.demo_model import log_demo_model

MODEL = "churn"


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("mlflow")
    client = mlflow_client(f"sqlite:///{root / 'mlflow.db'}")
    log_demo_model(client, MODEL)
    return client


@pytest.fixture(scope="session")
def model_dir(registry, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return download_model(registry, f"models:/{MODEL}/1", tmp_path_factory.mktemp("m") / "model")


@pytest.fixture(scope="module")
def server(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMLServer]:
    repo = tmp_path_factory.mktemp("repo")
    write_model_settings(repo / MODEL, MODEL, model_dir, "1")
    running = start_mlserver(repo, ready_models=[MODEL])
    yield running
    running.stop()
    assert not group_alive(running.process.pid), "MLServer left processes behind"
