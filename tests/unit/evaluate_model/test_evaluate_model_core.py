"""Unit tests of `components.evaluate_model.core`: metrics, calibration, slices, the gate."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pytest
from sklearn import metrics as skm

from components import _mlflow as mlf
from components.evaluate_model import core
from components.register_model import core as registry


def evaluate(*args, **kwargs):
    """`core.evaluate` with the churn roles (label ``churned``, slices by ``plan``)."""
    return core.evaluate(*args, **{"label_column": "churned", "slice_features": ["plan"], **kwargs})


@pytest.fixture(scope="module")
def arrays() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    label = rng.integers(0, 2, 500)
    probability = np.clip(0.35 * label + rng.uniform(0, 0.65, 500), 0, 1)
    return label, probability


def test_binary_metrics_equal_sklearn(arrays) -> None:
    """The holdout metrics are scikit-learn's own numbers.

    Proves: ROC AUC, PR AUC (average precision), F1 / precision / recall at the
    threshold, log loss and Brier equal scikit-learn's functions on the same arrays.
    Cannot prove the metric choice is right for the business (that is the gate's config).
    """
    label, probability = arrays
    got = core.binary_metrics(label, probability, threshold=0.4)
    predicted = (probability >= 0.4).astype(int)
    assert got["roc_auc"] == skm.roc_auc_score(label, probability)
    assert got["pr_auc"] == skm.average_precision_score(label, probability)
    assert got["f1"] == skm.f1_score(label, predicted)
    assert got["precision"] == skm.precision_score(label, predicted)
    assert got["recall"] == skm.recall_score(label, predicted)
    assert got["log_loss"] == skm.log_loss(label, probability)
    assert got["brier"] == skm.brier_score_loss(label, probability)
    assert got["rows"] == 500
    with pytest.raises(ValueError, match="single label class"):
        core.binary_metrics(np.zeros(5), np.full(5, 0.5), 0.5)


def test_calibration_bins_and_ece_by_hand() -> None:
    """ECE and reliability bins match a hand computation.

    Proves: rows land in equal-width bins (1.0 in the last), per-bin mean probability
    and churn rate, empty bins reported with None, and ECE = sum(n_b/N * |p_b - y_b|).
    Cannot prove anything about adaptive (equal-count) binning, which is not offered.
    """
    label = np.array([0, 1, 0, 1, 1])
    probability = np.array([0.05, 0.15, 0.55, 0.95, 1.0])
    summary = core.calibration_summary(label, probability, bins=2)
    low, high = summary["bins"]
    assert (low["rows"], high["rows"]) == (2, 3)
    assert low["mean_probability"] == pytest.approx(0.10)
    assert high["positive_rate"] == pytest.approx(2 / 3)
    expected = 2 / 5 * abs(0.10 - 0.5) + 3 / 5 * abs((0.55 + 0.95 + 1.0) / 3 - 2 / 3)
    assert summary["ece"] == pytest.approx(expected)
    assert core.calibration_summary(label, probability, bins=10)["bins"][3]["rows"] == 0


def test_roc_points_are_bounded_and_keep_the_ends(arrays) -> None:
    """The ROC curve for KFP is bounded in size, JSON-safe and still spans (0,0)-(1,1).

    Proves: at most `max_points` points, first (0, 0) and last (1, 1), thresholds finite
    and <= 1, FPR non-decreasing; the confusion matrix equals scikit-learn's.
    Cannot prove the down-sampled curve's area equals the exact AUC (it is a drawing).
    """
    label, probability = arrays
    roc = core.roc_points(label, probability, max_points=11)
    assert len(roc["fpr"]) <= 11
    assert (roc["fpr"][0], roc["tpr"][0]) == (0.0, 0.0)
    assert (roc["fpr"][-1], roc["tpr"][-1]) == (1.0, 1.0)
    assert np.all(np.diff(roc["fpr"]) >= 0)
    assert max(roc["threshold"]) <= 1.0
    json.dumps(roc, allow_nan=False)
    expected = skm.confusion_matrix(label, (probability >= 0.5).astype(int)).tolist()
    assert core.confusion(label, probability, 0.5) == expected


def test_first_model_is_blessed_on_floors_and_matches_direct_scoring(
    good, client, model_name: str
) -> None:
    """With no champion, a model that meets the floors is blessed; its numbers are right.

    Proves: a registered-model name with nothing registered means no champion and the
    floors decide; the challenger is scored through pyfunc exactly as scikit-learn
    scores the native model on the same holdout; slices partition the holdout.
    Cannot prove the floors' default values suit every data set.
    """
    result = evaluate(good.holdout, good.model_uri, client, model_name)
    assert result.champion is None
    assert result.blessed
    assert any("no champion" in reason for reason in result.decision.reasons)
    native = mlflow.sklearn.load_model(good.model_uri)
    direct = native.predict_proba(good.holdout[good.feature_columns])[:, 1]
    label = good.holdout["churned"]
    assert result.challenger.metrics["roc_auc"] == pytest.approx(skm.roc_auc_score(label, direct))
    assert result.challenger.metrics["brier"] == pytest.approx(skm.brier_score_loss(label, direct))
    slices = result.challenger.slices["plan"]
    assert sum(s["rows"] for s in slices) == len(good.holdout)
    assert {s["value"] for s in slices} == set(good.holdout["plan"])
    basic = good.holdout["plan"] == "basic"
    by_value = {s["value"]: s for s in slices}
    assert by_value["basic"]["roc_auc"] == pytest.approx(
        skm.roc_auc_score(label[basic], direct[basic.to_numpy()])
    )


def test_floors_that_are_not_met_refuse_the_model(good, client, model_name: str) -> None:
    """A model below an absolute floor is not blessed, even with no champion to beat.

    Proves: an unreachable ROC AUC floor or Brier ceiling each block the verdict and
    the reasons say which check failed with the numbers.
    Cannot prove the floors are evaluated on anything but this holdout.
    """
    strict = evaluate(
        good.holdout, good.model_uri, client, model_name, core.GateConfig(min_roc_auc=0.999)
    )
    assert not strict.blessed
    assert strict.decision.reasons[0].startswith("FAIL floor: roc_auc")
    tight = evaluate(
        good.holdout, good.model_uri, client, model_name, core.GateConfig(max_brier=0.001)
    )
    assert not tight.blessed
    assert tight.decision.reasons[1].startswith("FAIL ceiling: brier")


def test_worse_challenger_is_not_blessed_and_the_champion_stays(
    good, shuffled, client, model_name: str
) -> None:
    """A label-shuffled challenger loses to the champion on the same holdout.

    Proves: the registry's champion is found by alias and scored on the SAME rows (its
    numbers equal a direct evaluation of it); the clearly worse challenger is not
    blessed even with floors switched off; evaluating changes no alias; the evaluation
    is recorded on the challenger's run and explained in Markdown with both models.
    Cannot prove the gate catches a challenger that is worse only on rows the holdout
    lacks.
    """
    version = registry.register(client, model_name, good.model_uri, good.run_id).version
    registry.promote(client, model_name, version)
    no_floors = core.GateConfig(min_roc_auc=0.0, max_brier=1.0)
    result = evaluate(
        good.holdout,
        shuffled.model_uri,
        client,
        model_name,
        no_floors,
        challenger_run_id=shuffled.run_id,
    )
    assert not result.blessed
    assert result.decision.reasons[2].startswith("FAIL champion: roc_auc")
    assert result.champion.version == version
    alone = evaluate(good.holdout, good.model_uri, client, f"{model_name}-none", no_floors)
    assert result.champion.metrics == alone.challenger.metrics
    assert mlf.alias_version(client, model_name, mlf.ALIAS_CHAMPION) == version

    core.log_to_run(client, shuffled.run_id, result)
    run = client.get_run(shuffled.run_id)
    assert run.data.metrics["holdout_roc_auc"] == result.challenger.metrics["roc_auc"]
    assert run.data.metrics["champion_holdout_roc_auc"] == result.champion.metrics["roc_auc"]
    assert run.data.tags[mlf.TAG_GATE_BLESSED] == "false"
    report = core.render_markdown(result)
    assert "NOT BLESSED" in report
    assert f"{result.challenger.metrics['roc_auc']:.4f}" in report
    assert f"{result.champion.metrics['roc_auc']:.4f}" in report
    assert json.loads(json.dumps(result.report()))["decision"]["blessed"] is False


def test_gate_directions_and_tolerance() -> None:
    """The champion comparison respects each metric's direction and the tolerance.

    Proves: higher-is-better metrics pass within tolerance and fail beyond it; for
    lower-is-better metrics (log_loss, brier) a higher challenger value fails; an
    unknown primary metric is refused.
    Cannot prove a tolerance value is statistically meaningful for a holdout size.
    """
    floors_ok = {"roc_auc": 0.80, "brier": 0.10, "log_loss": 0.40}
    roc = core.GateConfig(tolerance=0.01)
    assert core.decide(floors_ok, {**floors_ok, "roc_auc": 0.805}, roc).blessed
    assert not core.decide(floors_ok, {**floors_ok, "roc_auc": 0.82}, roc).blessed
    loss = core.GateConfig(primary_metric="log_loss")
    assert core.decide(floors_ok, {**floors_ok, "log_loss": 0.41}, loss).blessed
    assert not core.decide(floors_ok, {**floors_ok, "log_loss": 0.39}, loss).blessed
    with pytest.raises(ValueError, match="primary_metric 'auc'"):
        core.GateConfig(primary_metric="auc")


def test_unscorable_holdouts_fail_loudly(good, client, model_name: str) -> None:
    """A holdout the models cannot be evaluated on raises, naming what is missing.

    Proves: a missing label or slice column, and a holdout lacking a feature the
    model's signature requires, raise ValueError with the column / model named.
    Cannot prove a champion trained on a different feature service is refused when its
    columns happen to be present.
    """
    with pytest.raises(ValueError, match="label column 'churned' is missing"):
        evaluate(good.holdout.drop(columns=["churned"]), good.model_uri, client, model_name)
    with pytest.raises(ValueError, match="slice feature column 'tier'"):
        evaluate(good.holdout, good.model_uri, client, model_name, slice_features=["plan", "tier"])
    with pytest.raises(ValueError, match=r"challenger model .* cannot score the holdout"):
        evaluate(good.holdout.drop(columns=["age"]), good.model_uri, client, model_name)
