"""Fixtures for the register_model tests: two real logged models and their evaluations.

Training and evaluation run for real (MLflow on sqlite, one database per session);
each test registers under its own registered-model name, so tests do not share
aliases.
"""

from __future__ import annotations

import pandas as pd
import pytest

from churn_data import GeneratorConfig, generate
from churn_data.schema import TRAIN_ROLES
from components import _mlflow as mlf
from components.evaluate_model import core as evaluate_core
from components.train_model import core as train_core


@pytest.fixture(scope="session")
def training_frame() -> pd.DataFrame:
    data = generate(GeneratorConfig(n_customers=1500, seed=3))
    return data.snapshot.drop(columns=["churn_probability"])


@pytest.fixture(scope="session")
def runs(training_frame: pd.DataFrame, tracking_uri: str) -> list[train_core.TrainResult]:
    """Two training runs of different model types (two versions to promote between)."""
    client = mlf.mlflow_client(tracking_uri)
    lineage = train_core.Lineage(pipeline_run_id="kfp-train-run", feature_service="churn_v1")
    return [
        train_core.run(
            train_core.TrainJob(
                training_frame, train_core.TrainConfig(**TRAIN_ROLES, model_type=t), lineage
            ),
            client=client,
        )
        for t in ("logistic_regression", "xgboost")
    ]


@pytest.fixture(scope="session")
def evaluations(runs, tracking_uri: str) -> list[dict]:
    """`evaluate_model`'s JSON report of each run (no champion: floors decide)."""
    client = mlf.mlflow_client(tracking_uri)
    return [
        evaluate_core.evaluate(
            r.holdout,
            r.model_uri,
            client,
            "no-such-model",
            label_column="churned",
            slice_features=["plan"],
            challenger_run_id=r.run_id,
        ).report()
        for r in runs
    ]


@pytest.fixture
def model_name(request: pytest.FixtureRequest) -> str:
    return f"churn-{request.node.name}"
