"""Fixtures: tiny sources around a materialization time T and a fresh applied repo per test.

Materialization changes the registry (intervals) and the online store, so each test
gets its own repo copy (~1 s to apply once Feast is imported).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from components._feast import apply_repo, copy_repo

T = pd.Timestamp("2024-06-01T00:00:00", tz="UTC")
DAY = pd.Timedelta(days=1)
ACTIVITY_FEATURES = [
    "sessions_7d",
    "spend_30d",
    "support_tickets_30d",
    "avg_order_value",
    "days_since_last_login",
]


def _profile(customer: int, at: pd.Timestamp, plan: str) -> dict:
    return {
        "customer_id": customer,
        "event_timestamp": at,
        "plan": plan,
        "region": "west",
        "channel": "store",
        "tenure_months": 12.0,
        "age": 30.0,
    }


def _activity(customer: int, at: pd.Timestamp, sessions: float) -> dict:
    return {
        "customer_id": customer,
        "event_timestamp": at,
        **{name: sessions for name in ACTIVITY_FEATURES},
    }


# Customer 1: an old and a recent profile, activity outside and inside the 30-day TTL.
# Customer 2: activity before T and after T, a profile only after T.
# Customer 3: a profile older than 3650 days and activity only after T.
PROFILES = pd.DataFrame(
    [
        _profile(1, T - 400 * DAY, "basic"),
        _profile(1, T - 5 * DAY, "premium"),
        _profile(2, T + 2 * DAY, "standard"),
        _profile(3, T - 4000 * DAY, "basic"),
    ]
)
ACTIVITY = pd.DataFrame(
    [
        _activity(1, T - 40 * DAY, 1.0),
        _activity(1, T - DAY, 2.0),
        _activity(2, T - 10 * DAY, 3.0),
        _activity(2, T + DAY, 4.0),
        _activity(3, T + 5 * DAY, 5.0),
    ]
)


@pytest.fixture(scope="session")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory with the tiny profiles and activity parquet files."""
    directory = tmp_path_factory.mktemp("materialize_sources")
    PROFILES.to_parquet(directory / "profiles.parquet", index=False)
    ACTIVITY.to_parquet(directory / "activity.parquet", index=False)
    return directory


@pytest.fixture
def fresh_repo(tmp_path: Path, sources: Path) -> Path:
    """A never-materialized, applied copy of the checkout's feature repo over `sources`."""
    repo = copy_repo(tmp_path / "feature_repo")
    apply_repo(repo, source_dir=str(sources))
    return repo
