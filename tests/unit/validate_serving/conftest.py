"""Fixtures: an MLflow sqlite store with the demo churn model registered as version 1."""

from __future__ import annotations

import pytest

from components._mlflow import mlflow_client
from tests._helpers.demo_model import log_demo_model


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("mlflow")
    client = mlflow_client(f"sqlite:///{root / 'mlflow.db'}")
    log_demo_model(client, "churn")
    return client
