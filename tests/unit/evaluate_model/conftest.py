"""Fixtures for the evaluate_model tests: two real models logged to MLflow on sqlite.

`good` is XGBoost trained on the churn_data snapshot; `shuffled` is the same model
trained on the same rows with the labels permuted, so it is clearly worse. Both are
trained once per session (training is the expensive part); every test scores them
on `good`'s holdout, the rows with true labels.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from churn_data import GeneratorConfig, generate
from churn_data.schema import TRAIN_ROLES
from components import _mlflow as mlf
from components.train_model import core as train_core


@pytest.fixture(scope="session")
def training_frame() -> pd.DataFrame:
    data = generate(GeneratorConfig(n_customers=2000, seed=5))
    return data.snapshot.drop(columns=["churn_probability"])


@pytest.fixture(scope="session")
def good(training_frame: pd.DataFrame, tracking_uri: str) -> train_core.TrainResult:
    return train_core.run(
        train_core.TrainJob(training_frame, train_core.TrainConfig(**TRAIN_ROLES)),
        client=mlf.mlflow_client(tracking_uri),
    )


@pytest.fixture(scope="session")
def shuffled(training_frame: pd.DataFrame, tracking_uri: str) -> train_core.TrainResult:
    label = np.random.default_rng(0).permutation(training_frame["churned"].to_numpy())
    return train_core.run(
        train_core.TrainJob(
            training_frame.assign(churned=label), train_core.TrainConfig(**TRAIN_ROLES)
        ),
        client=mlf.mlflow_client(tracking_uri),
    )


@pytest.fixture
def model_name(request: pytest.FixtureRequest) -> str:
    """A registered model name of this test's own (the registry is shared per session)."""
    return f"churn-{request.node.name}"
