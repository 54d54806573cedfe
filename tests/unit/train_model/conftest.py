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


@pytest.fixture(scope="session")
def training_frame() -> pd.DataFrame:
    data = generate(GeneratorConfig(n_customers=2000, seed=11))
    return data.snapshot.drop(columns=["churn_probability"])


@pytest.fixture
def experiment(request: pytest.FixtureRequest) -> str:
    return f"train-{request.node.name}"
