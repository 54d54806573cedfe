"""check_drift core on controlled windows: what is flagged, what is not, and why."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from drift_data import CATEGORICAL, NUMERIC, churn_frame

from churn_data.schema import DRIFT_ROLES
from components._contract import finite_metrics
from components._drift_reference import build_reference, load_reference_dir
from components.check_drift.core import (
    CHECKS,
    STATUS_DRIFT,
    STATUS_INSUFFICIENT,
    STATUS_NO_DRIFT,
    DriftParams,
    check_drift,
    numeric_bin_labels,
    numeric_histogram,
    psi,
)

ALL_CHECKS = DriftParams(**DRIFT_ROLES, checks=CHECKS)


def test_no_drift_window_is_not_flagged(reference, predict_fn):
    """A fresh window from the reference's own distribution raises no check.

    Proves: with every check on (feature, PSI, prediction, multivariate,
    performance) one seeded same-distribution window of 2,000 rows gives status
    no_drift and no drifted feature. Cannot prove the false-alarm *rate*: that is
    bench/drift.py's job over many seeds.
    """
    report = check_drift(churn_frame(2000, seed=11), reference, ALL_CHECKS, predict_fn)

    assert report.status == STATUS_NO_DRIFT
    assert report.drift_detected is False
    assert report.drifted_features == []
    assert report.prediction is not None
    assert not report.prediction.drifted
    assert report.multivariate is not None
    assert not report.multivariate.drifted
    assert report.performance is not None
    assert not report.performance.degraded
    assert report.performance.current_roc_auc is not None


@pytest.mark.parametrize("correction", ["bonferroni", "fdr"])
def test_covariate_shift_is_detected_and_names_the_feature(reference, predict_fn, correction):
    """Shifting one numeric feature flags exactly that feature, under both corrections.

    Proves: age shifted by +6 (half a standard deviation) is drifted with a KS
    reason, ranks most severe, and no other feature is flagged; the domain
    classifier relies on age most. Cannot prove the smallest detectable shift
    (see the benchmark).
    """
    params = DriftParams(**DRIFT_ROLES, correction=correction, checks=CHECKS)
    report = check_drift(churn_frame(2000, seed=12, age_shift=6.0), reference, params, predict_fn)

    assert report.drift_detected is True
    assert report.status == STATUS_DRIFT
    assert report.drifted_features == ["age"]
    age = report.features_by_severity()[0]
    assert age.name == "age"
    assert any(r.startswith("KS p=") and correction in r for r in age.reasons)
    assert next(iter(report.multivariate.feature_importances)) == "age"
    assert report.share_drifted == pytest.approx(1 / len(report.features))


def test_new_category_is_detected_and_reported(reference, predict_fn):
    """A plan value never seen in training is flagged and named.

    Proves: 10 % of rows with plan="family" make plan drift (Chi2), and the unseen
    value and its row count appear on the feature and in the messages. Cannot prove
    anything about categories that also never occur in the window.
    """
    report = check_drift(
        churn_frame(2000, seed=13, new_plan_share=0.1),
        reference,
        DriftParams(**DRIFT_ROLES),
        predict_fn,
    )

    assert report.drift_detected is True
    plan = next(f for f in report.features if f.name == "plan")
    assert plan.drifted is True
    assert list(plan.unseen_categories) == ["family"]
    assert 150 < plan.unseen_categories["family"] < 250
    assert any("unseen categories ['family']" in r for r in plan.reasons)
    assert any("plan:" in m and "family" in m for m in report.messages)
    assert "<unseen>" in plan.bins


def test_a_single_unseen_row_is_reported_but_not_an_alarm(reference, predict_fn):
    """One unseen category value in 2,000 rows is reported, not treated as drift.

    Proves: the unseen value is listed on the feature while the Chi2 test (the
    decision) stays quiet. Cannot prove where the line is in general: that depends
    on the window size and the level.
    """
    window = churn_frame(2000, seed=14)
    window.loc[0, "plan"] = "enterprise"
    report = check_drift(window, reference, DriftParams(**DRIFT_ROLES), predict_fn)

    plan = next(f for f in report.features if f.name == "plan")
    assert plan.unseen_categories == {"enterprise": 1}
    assert plan.drifted is False
    assert report.drift_detected is False


def test_missing_columns_raise_naming_each_column(reference, predict_fn):
    """A window without some reference features fails loudly, naming all of them.

    Proves: the error lists every missing column, before any statistics run.
    Cannot prove anything about columns the reference does not know (those are ignored).
    """
    window = churn_frame(1000, seed=15).drop(columns=["age", "region"])

    with pytest.raises(ValueError, match=r"missing feature columns \['region', 'age'\]"):
        check_drift(window, reference, DriftParams(**DRIFT_ROLES), predict_fn)


def test_non_numeric_values_in_a_numeric_feature_raise(reference, predict_fn):
    """Text in a numeric feature fails with the column's name instead of a numpy error.

    Proves: the message names the column. Cannot prove every malformed value is caught
    (only what pandas cannot parse as a number).
    """
    window = churn_frame(1000, seed=16)
    window["age"] = window["age"].astype(object)
    window.loc[3, "age"] = "forty"

    with pytest.raises(ValueError, match="numeric feature 'age'"):
        check_drift(window, reference, DriftParams(**DRIFT_ROLES), predict_fn)


def test_small_window_gives_insufficient_data_not_a_verdict(reference, predict_fn):
    """A window below min_sample_size is reported as insufficient_data, never as drift.

    Proves: even a heavily shifted 100-row window gives drift_detected False and a
    message with the counts, and no statistics. Cannot prove min_sample_size=500 is
    the right floor for every feature set (see the module docstring for the PSI reasoning).
    """
    window = churn_frame(100, seed=17, age_shift=30.0)
    report = check_drift(
        window, reference, DriftParams(**DRIFT_ROLES, min_sample_size=500), predict_fn
    )

    assert report.status == STATUS_INSUFFICIENT
    assert report.drift_detected is False
    assert report.features == []
    assert "100 rows" in report.messages[0]
    assert "min_sample_size=500" in report.messages[0]


def test_checks_that_score_need_a_predict_fn(reference):
    """Asking for prediction or performance checks without the model is an error.

    Proves: the error names the checks that need it; feature-only checks run without
    a model. Cannot prove the given predict_fn is the champion's.
    """
    with pytest.raises(ValueError, match=r"\['prediction', 'performance'\] need"):
        check_drift(churn_frame(600, seed=18), reference, DriftParams(**DRIFT_ROLES))
    report = check_drift(
        churn_frame(600, seed=18), reference, DriftParams(**DRIFT_ROLES, checks=("feature",))
    )
    assert report.prediction is None
    assert report.performance is None


def test_prediction_drift_on_scores(reference, predict_fn):
    """A shift in a feature the model weighs heavily moves its scores; the KS on scores sees it.

    Proves: with only the prediction check on, halving sessions_7d flags prediction
    drift (mean score rises), while a same-distribution window does not. Cannot
    prove the model is still accurate (that is the performance check).
    """
    params = DriftParams(**DRIFT_ROLES, checks=("prediction",))
    shifted = check_drift(
        churn_frame(1500, seed=19, sessions_scale=0.5), reference, params, predict_fn
    )
    stable = check_drift(churn_frame(1500, seed=20), reference, params, predict_fn)

    assert shifted.prediction.drifted is True
    assert shifted.prediction.current_mean > shifted.prediction.reference_mean + 0.05
    assert shifted.drift_detected is True
    assert shifted.features[0].drifted is False
    assert stable.prediction.drifted is False
    assert stable.drift_detected is False


def test_concept_drift_shows_as_performance_drop_only(reference, predict_fn):
    """With labels, a changed label function is caught by ROC AUC although features did not move.

    Proves: a window whose label logit is negated has unchanged features (nothing
    flagged by KS/Chi2/PSI) yet the champion's window ROC AUC falls far below its
    holdout value, so drift is detected with a performance reason. Cannot prove
    anything when the window has no labels (the check then says so and stays quiet).
    """
    report = check_drift(
        churn_frame(2000, seed=21, concept_flip=True),
        reference,
        DriftParams(**DRIFT_ROLES),
        predict_fn,
    )

    assert report.drifted_features == []
    assert report.performance.degraded is True
    assert report.performance.current_roc_auc < reference.holdout_roc_auc - 0.2
    assert report.performance.upper_bound < reference.holdout_roc_auc - 0.05
    assert report.drift_detected is True
    assert any(r.startswith("performance degraded") for r in report.reasons)

    unlabelled = churn_frame(2000, seed=21, concept_flip=True).drop(columns="churned")
    quiet = check_drift(unlabelled, reference, DriftParams(**DRIFT_ROLES), predict_fn)
    assert quiet.performance.degraded is False
    assert quiet.drift_detected is False
    assert "label column 'churned' is not in the window" in quiet.performance.note


def test_constant_and_all_null_columns_do_not_raise_false_alarms(tmp_path, predict_fn):
    """Degenerate columns are reported as notes, tested without crashing, and not flagged.

    Proves: a numeric column constant in reference and window, a numeric column
    that is all null in both, and a single-valued categorical give p=1 / PSI=0, a
    note each, and no drift. Cannot prove a degenerate column that *changes* is
    ignored (it is drift and gets flagged, which the last assertion shows).
    """
    holdout = churn_frame(1500, seed=22).assign(promo=0.0, legacy_score=np.nan, country="nl")
    ref_dir = build_reference(
        holdout,
        predict_fn(holdout),
        [*CATEGORICAL, "country"],
        [*NUMERIC, "promo", "legacy_score"],
        sample_size=1000,
        seed=0,
        out_dir=tmp_path / "ref",
    )
    ref = load_reference_dir(ref_dir)
    window = churn_frame(1000, seed=23).assign(promo=0.0, legacy_score=np.nan, country="nl")
    report = check_drift(window, ref, DriftParams(**DRIFT_ROLES, checks=CHECKS), predict_fn)

    assert report.drift_detected is False
    by_name = {f.name: f for f in report.features}
    for name in ("promo", "legacy_score", "country"):
        assert by_name[name].p_value == 1.0
        assert by_name[name].psi == 0.0
        assert by_name[name].drifted is False
    assert by_name["promo"].notes == ["constant in reference", "constant in window"]
    assert by_name["legacy_score"].notes == ["all null in reference", "all null in window"]
    assert "country: constant in window" in report.messages

    filled = window.assign(legacy_score=1.0)
    assert check_drift(
        filled, ref, DriftParams(**DRIFT_ROLES, checks=("feature",))
    ).drifted_features == ["legacy_score"]


def test_missingness_surge_is_drift_with_the_null_share_as_reason(reference, predict_fn):
    """Nulls count as their own value: a jump in missing values is a distribution change.

    Proves: 30 % nulls in spend_30d (none in the reference) flag spend_30d with a
    null-share reason and a null PSI bin. Cannot prove a small rise in nulls is
    caught (that is a power question).
    """
    window = churn_frame(2000, seed=24)
    window.loc[window.sample(frac=0.3, random_state=0).index, "spend_30d"] = np.nan
    report = check_drift(window, reference, DriftParams(**DRIFT_ROLES, checks=("feature", "psi")))

    spend = next(f for f in report.features if f.name == "spend_30d")
    assert report.drifted_features == ["spend_30d"]
    assert spend.null_share_current == pytest.approx(0.3)
    assert any(r.startswith("null share 0.0% -> 30.0%") for r in spend.reasons)
    assert spend.bins[-1] == "<null>"
    assert spend.current_share[-1] == pytest.approx(0.3)


def test_psi_by_hand():
    """PSI matches a hand computation, including the epsilon rule for empty bins.

    Proves: 50/50 -> 25/75 gives 0.25*ln 2 + 0.25*ln 1.5; a bin empty in the
    reference uses 1e-4; a bin empty on both sides adds 0; identical histograms give 0.
    Cannot prove the choice of bins is good (that is quantile_edges' job).
    """
    assert psi([50, 50], [25, 75]) == pytest.approx(0.25 * math.log(2) + 0.25 * math.log(1.5))
    assert psi([100, 0], [50, 50]) == pytest.approx(
        (0.5 - 1.0) * math.log(0.5 / 1.0) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    )
    assert psi([30, 70, 0], [30, 70, 0]) == 0.0
    assert psi([1, 3, 0], [2, 6, 0]) == 0.0
    with pytest.raises(ValueError, match="non-empty histograms"):
        psi([0, 0], [1, 1])


def test_numeric_bins_are_right_closed_with_a_null_bin():
    """Values land in (lo, hi] bins and nulls in their own last bin.

    Proves: with edges [1, 2], values 1 and 2 fall in the bin that ends at them,
    3 goes above the last edge, NaN to the null bin; labels match. Cannot prove
    anything about the edges' quantile placement.
    """
    counts = numeric_histogram(np.array([0.5, 1.0, 1.5, 2.0, 3.0, np.nan]), [1.0, 2.0])

    assert counts.tolist() == [2, 2, 1, 1]
    assert numeric_bin_labels([1.0, 2.0]) == ["<= 1", "(1, 2]", "> 2", "<null>"]


def test_report_is_json_safe_deterministic_and_has_finite_metrics(reference, predict_fn):
    """The report serialises as strict JSON and the same input gives the same report.

    Proves: the report survives json.dumps(allow_nan=False); two runs with the same
    seed (including the domain classifier) give identical dicts; the published
    (finite) metrics include per-feature p-value, statistic and PSI plus share_drifted.
    Cannot prove stability across library versions.
    """
    window = churn_frame(1000, seed=25, age_shift=4.0)
    first = check_drift(window, reference, ALL_CHECKS, predict_fn).report()
    second = check_drift(window, reference, ALL_CHECKS, predict_fn)

    assert json.loads(json.dumps(first, allow_nan=False)) == second.report()
    metrics = finite_metrics(second.metrics())
    assert all(math.isfinite(v) for v in metrics.values())
    for name in ("age", "plan"):
        assert {f"p_value_{name}", f"statistic_{name}", f"psi_{name}"} <= set(metrics)
    assert metrics["share_drifted"] == second.share_drifted


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"correction": "holm"}, "correction"),
        ({"checks": ("feature", "vibes")}, "checks"),
        ({"min_sample_size": 0}, "min_sample_size"),
        ({"psi_threshold": 0}, "psi_threshold"),
        ({"performance_tolerance": -0.1}, "performance_tolerance"),
    ],
)
def test_bad_parameters_are_rejected_by_name(kwargs, message):
    """Invalid parameters fail at construction with the parameter's name.

    Proves: each listed bad value raises ValueError naming the parameter. Cannot
    prove the valid ranges are the useful ones.
    """
    with pytest.raises(ValueError, match=message):
        DriftParams(**DRIFT_ROLES, **kwargs)


def test_alpha_is_shared_by_the_test_based_checks():
    """The level of each hypothesis-test check is alpha over the number of such checks.

    Proves: feature, prediction, multivariate and performance share alpha equally,
    PSI (an effect-size rule) takes no share. Cannot prove the overall false-alarm
    rate (the benchmark measures it).
    """
    assert DriftParams(**DRIFT_ROLES, alpha=0.06, checks=CHECKS).alpha_per_test == pytest.approx(
        0.015
    )
    assert (
        DriftParams(**DRIFT_ROLES, checks=("feature", "psi", "performance")).alpha_per_test == 0.025
    )
    assert DriftParams(**DRIFT_ROLES, checks=("feature", "psi")).alpha_per_test == 0.05
    assert DriftParams(**DRIFT_ROLES, checks=["feature", "feature"]).checks == ("feature",)


def test_window_extra_columns_and_categorical_nulls_are_handled(reference, predict_fn):
    """Extra columns are ignored and categorical nulls get their own code, not 'unseen'.

    Proves: a window with an unknown extra column and a few null plans checks fine;
    nulls are counted as null share, not as unseen categories. Cannot prove how the
    champion model itself treats null categories.
    """
    window = churn_frame(1000, seed=26).assign(extra=1)
    window.loc[:9, "plan"] = None
    report = check_drift(window, reference, DriftParams(**DRIFT_ROLES, checks=("feature", "psi")))

    plan = next(f for f in report.features if f.name == "plan")
    assert plan.unseen_categories == {}
    assert plan.null_share_current == pytest.approx(0.01)
    assert isinstance(report.report()["features"], list)
    assert pd.Series([f.name for f in report.features]).is_unique


def test_repeated_customers_are_checked_once_at_their_latest_row(reference, predict_fn):
    """A window with several rows per customer is reduced to each customer's latest row.

    Proves: 600 customers with 3 rows each (the latest row last in time but first in
    the frame) are checked as 600 rows, the report says so, and the kept rows are the
    latest ones (their age is the shifted one, so age drifts). Cannot prove one row
    per customer removes every dependence between rows (bench/drift.py measures the
    resulting false-alarm rate).
    """
    base = churn_frame(600, seed=27)
    stamps = pd.Timestamp("2024-06-01", tz="UTC") + pd.to_timedelta(np.arange(600), "min")
    old = [base.assign(event_timestamp=stamps - pd.Timedelta(days=d)) for d in (2, 1)]
    latest = churn_frame(600, seed=27, age_shift=8.0).assign(event_timestamp=stamps)
    window = pd.concat([latest, *old], ignore_index=True)
    report = check_drift(window, reference, DriftParams(**DRIFT_ROLES, checks=("feature",)))

    assert report.n_window_rows == 1800
    assert report.n_current == 600
    assert "checked the latest row of each customer_id: 1800 rows -> 600" in report.messages
    assert report.drifted_features == ["age"]
    every_row = DriftParams(**{**DRIFT_ROLES, "entity_column": ""}, checks=("feature",))
    assert check_drift(window, reference, every_row).n_current == 1800
