"""Fixtures: a registry with two demo churn versions and a local MLServer serving v1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from components._mlflow import ALIAS_CHAMPION, mlflow_client
from components._serving.serve import seed_repository
from components._serving.server import LocalMLServer, group_alive, start_mlserver
from tests._helpers.demo_model import log_demo_model


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("mlflow")
    client = mlflow_client(f"sqlite:///{root / 'mlflow.db'}")
    log_demo_model(client, "churn", c=1.0)
    log_demo_model(client, "churn", c=0.02)
    client.set_registered_model_alias("churn", ALIAS_CHAMPION, "1")
    return client


@pytest.fixture(scope="module")
def local_server(registry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMLServer]:
    repo: Path = tmp_path_factory.mktemp("serving")
    seed_repository(repo, registry, "models:/churn/1")
    running = start_mlserver(repo, ready_models=["churn"])
    yield running
    running.stop()
    assert not group_alive(running.process.pid), "MLServer left processes behind"
