"""Incremental materialization into the sqlite online store, read back online."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from components._feast import open_store
from components.materialize_features.core import (
    MaterializeConfig,
    MaterializeResult,
    ViewMaterialization,
    materialize,
    parse_end_time,
    run,
)

T = datetime(2024, 6, 1, tzinfo=UTC)


def _online(store, customers=(1, 2, 3)) -> pd.DataFrame:
    """Online churn_v1 features of some customers, indexed by customer id."""
    response = store.get_online_features(
        features=store.get_feature_service("churn_v1"),
        entity_rows=[{"customer_id": c} for c in customers],
    )
    return pd.DataFrame(response.to_dict()).set_index("customer_id")


def test_first_run_loads_the_ttl_window_before_end_time(fresh_repo):
    """A first materialization loads [end - ttl, end] per view and serves it online.

    Proves: intervals start at end_time - TTL (not now - TTL, which would load nothing
    for historical data); rows counted per view are the entities with a value in the
    window (activity: customers 1 and 2; profile: customer 1 only, customer 3's row is
    older than 3650 days); online reads give each entity's latest value as of end_time
    and nothing written after it. Cannot prove Redis behaves like sqlite here.
    """
    results = {r.feature_view: r for r in run(MaterializeConfig(fresh_repo, T.isoformat())).views}
    activity, profile = results["customer_activity"], results["customer_profile"]
    assert (activity.start, activity.end, activity.rows) == (T - timedelta(days=30), T, 2)
    assert (profile.start, profile.end, profile.rows) == (T - timedelta(days=3650), T, 1)
    assert activity.first_run
    assert profile.first_run

    online = _online(open_store(fresh_repo))
    assert online.loc[1, "plan"] == "premium"
    assert online.loc[1, "sessions_7d"] == 2.0
    assert online.loc[2, "sessions_7d"] == 3.0
    assert online.loc[2, "plan"] is None
    assert online.loc[3].isna().all()


def test_second_run_is_incremental_from_the_previous_end(fresh_repo):
    """A later run loads only what is new since the last end and updates online values.

    Proves: the interval starts where the previous one ended; only customer 2's newer
    activity and profile rows are written; customer 1's values stay; the registry keeps
    both intervals. Cannot prove behaviour with late-arriving rows older than the last
    end (Feast incremental semantics skip them, by design).
    """
    store = open_store(fresh_repo)
    materialize(store, T)
    later = T + timedelta(days=3)
    results = {r.feature_view: r for r in materialize(store, later)}
    assert {name: (r.start, r.rows, r.first_run) for name, r in results.items()} == {
        "customer_activity": (T, 1, False),
        "customer_profile": (T, 1, False),
    }
    online = _online(open_store(fresh_repo))
    assert online.loc[2, "sessions_7d"] == 4.0
    assert online.loc[2, "plan"] == "standard"
    assert online.loc[1, "sessions_7d"] == 2.0
    assert online.loc[3].isna().all()
    view = open_store(fresh_repo).get_feature_view("customer_activity")
    assert view.materialization_intervals[-1] == (T, later)


def test_an_end_time_already_covered_writes_nothing(fresh_repo):
    """Asking for an end before the last materialized end is a no-op, not an error.

    Proves zero rows are reported, no interval is added and online values are unchanged.
    Cannot prove that re-materializing an old window on purpose is possible (use Feast's
    `materialize` for that).
    """
    store = open_store(fresh_repo)
    materialize(store, T + timedelta(days=3))
    before = _online(store)
    results = materialize(store, T)
    assert [r.rows for r in results] == [0, 0]
    assert len(store.get_feature_view("customer_profile").materialization_intervals) == 1
    pd.testing.assert_frame_equal(_online(store), before)


def test_selected_views_and_bad_arguments(fresh_repo):
    """Only the named views are materialized; unknown names and naive times are refused.

    Proves a subset run leaves the other view unmaterialized, an unknown view name lists
    the known ones and a naive end_time is rejected. Cannot prove offline-only views are
    skipped (the repo has none).
    """
    store = open_store(fresh_repo)
    assert [r.feature_view for r in materialize(store, T, ["customer_profile"])] == [
        "customer_profile"
    ]
    assert store.get_feature_view("customer_activity").materialization_intervals == []
    with pytest.raises(ValueError, match=r"\['nope'\]; known: \['customer_activity'"):
        materialize(store, T, ["nope"])
    with pytest.raises(ValueError, match="timezone-aware"):
        materialize(store, T.replace(tzinfo=None))


def test_end_time_parameter_and_metrics():
    """The component's end_time string and its scalar metrics.

    Proves: "" means now (UTC), naive ISO means UTC, offsets are converted, garbage is
    named; metrics hold per-view rows, first-run flags, interval bounds in Unix seconds
    and totals — scalars only, as a KFP Metrics artifact requires. Cannot prove how the
    KFP UI renders them.
    """
    before = datetime.now(UTC)
    assert before <= parse_end_time("") <= datetime.now(UTC)
    assert parse_end_time("2024-06-01") == T
    assert parse_end_time("2024-06-01T02:00:00+02:00") == T
    with pytest.raises(ValueError, match="end_time='soon'"):
        parse_end_time("soon")

    metrics = MaterializeResult(
        (
            ViewMaterialization("customer_profile", T - timedelta(days=1), T, 7, True),
            ViewMaterialization("customer_activity", T, T, 0, False),
        )
    ).metrics()
    assert metrics == {
        "rows_customer_profile": 7.0,
        "first_run_customer_profile": 1.0,
        "start_customer_profile": (T - timedelta(days=1)).timestamp(),
        "end_customer_profile": T.timestamp(),
        "rows_customer_activity": 0.0,
        "first_run_customer_activity": 0.0,
        "start_customer_activity": T.timestamp(),
        "end_customer_activity": T.timestamp(),
        "rows_total": 7.0,
        "views": 2.0,
    }
