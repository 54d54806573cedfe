"""CBPE (components.estimate_performance.core) against the churn generator's known truth.

The generator's ``churn_probability`` is exactly P(churned | features): perfectly
calibrated scores, so CBPE's interval must cover the realized metric at about its
nominal rate on undrifted windows, and must miss under concept drift when the scores
still follow the old relationship.
"""

import numpy as np
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from churn_data import BASE_COEFFICIENTS, DriftScenario, GeneratorConfig, churn_logit, generate
from components.estimate_performance.core import (
    STATUS_ESTIMATED,
    STATUS_NOT_ESTIMABLE,
    EstimationParams,
    cbpe,
    estimate,
    expected_confusion,
)

CONFIG = GeneratorConfig(n_customers=6000, start="2024-01-01", end="2024-07-01", seed=11)


@pytest.fixture(scope="module")
def undrifted():
    """A no-drift window's snapshot (features, sampled labels, true probability)."""
    return generate(CONFIG).snapshot


def test_interval_covers_realized_auc_and_log_loss_on_undrifted_windows(undrifted):
    """On 12 disjoint ~800-row chunks of a no-drift window, the 90 % intervals cover.

    Proves: with calibrated scores, the estimated ROC AUC and log loss intervals contain
    the realized value (sklearn on the sampled labels) in at least 9 of 12 chunks (the
    nominal 90 % gives 10.8 on average; 9 fails with probability ~3 % if the intervals
    are right), and the point estimates are within 0.03 AUC on average. Cannot prove:
    coverage for a real model's scores, which are only as calibrated as its holdout ECE.
    """
    shuffled = undrifted.sample(frac=1.0, random_state=0)
    chunks = [shuffled.iloc[rows] for rows in np.array_split(np.arange(len(shuffled)), 12)]
    auc_hits = loss_hits = 0
    errors = []
    for i, chunk in enumerate(chunks):
        p, y = chunk["churn_probability"].to_numpy(), chunk["churned"].to_numpy()
        result = cbpe(p, samples=400, seed=i)["metrics"]
        auc, loss = roc_auc_score(y, p), log_loss(y, p)
        auc_hits += result["roc_auc"]["low"] <= auc <= result["roc_auc"]["high"]
        loss_hits += result["log_loss"]["low"] <= loss <= result["log_loss"]["high"]
        errors.append(abs(result["roc_auc"]["value"] - auc))
    assert auc_hits >= 9, auc_hits
    assert loss_hits >= 9, loss_hits
    assert np.mean(errors) < 0.03


def test_concept_drift_is_invisible_to_the_estimate(undrifted):
    """Under concept drift, scores from the old coefficients estimate the old AUC.

    Proves the limit the module docstring states: the realized ROC AUC of the pre-drift
    probability on a concept-drifted window falls below the estimate's interval (the
    estimate still reads ~the undrifted AUC). Cannot prove: how far it falls for other
    drift strengths (bench/performance_estimation.py measures that).
    """
    drift = DriftScenario.parse("concept_drift", start="2024-07-01")
    later = generate(CONFIG.later_period("2024-07-01", "2024-10-01", drift)).snapshot
    stale = 1 / (1 + np.exp(-churn_logit(later, BASE_COEFFICIENTS)))
    result = cbpe(stale, samples=400)["metrics"]["roc_auc"]
    realized = roc_auc_score(later["churned"], stale)
    assert realized < result["low"] - 0.05, (realized, result)


def test_expected_confusion_matches_the_mean_of_sampled_confusions():
    """The expected confusion matrix equals the average over label draws (law of large numbers).

    Proves: E[TP], E[FP], E[FN], E[TN] are the sums of s / (1 - s) on each side of the
    threshold, checked against 4,000 simulated label vectors (within 1 %). Cannot prove:
    anything about a real model's calibration.
    """
    rng = np.random.default_rng(5)
    p = rng.beta(1, 4, 500)
    expected = expected_confusion(p, 0.3)
    draws = rng.random((4000, p.size)) < p
    predicted = p >= 0.3
    tp = (draws & predicted).sum(axis=1).mean()
    fn = (draws & ~predicted).sum(axis=1).mean()
    assert expected["tp"] == pytest.approx(tp, rel=0.01)
    assert expected["fn"] == pytest.approx(fn, rel=0.01)
    assert expected["tp"] + expected["fp"] == predicted.sum()
    assert expected["fn"] + expected["tn"] == (~predicted).sum()


def test_refuses_when_the_holdout_calibration_error_is_too_high():
    """Holdout ECE above the parameter (or unknown) gives not_estimable and no numbers.

    Proves: the refusal is a status with a reason naming the ECE, never a number, and the
    same scores are estimated when the ECE is under the limit; the component's return
    value is that status. Cannot prove: that the
    default limit (0.05) is the right one for every model.
    """
    p = np.random.default_rng(0).uniform(0, 1, 300)
    params = EstimationParams(max_holdout_ece=0.05)
    bad = estimate(p, {"version": "1", "metrics": {"ece": 0.08, "roc_auc": 0.8}}, params)
    assert bad.status == STATUS_NOT_ESTIMABLE
    assert bad.estimate is None
    assert "holdout ECE 0.0800 > max_holdout_ece 0.05" in bad.reason
    assert bad.metrics() == {"rows": 300.0}
    assert bad.return_value() == "not_estimable"
    assert estimate(p, {"version": "1", "metrics": {}}, params).status == STATUS_NOT_ESTIMABLE
    good = estimate(p, {"version": "1", "metrics": {"ece": 0.02, "roc_auc": 0.8}}, params)
    assert good.status == STATUS_ESTIMATED
    assert "estimated_roc_auc" in good.metrics()
    assert good.return_value() == "estimated"
