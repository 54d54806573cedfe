"""The retrain policy (components._retrain_policy) and the decision report (decide_retrain)."""

import json
from pathlib import Path

import pytest

from components._retrain_policy import decide_retrain

HOLDOUT = {"version": "1", "roc_auc": 0.80, "log_loss": 0.40}


def _interval(value: float, low: float, high: float) -> dict:
    return {"value": value, "low": low, "high": high, "confidence": 0.9}


def _estimate(value: float, low: float, high: float, status: str = "estimated") -> dict:
    return {
        "status": status,
        "holdout": HOLDOUT,
        "estimate": {"metrics": {"roc_auc": _interval(value, low, high)}},
    }


def _realized(value: float, low: float, high: float, status: str = "measured") -> dict:
    return {
        "status": status,
        "labelled_rows": 900,
        "labelled_share": 0.9,
        "holdout": HOLDOUT,
        "performance": {"metrics": {"roc_auc": _interval(value, low, high)}},
    }


NOT_MEASURED = {"status": "insufficient_labels", "labelled_rows": 3, "holdout": HOLDOUT}


def test_default_policy_retrains_on_performance_only_and_realized_wins():
    """Default `performance`: drift alone does not retrain; realized beats the estimate.

    Proves: (1) drift alarm on, performance fine -> no retrain, rule names performance
    and the reason says the drift is reported only; (2) a good estimate but a realized
    interval entirely below holdout - tolerance -> retrain by `performance (realized)`;
    (3) without enough labels the estimate decides; (4) an interval that merely
    overlaps the bound does not retrain. Cannot prove the tolerance suits every model.
    """
    fine = decide_retrain(drift_detected=True, estimate=_estimate(0.8, 0.78, 0.82),
                          realized=_realized(0.79, 0.77, 0.81))  # fmt: skip
    assert fine.retrain is False
    assert fine.rule == "performance (realized)"
    assert "drift alarm on" in fine.reason
    assert "reported only" in fine.reason
    worse = decide_retrain(drift_detected=False, estimate=_estimate(0.8, 0.78, 0.82),
                           realized=_realized(0.70, 0.68, 0.72))  # fmt: skip
    assert worse.retrain is True
    assert worse.rule == "performance (realized)"
    assert worse.degraded is True
    estimated = decide_retrain(drift_detected=False, estimate=_estimate(0.7, 0.68, 0.72),
                               realized=NOT_MEASURED)  # fmt: skip
    assert estimated.retrain is True
    assert estimated.rule == "performance (estimated)"
    overlapping = decide_retrain(drift_detected=False, estimate=_estimate(0.8, 0.7, 0.9),
                                 realized=_realized(0.78, 0.70, 0.7951))  # fmt: skip
    assert overlapping.retrain is False  # 0.7951 >= 0.80 - 0.005


def test_drift_policies_and_unknown_performance():
    """`drift` follows the alarm; `drift_or_performance` takes either; unknown never retrains.

    Proves: the three policies on the same inputs, a refused estimate with too few labels
    is `performance (unknown)` and does not retrain, and bad parameters name themselves.
    Cannot prove: which policy an operator should choose.
    """
    refused = {"status": "not_estimable", "holdout": HOLDOUT}
    unknown = decide_retrain(drift_detected=True, estimate=refused, realized=NOT_MEASURED)
    assert unknown.retrain is False
    assert unknown.rule == "performance (unknown)"
    assert unknown.degraded is None
    by_drift = decide_retrain(
        drift_detected=True, estimate=refused, realized=NOT_MEASURED, policy="drift"
    )
    assert by_drift.retrain is True
    assert by_drift.rule == "drift"
    either = decide_retrain(drift_detected=False, estimate=_estimate(0.7, 0.68, 0.72),
                            realized=NOT_MEASURED, policy="drift_or_performance")  # fmt: skip
    assert either.retrain is True
    assert either.rule == "drift_or_performance: performance"
    with pytest.raises(ValueError, match="retrain_policy must be one of"):
        decide_retrain(drift_detected=True, estimate=refused, realized=NOT_MEASURED, policy="x")
    with pytest.raises(ValueError, match="primary_metric"):
        decide_retrain(drift_detected=True, estimate=refused, realized=NOT_MEASURED, metric="f1")


def test_log_loss_direction_and_the_written_reports(tmp_path):
    """For a loss the interval's lower end is compared with holdout + tolerance; files written.

    Proves: a realized log loss interval [0.46, 0.50] against holdout 0.40 retrains, and
    the component (its KFP body on real artifacts) returns that, writes a JSON report
    carrying the rule and every input, puts the rule on the artifact's metadata, and
    writes a self-contained HTML page (no external asset). Cannot prove how the page
    renders.
    """
    from kfp.dsl import HTML, Artifact

    from components.decide_retrain.component import decide_retrain as component

    realized = {
        "status": "measured",
        "labelled_rows": 500,
        "holdout": HOLDOUT,
        "performance": {"metrics": {"log_loss": _interval(0.48, 0.46, 0.50)}},
    }
    estimate, measured = Artifact(uri=str(tmp_path / "e.json")), Artifact(uri=str(tmp_path / "r"))
    Path(estimate.path).write_text(json.dumps({"status": "not_estimable"}))
    Path(measured.path).write_text(json.dumps(realized))
    page, decision = HTML(uri=str(tmp_path / "out" / "d.html")), Artifact(uri=str(tmp_path / "d"))
    retrain = component.python_func(
        False, estimate, measured, retrain_policy="performance", metric="log_loss",
        tolerance=0.01, report=page, decision=decision,
    )  # fmt: skip
    assert retrain is True
    written = json.loads(Path(decision.path).read_text())
    assert written["retrain"] is True
    assert written["rule"] == "performance (realized)"
    assert written["holdout_value"] == 0.40
    assert written["realized"]["interval"]["low"] == 0.46
    assert decision.metadata == {"retrain": True, "rule": "performance (realized)"}
    html = Path(page.path).read_text()
    assert "RETRAIN" in html
    assert "http" not in html
