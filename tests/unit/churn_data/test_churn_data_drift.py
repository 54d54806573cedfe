"""Each drift scenario changes what it claims after the drift start, and nothing before."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from churn_data import SCENARIOS, ChurnData, DriftScenario, churn_logit, schema
from churn_data.drift import REFERENCE_SD

FRAMES = ("profiles", "activity", "labels", "snapshot")
Rows = Callable[[pd.DataFrame], pd.DataFrame]


@pytest.fixture(scope="module")
def before(drift_start: pd.Timestamp) -> Rows:
    """The rows of a frame before the drift start."""
    return lambda frame: frame[frame[schema.TIMESTAMP] < drift_start].reset_index(drop=True)


@pytest.fixture(scope="module")
def after(drift_start: pd.Timestamp) -> Rows:
    """The rows of a frame at or after the drift start."""
    return lambda frame: frame[frame[schema.TIMESTAMP] >= drift_start].reset_index(drop=True)


def _odds(rate: float) -> float:
    return rate / (1 - rate)


@pytest.mark.parametrize("spec", [*SCENARIOS, "+".join(SCENARIOS)])
def test_rows_before_drift_start_are_untouched(
    clean: ChurnData, scenario_data: Callable[..., ChurnData], spec: str, before: Rows, after: Rows
) -> None:
    """Every row before the drift start equals the drift-free world's row, bit for bit.

    Proves drift draws come from separate streams and transforms are gated on the event
    time, for each scenario alone and all combined, in all four frames, and that something
    does change after the start. Cannot prove anything about drift starting mid-window in
    an appended period whose earlier rows came from another scenario.
    """
    drifted = scenario_data(spec)
    for name in FRAMES:
        pd.testing.assert_frame_equal(before(getattr(drifted, name)), before(getattr(clean, name)))
    assert not after(drifted.snapshot).equals(after(clean.snapshot))
    assert drifted.summary["before_drift"]["labels"] == len(before(clean.labels))


def test_covariate_shift_moves_chosen_features_by_magnitude_sd(
    clean: ChurnData, scenario_data: Callable[..., ChurnData], after: Rows
) -> None:
    """covariate_shift moves the chosen features' means by ~magnitude SD, others not at all.

    Proves: after the start sessions_7d and spend_30d move by 1.5 empirical SDs (+-0.1; the
    unit is the documented reference SD), unchosen features are identical, and the label
    relation is unchanged (churn_probability still equals the base formula on the shifted
    features). Cannot prove the effect for negative shifts of features piled at 0, which
    clipping damps (documented).
    """
    drifted = scenario_data("covariate_shift", magnitude=1.5)
    base_after, moved_after = after(clean.activity), after(drifted.activity)
    for feature in schema.ACTIVITY_FEATURES:
        delta = moved_after[feature].mean() - base_after[feature].mean()
        if feature in ("sessions_7d", "spend_30d"):
            assert delta / base_after[feature].std() == pytest.approx(1.5, abs=0.1)
            assert delta == pytest.approx(1.5 * REFERENCE_SD[feature], rel=0.02)
        else:
            pd.testing.assert_series_equal(moved_after[feature], base_after[feature])
    snapshot = drifted.snapshot
    expected = 1 / (1 + np.exp(-churn_logit(snapshot[list(schema.FEATURES)])))
    np.testing.assert_allclose(snapshot[schema.PROBABILITY], expected)


def test_covariate_shift_on_profile_feature(
    clean: ChurnData, scenario_data: Callable[..., ChurnData], after: Rows
) -> None:
    """A profile feature (age) can be shifted; it stays within 18-90.

    Proves profile rows after the start move by about the magnitude in SDs and the range
    holds. Cannot prove a large effect in snapshots, since most customers' latest profile row
    predates the start (profiles change slowly).
    """
    drifted = scenario_data("covariate_shift", shift_features=("age",), magnitude=-0.5)
    base_age, moved_age = after(clean.profiles)["age"], after(drifted.profiles)["age"]
    assert (moved_age.mean() - base_age.mean()) / base_age.std() == pytest.approx(-0.5, abs=0.1)
    assert drifted.profiles["age"].between(18, 90).all()


def test_new_category_appears_only_after_start(
    clean: ChurnData, scenario_data: Callable[..., ChurnData], before: Rows, after: Rows
) -> None:
    """new_category adds an unseen value at the configured rate, only after the start.

    Proves: the value is absent before, present in ~rate of the profile rows after (+-0.06),
    reaches the snapshot, and carries the documented new-category churn effect. Cannot prove
    how a model treats the unseen value (that is the consumer's problem to handle).
    """
    drifted = scenario_data("new_category", new_category_feature="plan", new_category_rate=0.4)
    assert "family" not in set(before(drifted.profiles)["plan"])
    share = (after(drifted.profiles)["plan"] == "family").mean()
    assert share == pytest.approx(0.4, abs=0.06)
    assert "family" not in set(clean.profiles["plan"])
    snapshot = after(drifted.snapshot)
    assert (snapshot["plan"] == "family").sum() > 0
    assert set(drifted.snapshot["plan"]) <= {*schema.PLANS, "family"}


def test_missingness_surge_nulls_chosen_features_at_rate(
    clean: ChurnData, scenario_data: Callable[..., ChurnData], before: Rows, after: Rows
) -> None:
    """missingness_surge nulls the chosen features at ~rate after the start; labels keep truth.

    Proves: null share of the chosen features after the start is rate +-0.03 and 0 before,
    other features keep their values, and the labels are identical to the drift-free ones
    (recording failed, the customers did not change). Cannot prove how downstream imputation
    behaves.
    """
    drifted = scenario_data("missingness_surge", missing_features=("spend_30d",), missing_rate=0.4)
    surge = after(drifted.activity)
    assert surge["spend_30d"].isna().mean() == pytest.approx(0.4, abs=0.03)
    assert before(drifted.activity)["spend_30d"].notna().all()
    for feature in set(schema.ACTIVITY_FEATURES) - {"spend_30d"}:
        pd.testing.assert_series_equal(surge[feature], after(clean.activity)[feature])
    pd.testing.assert_frame_equal(drifted.labels, clean.labels)
    assert after(drifted.snapshot)["spend_30d"].isna().mean() > 0.3


def test_label_shift_changes_prior_not_class_conditionals(
    clean: ChurnData, scenario_data: Callable[..., ChurnData], after: Rows
) -> None:
    """label_shift multiplies the churn odds by the factor while P(features | class) stays.

    Proves: after the start every churned row of the drift-free world is kept unchanged, the
    kept non-churned rows are a subset of the drift-free ones (~1/factor of them), the churn
    odds grow by ~factor, and churn_probability is shifted by log(factor) in logit. Cannot
    prove anything for factors below 1 beyond the symmetric construction.
    """
    factor = 2.5
    drifted = scenario_data("label_shift", churn_odds_factor=factor)
    base, shifted = after(clean.snapshot), after(drifted.snapshot)
    key = [schema.ENTITY, schema.TIMESTAMP]
    base_pos = base[base[schema.LABEL] == 1].reset_index(drop=True)
    shifted_pos = shifted[shifted[schema.LABEL] == 1].reset_index(drop=True)
    columns = list(schema.TRAINING_COLUMNS)
    pd.testing.assert_frame_equal(shifted_pos[columns], base_pos[columns])
    negatives = shifted[shifted[schema.LABEL] == 0]
    merged = negatives.merge(base, on=key, how="left", suffixes=("", "_base"), indicator=True)
    assert (merged["_merge"] == "both").all()
    kept = len(negatives) / (base[schema.LABEL] == 0).sum()
    assert kept == pytest.approx(1 / factor, abs=0.04)
    ratio = _odds(shifted[schema.LABEL].mean()) / _odds(base[schema.LABEL].mean())
    assert ratio == pytest.approx(factor, rel=0.15)
    logit_gap = np.log(_odds(shifted_pos[schema.PROBABILITY])) - np.log(
        _odds(base_pos[schema.PROBABILITY])
    )
    np.testing.assert_allclose(logit_gap, np.log(factor))


def test_concept_drift_changes_relation_not_features(
    clean: ChurnData, scenario_data: Callable[..., ChurnData], after: Rows
) -> None:
    """concept_drift changes how labels depend on features; features are untouched.

    Proves: profiles, activity and the snapshot's features are identical to the drift-free
    world; after the start the sessions-churn correlation flips from negative to positive
    and premium goes from the lowest to the highest churn plan, while the churn rate stays
    within 4 points (the documented drifted intercept keeps the prior). Cannot prove a model
    trained before the start degrades by a given amount (check_drift tests measure that).
    """
    drifted = scenario_data("concept_drift")
    pd.testing.assert_frame_equal(drifted.profiles, clean.profiles)
    pd.testing.assert_frame_equal(drifted.activity, clean.activity)
    features = [schema.ENTITY, schema.TIMESTAMP, *schema.FEATURES]
    pd.testing.assert_frame_equal(drifted.snapshot[features], clean.snapshot[features])

    def relation(snapshot: pd.DataFrame) -> tuple[float, pd.Series]:
        sessions = np.log1p(snapshot["sessions_7d"].fillna(0))
        corr = np.corrcoef(snapshot[schema.LABEL], sessions)[0, 1]
        return corr, snapshot.groupby("plan")[schema.LABEL].mean()

    base_corr, base_plan = relation(after(clean.snapshot))
    drift_corr, drift_plan = relation(after(drifted.snapshot))
    assert base_corr < -0.2
    assert drift_corr > 0.05
    assert base_plan.idxmin() == "premium"
    assert drift_plan.idxmax() == "premium"
    rate_after = drifted.summary["after_drift"]["churn_rate"]
    assert rate_after == pytest.approx(clean.summary["churn_rate"], abs=0.04)


def test_combined_scenario_applies_both(
    clean: ChurnData,
    scenario_data: Callable[..., ChurnData],
    after: Rows,
    drift_start: pd.Timestamp,
) -> None:
    """The monitoring demo default, covariate_shift+concept_drift, applies both effects.

    Proves: the shift is present in activity and the label relation changed on the shifted
    features (churn_probability differs from the base formula after the start only). Cannot
    prove the two effects are separable by a detector.
    """
    drifted = scenario_data("covariate_shift+concept_drift")
    assert drifted.summary["config"]["scenario"]["name"] == "covariate_shift+concept_drift"
    shift = (
        after(drifted.activity)["sessions_7d"].mean() - after(clean.activity)["sessions_7d"].mean()
    )
    assert shift == pytest.approx(REFERENCE_SD["sessions_7d"], rel=0.05)
    snapshot = drifted.snapshot
    base_p = 1 / (1 + np.exp(-churn_logit(snapshot[list(schema.FEATURES)])))
    late = (snapshot[schema.TIMESTAMP] >= drift_start).to_numpy()
    np.testing.assert_allclose(snapshot.loc[~late, schema.PROBABILITY], base_p[~late])
    assert np.abs(snapshot.loc[late, schema.PROBABILITY] - base_p[late]).mean() > 0.05


def test_scenario_specs_are_validated() -> None:
    """Bad scenario specs fail with a message naming the problem.

    Proves parse accepts "none" and "+"-joined names (order-insensitive, canonical order),
    and rejects unknown names, "none" combined, a missing start, non-numeric shift features,
    an existing category as "new", and out-of-range rates. Cannot enumerate every bad input.
    """
    assert DriftScenario.parse("none").kinds == ()
    combined = DriftScenario.parse("concept_drift+covariate_shift", start="2024-01-01")
    assert combined.name == "covariate_shift+concept_drift"
    assert combined.start == pd.Timestamp("2024-01-01", tz="UTC")
    with pytest.raises(ValueError, match="unknown drift scenario"):
        DriftScenario.parse("covariate", start="2024-01-01")
    with pytest.raises(ValueError, match="'none' cannot be combined"):
        DriftScenario.parse("none+label_shift", start="2024-01-01")
    with pytest.raises(ValueError, match="drift start"):
        DriftScenario.parse("label_shift")
    with pytest.raises(ValueError, match="shift_features"):
        DriftScenario.parse("covariate_shift", start="2024-01-01", shift_features=("plan",))
    with pytest.raises(ValueError, match="already exists"):
        DriftScenario.parse("new_category", start="2024-01-01", new_category_value="web")
    with pytest.raises(ValueError, match="missing_rate"):
        DriftScenario.parse("missingness_surge", start="2024-01-01", missing_rate=1.5)


def test_reference_sds_match_the_drift_free_data(clean: ChurnData) -> None:
    """REFERENCE_SD, the unit of covariate_shift magnitude, is within 15 % of the data's SD.

    Proves the documented "magnitude in standard deviations" holds for the default world
    (activity SDs over activity rows, profile SDs over profile rows). Cannot prove it for
    other cadences or very different windows, where the SDs move somewhat.
    """
    for feature in schema.NUMERIC_FEATURES:
        frame = clean.activity if feature in schema.ACTIVITY_FEATURES else clean.profiles
        assert frame[feature].std() == pytest.approx(REFERENCE_SD[feature], rel=0.15), feature
