"""When to retrain: one policy over the drift alarm, estimated and realized performance.

Inputs (all reported with the decision):

- the drift alarm (`check_drift`'s single bool);
- the label-free estimate (`estimate_performance`: status and interval per metric);
- the realized performance (`join_labels`: status, labelled rows, interval per metric);
- the champion's holdout value of the policy metric, and the gate tolerance.

Performance is *degraded* when the interval of the policy metric lies entirely on the
wrong side of ``holdout - tolerance`` (for ROC AUC: its upper end below it; for a loss:
its lower end above ``holdout + tolerance``), so label or sampling noise alone never
retrains. Realized performance wins over the estimate when it was measured (at least
``min_labelled_rows`` labels, see `join_labels`); otherwise the estimate is used when it
exists; with neither, performance is unknown.

Policies (``retrain_policy``):

- ``performance`` (default): retrain only when performance is (estimated to be)
  degraded. A drift alarm alone is reported, not acted on: drift that does not cost
  the champion anything is not worth a retrain.
- ``drift``: retrain on the drift alarm (the behaviour before this policy existed).
- ``drift_or_performance``: either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from components._performance import METRIC_DIRECTIONS, Interval

POLICIES = ("performance", "drift", "drift_or_performance")
POLICY_METRICS = ("roc_auc", "log_loss", "brier")
MEASURED = "measured"
ESTIMATED = "estimated"


@dataclass(frozen=True)
class RetrainDecision:
    """The decision, the rule that made it, and every input.

    Attributes:
        retrain: Whether to retrain.
        rule: What decided: ``performance (realized)``, ``performance (estimated)``,
            ``performance (unknown)``, ``drift`` or ``drift_or_performance: ...``.
        reason: One sentence a person can act on.
        policy: The policy applied.
        drift_detected: The drift alarm.
        metric: The policy metric.
        tolerance: The gate tolerance.
        holdout_value: The champion's holdout value of the metric.
        performance_source: ``realized``, ``estimated`` or ``none``.
        degraded: Whether performance is degraded (None when unknown).
        estimated: Status and interval of the estimate.
        realized: Status, labelled rows/share and interval of the realized metric.
    """

    retrain: bool
    rule: str
    reason: str
    policy: str
    drift_detected: bool
    metric: str
    tolerance: float
    holdout_value: float | None
    performance_source: str
    degraded: bool | None
    estimated: dict[str, Any]
    realized: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Returns the decision as JSON-safe data."""
        return asdict(self)


def _interval(report: dict[str, Any], metric: str, key: str) -> Interval | None:
    block = (report.get(key) or {}).get("metrics", {}).get(metric)
    if not block or block.get("high") is None or block.get("low") is None:
        return None
    return Interval(block["value"], block["low"], block["high"], block["confidence"])


def _fmt(interval: Interval | None) -> str:
    if interval is None:
        return "n/a"
    return f"{interval.value:.4f} [{interval.low:.4f}, {interval.high:.4f}]"


def decide_retrain(
    *,
    drift_detected: bool,
    estimate: dict[str, Any],
    realized: dict[str, Any],
    policy: str = "performance",
    metric: str = "roc_auc",
    tolerance: float = 0.005,
) -> RetrainDecision:
    """Applies the policy (module docstring) to the drift alarm and the two performance reports.

    Args:
        drift_detected: `check_drift`'s alarm.
        estimate: `estimate_performance`'s JSON report.
        realized: `join_labels`'s JSON report.
        policy: One of `POLICIES`.
        metric: One of `POLICY_METRICS` (the gate's ``primary_metric``).
        tolerance: Allowed distance below (above, for a loss) the holdout value.

    Raises:
        ValueError: On an unknown policy or metric, or a negative tolerance.
    """
    if policy not in POLICIES:
        raise ValueError(f"retrain_policy must be one of {list(POLICIES)}, got {policy!r}")
    if metric not in POLICY_METRICS:
        raise ValueError(
            f"the retrain policy compares one of {list(POLICY_METRICS)} (primary_metric), "
            f"got {metric!r}"
        )
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0, got {tolerance}")
    holdout = (realized.get("holdout") or {}).get(metric)
    if holdout is None:
        holdout = (estimate.get("holdout") or {}).get(metric)
    estimated = _interval(estimate, metric, "estimate")
    measured = _interval(realized, metric, "performance")
    if realized.get("status") == MEASURED and measured is not None:
        source, used = "realized", measured
    elif estimate.get("status") == ESTIMATED and estimated is not None:
        source, used = "estimated", estimated
    else:
        source, used = "none", None
    higher = METRIC_DIRECTIONS[metric]
    degraded = (
        used.worse_than(holdout, tolerance, higher)
        if used is not None and holdout is not None
        else None
    )
    side = "below" if higher else "above"
    bound = None if holdout is None else (holdout - tolerance if higher else holdout + tolerance)
    if degraded is None:
        perf_text = (
            f"performance unknown (estimate {estimate.get('status')}, "
            f"realized {realized.get('status')})"
        )
    else:
        perf_text = (
            f"{source} {metric} {_fmt(used)} is {'' if degraded else 'not '}entirely {side} "
            f"holdout {holdout:.4f} {'-' if higher else '+'} tolerance {tolerance:g} = {bound:.4f}"
        )
    drift_text = f"drift alarm {'on' if drift_detected else 'off'}"
    if policy == "performance":
        retrain, rule = bool(degraded), f"performance ({source if source != 'none' else 'unknown'})"
        reason = f"{perf_text}; {drift_text} (reported only under this policy)"
    elif policy == "drift":
        retrain, rule = bool(drift_detected), "drift"
        reason = f"{drift_text}; {perf_text} (reported only under this policy)"
    else:
        retrain = bool(drift_detected) or bool(degraded)
        which = [n for n, on in (("drift", drift_detected), ("performance", degraded)) if on]
        rule = f"drift_or_performance: {' + '.join(which) or 'neither'}"
        reason = f"{drift_text}; {perf_text}"
    realized_summary = {
        "status": realized.get("status"),
        "labelled_rows": realized.get("labelled_rows"),
        "labelled_share": realized.get("labelled_share"),
        "interval": measured.to_dict() if measured else None,
    }
    return RetrainDecision(
        retrain=retrain,
        rule=rule,
        reason=f"{'retrain' if retrain else 'no retrain'}: {reason}",
        policy=policy,
        drift_detected=bool(drift_detected),
        metric=metric,
        tolerance=tolerance,
        holdout_value=holdout,
        performance_source=source,
        degraded=degraded,
        estimated={
            "status": estimate.get("status"),
            "reason": estimate.get("reason"),
            "interval": estimated.to_dict() if estimated else None,
        },
        realized=realized_summary,
    )
