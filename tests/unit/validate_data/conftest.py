"""Fixtures for validate_data core tests: the real churn_v1 contract and a batch that meets it."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components.validate_data.core import DataContract, load_contract

REPO = Path(__file__).resolve().parents[3]
CHURN_CONTRACT = REPO / "feature_repo" / "contracts" / "churn_v1.yaml"
NOW = "2026-06-01T00:00:00+00:00"


def churn_training_frame(n_customers: int = 1000, seed: int = 7) -> pd.DataFrame:
    """A training frame shaped like get_features' output (CONVENTIONS.md data schema).

    Two label times per customer, profile features nearly always present and activity
    features null for about 5 % of rows (customers with no activity inside the 30-day TTL).
    """
    rng = np.random.default_rng(seed)
    n = 2 * n_customers
    ids = np.repeat(np.arange(1, n_customers + 1, dtype="int64"), 2)
    base = pd.Timestamp("2026-01-01", tz="UTC")
    ts = base + pd.to_timedelta(np.tile([0, 45], n_customers), unit="D")
    ts = ts + pd.to_timedelta(rng.integers(0, 86_400, n), unit="s")
    frame = pd.DataFrame(
        {
            "customer_id": ids,
            "event_timestamp": pd.DatetimeIndex(ts).astype("datetime64[ns, UTC]"),
            "churned": rng.integers(0, 2, n).astype("int64"),
            "plan": rng.choice(["basic", "standard", "premium"], n).astype(object),
            "region": rng.choice(["north", "south", "east", "west"], n).astype(object),
            "channel": rng.choice(["web", "mobile", "store", "partner"], n).astype(object),
            "tenure_months": rng.integers(0, 120, n).astype("float64"),
            "age": rng.integers(18, 90, n).astype("float64"),
            "sessions_7d": rng.poisson(6, n).astype("float64"),
            "spend_30d": rng.gamma(2.0, 60.0, n).round(2),
            "support_tickets_30d": rng.poisson(0.4, n).astype("float64"),
            "avg_order_value": rng.gamma(3.0, 15.0, n).round(2),
            "days_since_last_login": rng.integers(0, 30, n).astype("float64"),
        }
    )
    activity = ["sessions_7d", "spend_30d", "support_tickets_30d", "avg_order_value"]
    frame.loc[rng.random(n) < 0.05, [*activity, "days_since_last_login"]] = np.nan
    frame.loc[rng.random(n) < 0.005, ["plan", "age"]] = [None, np.nan]
    return frame


@pytest.fixture(scope="session")
def now() -> str:
    """Validation time for every test: after all of `churn_training_frame`'s timestamps."""
    return NOW


@pytest.fixture(scope="session")
def churn_contract() -> DataContract:
    return load_contract(CHURN_CONTRACT)


@pytest.fixture(scope="session")
def make_churn_frame():
    """The frame builder, for tests that need another size or seed."""
    return churn_training_frame


@pytest.fixture(scope="session")
def _good_frame() -> pd.DataFrame:
    return churn_training_frame()


@pytest.fixture
def good_batch(_good_frame: pd.DataFrame) -> pd.DataFrame:
    """A fresh copy per test, so a test may corrupt it."""
    return _good_frame.copy()
