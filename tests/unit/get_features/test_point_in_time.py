"""Point-in-time correctness of `get_training_frame` on the hand-built case in conftest."""

from __future__ import annotations

import pandas as pd
import pytest

from components._feast import open_store
from components.get_features.core import get_training_frame


def test_join_matches_the_hand_computed_frame(case, store, suite):
    """The repo's offline store returns exactly the hand-computed training frame.

    Proves: a profile and an activity value written after the label time do not leak
    in; a profile older than 3650 days and activity 1 s older than 30 days come back
    null; a row exactly at label time and one exactly 30 days old are kept (Feast's
    inclusive bounds); a customer with no feature row still gets its row; columns are in
    training-frame order, rows sorted by (customer, time). Cannot prove behaviour on
    ties (two feature rows with the same key and time) or at scale (test_generated.py).
    """
    result = get_training_frame(store, case.labels, "churn_v1", suite)
    expected = case.expected.sort_values(["customer_id", "event_timestamp"])
    pd.testing.assert_frame_equal(result.frame, expected.reset_index(drop=True))


def test_feasts_stock_duckdb_store_gives_the_same_frame(case, make_repo, store, suite):
    """The ASOF-join store and Feast's stock DuckDB store agree.

    Proves the faster store (components._feast) keeps Feast's semantics on every rule of
    the hand-built case: identical frame and fingerprint. Cannot prove equality on
    inputs this case does not exercise (ties, field mappings, created timestamps).
    """
    stock = get_training_frame(open_store(make_repo("duckdb")), case.labels, "churn_v1", suite)
    ours = get_training_frame(store, case.labels, "churn_v1", suite)
    pd.testing.assert_frame_equal(ours.frame, stock.frame)
    assert ours.fingerprint == stock.fingerprint


def test_a_store_that_drops_label_rows_is_refused(case, make_repo, suite):
    """A real store that loses label rows makes the retrieval fail, not shrink.

    Proves the row-count guard: Feast's dask file store drops customer 2's label (no
    feature value inside any TTL) and `get_training_frame` raises naming the counts and
    the store. Cannot prove which other inputs make dask drop rows.
    """
    dask_store = open_store(make_repo("file"))
    with pytest.raises(RuntimeError, match=r"returned 5 rows for 6 entity rows.*\(file\)"):
        get_training_frame(dask_store, case.labels, "churn_v1", suite)


def test_churn_v2_is_the_reduced_set_in_service_order(case, store, suite):
    """The versioned service churn_v2 returns its five features only.

    Proves the columns and refs follow the service's order and the values equal
    churn_v1's for those columns. Cannot prove anything about services defined elsewhere.
    """
    result = get_training_frame(store, case.labels, "churn_v2", suite)
    features = ["plan", "tenure_months", "sessions_7d", "spend_30d", "days_since_last_login"]
    assert list(result.frame.columns) == [*suite.entity_columns, *features]
    assert list(result.feature_refs) == [
        "customer_profile:plan",
        "customer_profile:tenure_months",
        "customer_activity:sessions_7d",
        "customer_activity:spend_30d",
        "customer_activity:days_since_last_login",
    ]
    v1 = get_training_frame(store, case.labels, "churn_v1", suite).frame
    pd.testing.assert_frame_equal(result.frame, v1[result.frame.columns.tolist()])


def test_row_order_and_extra_columns_do_not_change_the_result(case, store, suite):
    """The output depends on the label rows only.

    Proves shuffled input rows, an extra column and naive (taken as UTC) timestamps give
    the identical frame and fingerprint. Cannot prove determinism across Feast versions.
    """
    reference = get_training_frame(store, case.labels, "churn_v1", suite)
    shuffled = case.labels.sample(frac=1.0, random_state=3).reset_index(drop=True)
    shuffled["note"] = "ignored"
    shuffled["event_timestamp"] = shuffled["event_timestamp"].dt.tz_localize(None)
    again = get_training_frame(store, shuffled, "churn_v1", suite)
    pd.testing.assert_frame_equal(again.frame, reference.frame)
    assert again.fingerprint == reference.fingerprint


def test_metadata_records_service_refs_rows_and_fingerprint(case, store, suite):
    """The lineage the component writes into the artifact metadata.

    Proves: service name, all ten ``view:feature`` refs of churn_v1 in column order, the
    row count and a sha256 fingerprint. Cannot prove the KFP side (tests/components).
    """
    metadata = get_training_frame(store, case.labels, "churn_v1", suite).metadata()
    assert metadata["feature_service"] == "churn_v1"
    assert metadata["row_count"] == len(case.labels)
    features = [ref.split(":")[1] for ref in metadata["feature_refs"]]
    assert features == list(case.expected.columns[3:])
    assert metadata["feature_refs"][0] == "customer_profile:plan"
    assert metadata["fingerprint"].startswith("sha256:")
    assert len(metadata["fingerprint"]) == len("sha256:") + 64


def test_unknown_feature_service_names_the_known_ones(case, store, suite):
    """A typo in the service name fails before any join.

    Proves the message names the bad service and lists the registered ones. Cannot prove
    the empty-registry hint (see test_repo.py).
    """
    with pytest.raises(ValueError, match=r"unknown feature service 'churn_v9'.*churn_v1.*churn_v2"):
        get_training_frame(store, case.labels, "churn_v9", suite)


def test_missing_entity_columns_are_named(case, store, suite):
    """An entity frame without the timestamp and label columns is refused.

    Proves both missing names are in the message. Cannot prove dtype checks (there are
    none here; validate_data owns them).
    """
    with pytest.raises(ValueError, match=r"lacks columns \['event_timestamp', 'churned'\]"):
        get_training_frame(store, case.labels[["customer_id"]], "churn_v1", suite)


def test_null_entity_keys_are_refused(case, store, suite):
    """A label row without a customer id is refused.

    Proves the null count and column are named (such a row could never be joined).
    Cannot prove label-value checks (validate_data's).
    """
    labels = case.labels.astype({"customer_id": "float64"})
    labels.loc[0, "customer_id"] = None
    with pytest.raises(ValueError, match=r"'customer_id' has 1 nulls"):
        get_training_frame(store, labels, "churn_v1", suite)
