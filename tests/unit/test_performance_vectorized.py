"""The vectorized holdout metrics and bootstrap of `components._performance`.

The gate's intervals score hundreds of resamples at once with these functions instead of
calling scikit-learn once per resample; they must give scikit-learn's numbers exactly.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import bootstrap
from sklearn import metrics as skm

from components import _performance as perf

THRESHOLD = 0.4


def resampled(rows: int = 300, resamples: int = 40, seed: int = 3) -> tuple:
    """(labels, scores) of shape (resamples, rows): tied scores, some extreme ones."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, (resamples, rows))
    score = np.clip(np.round(rng.uniform(0, 1, (resamples, rows)) * 0.7 + 0.3 * label, 1), 0, 1)
    score[:, :3] = [0.0, 1.0, 1e-17]  # log loss must clip as scikit-learn does
    return label, score


@pytest.mark.parametrize("name", perf.METRIC_DIRECTIONS)
def test_each_vectorized_metric_equals_scikit_learn_on_every_row(name: str) -> None:
    """Every vectorized metric equals its scikit-learn counterpart on each resample.

    Proves: for a (resamples x rows) matrix with heavy ties (scores rounded to 0.1), exact
    0 and 1 scores and an all-negative row at the threshold's edge, each function of
    `vectorized_metric_functions` matches the `metric_functions` (scikit-learn) value of
    every row to 1e-12, and the 1-D call returns a float.
    Cannot prove equality on inputs scikit-learn would reject (NaN scores): callers
    never pass them (the holdout scores are checked before).
    """
    label, score = resampled()
    label[0] = 0  # one row without positives: recall / precision's zero_division path
    vectorized = perf.vectorized_metric_functions(THRESHOLD)[name]
    reference = perf.metric_functions(THRESHOLD)[name]
    got = vectorized(label, score, axis=-1)
    for row in range(1 if name in ("roc_auc", "pr_auc") else 0, len(label)):
        assert got[row] == pytest.approx(reference(label[row], score[row]), abs=1e-12), row
    assert isinstance(vectorized(label[1], score[1]), float)


def test_rank_auc_and_average_precision_are_nan_without_both_classes() -> None:
    """One class in a resample gives NaN (the bootstrap drops the bound), not an error.

    Proves: ROC AUC is NaN for all-positive and all-negative rows, PR AUC for rows
    without a positive; the other rows of the same call are unaffected.
    Cannot prove anything about intervals (see the bootstrap test).
    """
    label = np.array([[1, 1, 1, 1], [0, 0, 0, 0], [0, 1, 0, 1]])
    score = np.array([[0.1, 0.2, 0.3, 0.4]] * 3)
    auc = perf.rank_auc(label, score)
    assert np.isnan(auc[:2]).all()
    assert auc[2] == pytest.approx(skm.roc_auc_score(label[2], score[2]))
    ap = perf.average_precision(label, score)
    assert np.isnan(ap[1])
    assert ap[0] == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["roc_auc", "pr_auc", "log_loss", "f1"])
def test_bootstrap_interval_equals_scipy_with_scikit_learn(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The vectorized interval is scipy's bootstrap of the scikit-learn metric, bit for bit.

    Proves: `bootstrap_interval` with the vectorized metric gives the same percentile
    interval as `scipy.stats.bootstrap(vectorized=False)` calling scikit-learn once per
    resample with the same seed (the reference the gate used before), including when
    the resamples are scored in several batches (rows large enough to split them).
    Cannot prove the interval's coverage (a property of the percentile bootstrap).
    """
    rng = np.random.default_rng(11)
    rows = 2_500
    label = rng.integers(0, 2, rows)
    score = np.clip(rng.normal(0.35 + 0.3 * label, 0.2), 0, 1)
    monkeypatch.setattr(perf, "BOOTSTRAP_BATCH_VALUES", rows * 30)  # 7 batches of <= 30
    reference = perf.metric_functions(THRESHOLD)[name]
    expected = bootstrap(
        (label, score),
        reference,
        paired=True,
        vectorized=False,
        n_resamples=200,
        confidence_level=0.9,
        method="percentile",
        random_state=7,
    ).confidence_interval
    low, high = perf.bootstrap_interval(
        perf.vectorized_metric_functions(THRESHOLD)[name],
        (label, score),
        resamples=200,
        confidence=0.9,
        seed=7,
    )
    assert low == pytest.approx(expected.low, abs=1e-12)
    assert high == pytest.approx(expected.high, abs=1e-12)


def test_bootstrap_interval_of_a_paired_difference_and_degenerate_input() -> None:
    """A paired statistic over three arrays, and None bounds where no interval exists.

    Proves: the difference of two models' ROC AUC on the same resampled rows matches the
    per-resample scikit-learn reference; fewer than two rows, or a single label class,
    give (None, None) rather than an exception or a NaN in a JSON report.
    Cannot prove coverage.
    """
    rng = np.random.default_rng(5)
    label = rng.integers(0, 2, 400)
    first = rng.uniform(size=400) + 0.4 * label
    second = rng.uniform(size=400) + 0.2 * label

    def delta(y, a, b, axis=-1):
        return perf.rank_auc(y, a, axis=axis) - perf.rank_auc(y, b, axis=axis)

    def reference(y, a, b):
        return skm.roc_auc_score(y, a) - skm.roc_auc_score(y, b)

    settings = {"n_resamples": 100, "confidence_level": 0.95, "random_state": 2}
    expected = bootstrap(
        (label, first, second), reference, paired=True, vectorized=False,
        method="percentile", **settings,
    ).confidence_interval  # fmt: skip
    got = perf.bootstrap_interval(delta, (label, first, second), resamples=100,
                                  confidence=0.95, seed=2)  # fmt: skip
    assert got == pytest.approx((expected.low, expected.high), abs=1e-12)
    small = {"resamples": 50, "confidence": 0.95, "seed": 0}
    assert perf.bootstrap_interval(delta, (label[:1], first[:1], second[:1]), **small) == (
        None,
        None,
    )
    assert perf.bootstrap_interval(perf.rank_auc, (np.ones(30), first[:30]), **small) == (
        None,
        None,
    )
