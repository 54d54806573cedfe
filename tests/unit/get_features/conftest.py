"""Fixtures: the checkout's feature repo copied to a temp dir over tiny hand-built sources.

The sources are built so every point-in-time rule has a row that breaks it if the join
is wrong; `EXPECTED`, written by hand, is what a correct join returns. Repos are
session-scoped: Feast costs ~5 s to import and ~1 s to apply.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import pytest

from components._feast import (
    apply_repo,
    copy_repo,
    open_store,
    set_offline_store,
)
from components._suite import SuiteConfig, load_suite_config

T0 = pd.Timestamp("2024-03-01T12:00:00", tz="UTC")
DAY = pd.Timedelta(days=1)
PROFILE_COLUMNS = ["plan", "region", "channel", "tenure_months", "age"]
ACTIVITY_COLUMNS = [
    "sessions_7d",
    "spend_30d",
    "support_tickets_30d",
    "avg_order_value",
    "days_since_last_login",
]


def _profile(customer: int, at: pd.Timestamp, plan: str, tenure: float) -> dict:
    return {
        "customer_id": customer,
        "event_timestamp": at,
        "plan": plan,
        "region": "north",
        "channel": "web",
        "tenure_months": tenure,
        "age": 40.0,
    }


def _activity(customer: int, at: pd.Timestamp, sessions: float) -> dict:
    return {
        "customer_id": customer,
        "event_timestamp": at,
        **{column: sessions for column in ACTIVITY_COLUMNS},
    }


# customer 1: a value written after the label time must not leak (profile and activity);
#             its second label, 10 days later, does see them.
# customer 2: profile older than its 3650-day TTL and activity 1 s older than 30 days -> null.
# customer 3: activity exactly 30 days old and a profile row exactly at label time -> both kept.
# customer 4: no profile at all, recent activity.
# customer 5: no feature rows at all -> the row is still returned, all features null.
PROFILES = pd.DataFrame(
    [
        _profile(1, T0 - 100 * DAY, "basic", 10.0),
        _profile(1, T0 + 5 * DAY, "premium", 13.0),
        _profile(2, T0 - 3651 * DAY, "standard", 1.0),
        _profile(3, T0 - 20 * DAY, "basic", 5.0),
        _profile(3, T0, "standard", 6.0),
    ]
)
ACTIVITY = pd.DataFrame(
    [
        _activity(1, T0 - DAY, 1.0),
        _activity(1, T0 + pd.Timedelta(hours=1), 99.0),
        _activity(2, T0 - 30 * DAY - pd.Timedelta(seconds=1), 2.0),
        _activity(3, T0 - 30 * DAY, 3.0),
        _activity(4, T0 - 2 * DAY, 4.0),
    ]
)
LABELS = pd.DataFrame(
    {
        "customer_id": [1, 2, 3, 4, 5, 1],
        "event_timestamp": [T0, T0, T0, T0, T0, T0 + 10 * DAY],
        "churned": [1, 0, 0, 1, 1, 0],
    }
)
# What a correct point-in-time join returns, in training-frame order and row order.
_NA = None
EXPECTED = pd.DataFrame(
    {
        "customer_id": [1, 2, 3, 4, 5, 1],
        "event_timestamp": [T0, T0, T0, T0, T0, T0 + 10 * DAY],
        "churned": [1, 0, 0, 1, 1, 0],
        "plan": ["basic", _NA, "standard", _NA, _NA, "premium"],
        "region": ["north", _NA, "north", _NA, _NA, "north"],
        "channel": ["web", _NA, "web", _NA, _NA, "web"],
        "tenure_months": [10.0, _NA, 6.0, _NA, _NA, 13.0],
        "age": [40.0, _NA, 40.0, _NA, _NA, 40.0],
        **{column: [1.0, _NA, 3.0, 4.0, _NA, 99.0] for column in ACTIVITY_COLUMNS},
    }
).astype({c: "float64" for c in ["tenure_months", "age", *ACTIVITY_COLUMNS]})
EXPECTED["event_timestamp"] = EXPECTED["event_timestamp"].astype("datetime64[ns, UTC]")


def write_sources(directory: Path) -> Path:
    """Writes the tiny profiles/activity/labels parquet files into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, frame in [("profiles", PROFILES), ("activity", ACTIVITY), ("labels", LABELS)]:
        frame.to_parquet(directory / f"{name}.parquet", index=False)
    return directory


class TinyCase(NamedTuple):
    """The hand-built case: its labels, the correct training frame and the label time."""

    labels: pd.DataFrame
    expected: pd.DataFrame
    t0: pd.Timestamp


@pytest.fixture
def case() -> TinyCase:
    """Fresh copies of the hand-built labels and expected frame (tests may modify them)."""
    return TinyCase(LABELS.copy(), EXPECTED.copy(), T0)


@pytest.fixture(scope="session")
def tiny_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Directory with the hand-built profiles, activity and labels parquet files."""
    return write_sources(tmp_path_factory.mktemp("tiny_sources"))


@pytest.fixture(scope="session")
def make_repo(
    tmp_path_factory: pytest.TempPathFactory, tiny_sources: Path
) -> Callable[[str], Path]:
    """Returns a function giving an applied repo copy per offline store type (cached).

    The type is the feature_store.yaml one: ``"repo"`` keeps the repo's own (the ASOF
    store), ``"duckdb"`` is Feast's stock DuckDB store, ``"file"`` is the dask store.
    """
    repos: dict[str, Path] = {}

    def make(offline_type: str = "repo") -> Path:
        if offline_type not in repos:
            repo = copy_repo(tmp_path_factory.mktemp(f"repo_{offline_type}") / "feature_repo")
            if offline_type != "repo":
                set_offline_store(repo, offline_type)
            apply_repo(repo, source_dir=str(tiny_sources))
            repos[offline_type] = repo
        return repos[offline_type]

    return make


@pytest.fixture(scope="session")
def repo(make_repo: Callable[[str], Path]) -> Path:
    """The applied repo copy with the repo's own offline store, over the tiny sources."""
    return make_repo("repo")


@pytest.fixture(scope="session")
def store(repo: Path):
    """A FeatureStore on `repo`."""
    return open_store(repo)


@pytest.fixture(scope="session")
def suite(repo: Path) -> SuiteConfig:
    """The repo's suite.yaml."""
    return load_suite_config(repo)
