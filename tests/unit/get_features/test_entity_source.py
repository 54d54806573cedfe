"""The entity dataframe from a labels parquet and a time window (the component's input)."""

from __future__ import annotations

import pandas as pd
import pytest

from components._time import parse_utc
from components.get_features.core import (
    GetFeaturesConfig,
    get_training_frame,
    load_entity_frame,
    run,
)


def test_window_is_start_inclusive_end_exclusive(case, tiny_sources, suite):
    """Labels are selected by ``start <= timestamp < end`` on ISO bounds.

    Proves both bound semantics on rows exactly at the bounds, that empty bounds are
    unbounded, and that an offset date-time is converted to UTC. Cannot prove anything
    about label files too large for memory (the file is read whole).
    """
    labels = tiny_sources / "labels.parquet"
    later = case.t0 + pd.Timedelta(days=10)
    assert len(load_entity_frame(labels, suite)) == 6
    assert len(load_entity_frame(labels, suite, start=case.t0.isoformat())) == 6
    assert len(load_entity_frame(labels, suite, start="2024-03-01T13:00:00+01:00")) == 6
    assert len(load_entity_frame(labels, suite, end=later.isoformat())) == 5
    only_later = load_entity_frame(labels, suite, start="2024-03-02", end="2025-01-01")
    assert only_later["event_timestamp"].tolist() == [later]
    assert list(only_later.columns) == suite.entity_columns


def test_bad_windows_fail_with_the_reason(tiny_sources, suite):
    """Empty, inverted and unparsable windows raise, naming the parameter or the span.

    Proves a window that selects nothing reports the labels' actual time span, so a
    mistyped year is obvious. Cannot prove every malformed date string is caught by
    pandas' parser the way a user expects.
    """
    labels = tiny_sources / "labels.parquet"
    with pytest.raises(ValueError, match=r"no rows .* spans 2024-03-01 12:00:00\+00:00"):
        load_entity_frame(labels, suite, start="2030-01-01")
    with pytest.raises(ValueError, match=r"empty window: start='2024-05-01'"):
        load_entity_frame(labels, suite, start="2024-05-01", end="2024-04-01")
    with pytest.raises(ValueError, match=r"end='yesterday' is not an ISO date"):
        parse_utc("yesterday", "end")
    assert parse_utc("  ", "start") is None


def test_labels_without_the_label_column_are_named(tmp_path, case, suite):
    """A labels file lacking a suite.yaml column is refused before it is read whole.

    Proves the missing column is named together with the file. Cannot prove dtype checks.
    """
    path = tmp_path / "labels.parquet"
    case.labels.drop(columns="churned").to_parquet(path)
    with pytest.raises(ValueError, match=r"lacks columns \['churned'\]"):
        load_entity_frame(path, suite)


def test_component_work_equals_the_core_join(case, repo, store, tiny_sources, suite):
    """`run` (what the component runs) equals the core join.

    Proves the path + window entry point reads the labels, uses suite.yaml's default
    service when given "" and returns the same frame as `get_training_frame` on the
    same rows. Cannot prove the KFP wrapper (tests/components).
    """
    source = tiny_sources / "labels.parquet"
    result = run(GetFeaturesConfig(repo, "", source, end="2024-03-02"))
    direct = get_training_frame(store, case.labels.iloc[:5], suite.feature_service, suite)
    assert result.feature_service == "churn_v1"
    pd.testing.assert_frame_equal(result.frame, direct.frame)
    assert result.fingerprint == direct.fingerprint
