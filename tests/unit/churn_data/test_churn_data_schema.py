"""Schema, value ranges and realism of the generated tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_data import ChurnData, GeneratorConfig, read_sources, schema, write_sources

FRAMES = {
    "profiles": schema.PROFILE_COLUMNS,
    "activity": schema.ACTIVITY_COLUMNS,
    "labels": schema.LABEL_COLUMNS,
    "snapshot": schema.SNAPSHOT_COLUMNS,
}


@pytest.mark.parametrize("name", list(FRAMES))
def test_frames_follow_conventions_schema(clean: ChurnData, name: str) -> None:
    """Each frame has exactly the CONVENTIONS.md columns, in order, with the exact dtypes.

    Proves: int64 ids, tz-aware UTC ns timestamps, float64 numerics, str categoricals from the
    documented sets, int64 0/1 label, and the snapshot in "Training frame" order plus
    churn_probability. Cannot prove Feast accepts them (tests/unit/get_features does that).
    """
    frame = getattr(clean, name)
    schema.check_frame(frame, FRAMES[name], name)
    assert str(frame[schema.TIMESTAMP].dtype) == "datetime64[ns, UTC]"
    for column in schema.CATEGORICAL_FEATURES:
        if column in frame:
            assert set(frame[column].dropna()) <= set(schema.CATEGORIES[column])
            assert frame[column].map(type).eq(str).all()
    assert schema.SNAPSHOT_COLUMNS[: len(schema.TRAINING_COLUMNS)] == schema.TRAINING_COLUMNS
    assert len(frame) > 0


def test_written_parquet_keeps_the_schema(clean: ChurnData, tmp_path: Path) -> None:
    """Writing and reading the parquet files preserves columns, dtypes and values.

    Proves the files on disk (what Feast reads) carry the schema, not just the frames.
    Cannot prove other parquet readers (DuckDB, dask) map the types the same way.
    """
    write_sources(clean, tmp_path)
    for name, frame in read_sources(tmp_path).items():
        schema.check_frame(frame, FRAMES[name], name)
        pd.testing.assert_frame_equal(frame, getattr(clean, name))


def test_values_are_plausible(clean: ChurnData) -> None:
    """Counts are non-negative integers, money non-negative, age 18-90, label 0/1.

    Proves the ranges on one seed at small scale. Cannot prove every seed stays in range,
    though the ranges follow from the construction (Poisson counts, clipped ages).
    """
    activity, profiles, snapshot = clean.activity, clean.profiles, clean.snapshot
    for column in ("sessions_7d", "support_tickets_30d"):
        values = activity[column]
        assert (values >= 0).all()
        assert (values == np.round(values)).all()
    for column in ("spend_30d", "avg_order_value", "days_since_last_login"):
        assert (activity[column] >= 0).all()
    assert activity["spend_30d"].skew() > 1.0, "spend should be right-skewed"
    assert (activity.loc[activity["spend_30d"] > 0, "avg_order_value"] > 0).all()
    assert profiles["age"].between(18, 90).all()
    assert (profiles["tenure_months"] >= 0).all()
    assert set(clean.labels[schema.LABEL].unique()) == {0, 1}
    assert snapshot[schema.PROBABILITY].between(0, 1, inclusive="neither").all()
    assert clean.labels[schema.TIMESTAMP].dt.tz is not None


def test_activity_correlates_with_plan_and_engagement(clean: ChurnData) -> None:
    """Activity reflects the latent engagement (persistent per customer) and the plan.

    Proves: a customer's sessions in the first and second half of the window correlate, and
    premium customers spend more per order than basic ones. Cannot prove the exact
    documented coefficients (they are latent and only observed through noise).
    """
    activity = clean.activity
    mid = pd.Timestamp("2024-04-01", tz="UTC")
    early = activity[activity[schema.TIMESTAMP] < mid].groupby(schema.ENTITY)["sessions_7d"].mean()
    late = activity[activity[schema.TIMESTAMP] >= mid].groupby(schema.ENTITY)["sessions_7d"].mean()
    both = pd.concat([early, late], axis=1, join="inner")
    assert both.corr().iloc[0, 1] > 0.5
    snap = clean.snapshot.dropna(subset=["avg_order_value"])
    snap = snap[snap["avg_order_value"] > 0]
    by_plan = snap.groupby("plan")["avg_order_value"].mean()
    assert by_plan["premium"] > by_plan["standard"] > by_plan["basic"]


def test_profiles_are_slowly_changing(clean: ChurnData, base_config: GeneratorConfig) -> None:
    """Profile rows are a signup row plus occasional plan reviews that change the plan.

    Proves: the first period carries every customer that signed up before its end, few rows
    per customer, consecutive rows of a customer always differ in plan, region is static,
    tenure grows. Cannot prove the review gap distribution beyond these bounds.
    """
    profiles = clean.profiles
    per_customer = profiles.groupby(schema.ENTITY).size()
    assert profiles[schema.ENTITY].nunique() > 0.8 * base_config.n_customers
    assert per_customer.median() <= 3
    assert per_customer.max() <= 12
    grouped = profiles.groupby(schema.ENTITY)
    assert (grouped["region"].nunique() == 1).all()
    previous_plan = grouped["plan"].shift()
    changed = profiles.loc[previous_plan.notna()]
    assert (changed["plan"] != previous_plan.dropna()).all()
    assert (grouped["tenure_months"].diff().dropna() >= 0).all()
    first_rows = profiles.drop_duplicates(schema.ENTITY)
    assert (first_rows["tenure_months"] == 0).all(), "the first row of a customer is its signup"
    assert set(profiles["plan"]) == set(schema.PLANS)


def test_labels_never_precede_signup_plus_warmup(
    clean: ChurnData, base_config: GeneratorConfig
) -> None:
    """Every label row is at least ``warmup_days`` after the customer's signup row.

    Proves the warm-up and that no label exists for a customer before it exists, for the
    first period (which holds every signup). Cannot prove it for customers whose signup row
    lies in another period's file.
    """
    signup = clean.profiles.groupby(schema.ENTITY)[schema.TIMESTAMP].min()
    labels = clean.labels.join(signup.rename("signup"), on=schema.ENTITY)
    assert labels["signup"].notna().all()
    warmup = pd.Timedelta(days=base_config.warmup_days)
    assert (labels[schema.TIMESTAMP] >= labels["signup"] + warmup).all()
    assert labels[schema.TIMESTAMP].between(base_config.start, base_config.end, "left").all()


def test_quiet_customers_give_ttl_nulls(clean: ChurnData) -> None:
    """Some customers go quiet for more than the 30-day activity TTL.

    Proves: activity gaps > 30 days exist, and a plausible share (2-15 %) of label rows gets
    all-null activity in the snapshot, with profile features still present. Cannot prove a
    Feast retrieval returns these rows (the snapshot test and get_features tests do).
    """
    gaps = clean.activity.groupby(schema.ENTITY)[schema.TIMESTAMP].diff()
    assert (gaps > pd.Timedelta(days=30)).sum() > 0
    snapshot = clean.snapshot
    null_activity = snapshot[list(schema.ACTIVITY_FEATURES)].isna().all(axis=1)
    partly_null = snapshot[list(schema.ACTIVITY_FEATURES)].isna().any(axis=1)
    assert (null_activity == partly_null).all(), "without drift activity is null as a whole"
    assert 0.02 < null_activity.mean() < 0.15
    assert snapshot.loc[null_activity, list(schema.PROFILE_FEATURES)].notna().all().all()
    assert clean.summary["activity_ttl_null_rate"] == pytest.approx(null_activity.mean(), 1e-5)
    churn_quiet = snapshot.loc[null_activity, schema.LABEL].mean()
    assert churn_quiet > snapshot.loc[~null_activity, schema.LABEL].mean()
