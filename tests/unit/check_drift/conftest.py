"""Fixtures for the drift tests: a real sklearn model and a reference, session-scoped."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from drift_data import CATEGORICAL, FEATURES, NUMERIC, churn_frame, fit_model


@pytest.fixture(scope="session")
def train_frame() -> pd.DataFrame:
    return churn_frame(4000, seed=1)


@pytest.fixture(scope="session")
def holdout_frame() -> pd.DataFrame:
    return churn_frame(3000, seed=2)


@pytest.fixture(scope="session")
def model(train_frame):
    return fit_model(train_frame)


@pytest.fixture(scope="session")
def predict_fn(model) -> Callable[[pd.DataFrame], np.ndarray]:
    return lambda frame: model.predict_proba(frame[FEATURES])[:, 1]


@pytest.fixture(scope="session")
def reference_dir(tmp_path_factory, holdout_frame, predict_fn):
    from components._drift_reference import build_reference

    return build_reference(
        holdout_frame,
        predict_fn(holdout_frame),
        CATEGORICAL,
        NUMERIC,
        sample_size=2000,
        seed=0,
        out_dir=tmp_path_factory.mktemp("reference"),
        labels=holdout_frame["churned"],
        entity_column="customer_id",
        timestamp_column="event_timestamp",
    )


@pytest.fixture(scope="session")
def reference(reference_dir):
    from components._drift_reference import load_reference_dir

    return load_reference_dir(reference_dir)
