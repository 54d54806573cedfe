"""Fixtures for the train_model tests: a small churn training frame and a real MLflow backend.

The frame is the colleague generator's ground-truth snapshot (what a correct Feast
retrieval returns), without its ``churn_probability`` column. MLflow runs for real
on sqlite; one database per session (creating one costs seconds), one experiment
per test.
"""

from __future__ import annotations

import pandas as pd
import pytest

from churn_data import GeneratorConfig, generate
from components import _mlflow as mlf


@pytest.fixture(scope="session")
def training_frame() -> pd.DataFrame:
    data = generate(GeneratorConfig(n_customers=2000, seed=11))
    return data.snapshot.drop(columns=["churn_probability"])


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture
def client(tracking_uri: str):
    return mlf.mlflow_client(tracking_uri)


@pytest.fixture
def experiment(request: pytest.FixtureRequest) -> str:
    return f"train-{request.node.name}"
