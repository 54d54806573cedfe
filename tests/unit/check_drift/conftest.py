"""Fixtures for the drift tests: small seeded churn-like frames, a real sklearn model, a reference.

The frames follow the suite schema's names and types (a subset of the features) with
a known label function, so each test controls exactly what drifts. The expensive
pieces (model, reference) are session-scoped.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

CATEGORICAL = ["plan", "region"]
NUMERIC = ["tenure_months", "age", "sessions_7d", "spend_30d"]
FEATURES = CATEGORICAL + NUMERIC


def churn_frame(
    n: int,
    seed: int,
    *,
    age_shift: float = 0.0,
    sessions_scale: float = 1.0,
    new_plan_share: float = 0.0,
    concept_flip: bool = False,
) -> pd.DataFrame:
    """A seeded churn-like frame; keyword arguments inject one kind of drift each."""
    rng = np.random.default_rng(seed)
    plan = rng.choice(["basic", "standard", "premium"], size=n, p=[0.5, 0.3, 0.2]).astype(object)
    plan[rng.random(n) < new_plan_share] = "family"
    frame = pd.DataFrame(
        {
            "customer_id": np.arange(n, dtype="int64"),
            "plan": plan,
            "region": rng.choice(["north", "south", "east", "west"], size=n),
            "tenure_months": rng.gamma(2.0, 12.0, size=n),
            "age": rng.normal(42.0, 12.0, size=n) + age_shift,
            "sessions_7d": rng.poisson(6.0, size=n) * sessions_scale,
            "spend_30d": rng.lognormal(3.5, 0.6, size=n),
        }
    )
    logit = (
        -0.5
        + 0.8 * (frame["plan"] == "basic")
        - 0.04 * frame["tenure_months"]
        - 0.35 * (frame["sessions_7d"] - 6.0)
    )
    if concept_flip:
        logit = -logit
    frame["churned"] = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype("int64")
    return frame


def fit_model(frame: pd.DataFrame):
    """A real sklearn Pipeline (one-hot + logistic regression) on `FEATURES`."""
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pre = ColumnTransformer(
        [
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
            ("num", StandardScaler(), NUMERIC),
        ]
    )
    model = Pipeline([("pre", pre), ("clf", LogisticRegression(max_iter=500))])
    return model.fit(frame[FEATURES], frame["churned"])


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
    from components.check_drift.reference import build_reference

    return build_reference(
        holdout_frame,
        predict_fn(holdout_frame),
        CATEGORICAL,
        NUMERIC,
        sample_size=2000,
        seed=0,
        out_dir=tmp_path_factory.mktemp("reference"),
        labels=holdout_frame["churned"],
    )


@pytest.fixture(scope="session")
def reference(reference_dir):
    from components.check_drift.reference import load_reference_dir

    return load_reference_dir(reference_dir)
