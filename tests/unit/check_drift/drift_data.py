"""Seeded churn-like frames and a real sklearn model for the drift tests.

The frames follow the suite schema's names and types (a subset of the features)
with a known label function, so each test controls exactly what drifts. Kept in a
uniquely named module (not conftest) so tests can import it unambiguously.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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
