"""The retrain decision (`components._retrain_policy`), its JSON report and HTML page."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from components._html import badge, page
from components._retrain_policy import RetrainDecision, decide_retrain


def render_html(decision: RetrainDecision) -> str:
    """Returns the decision as one self-contained HTML page (inline CSS, no assets)."""

    def interval(block: dict[str, Any] | None) -> str:
        if not block:
            return "n/a"
        return f"{block['value']:.4f} [{block['low']:.4f}, {block['high']:.4f}]"

    verdict = "RETRAIN" if decision.retrain else "NO RETRAIN"
    rows = [
        ("policy", decision.policy),
        ("rule that decided", decision.rule),
        ("drift alarm (check_drift)", str(decision.drift_detected)),
        ("metric", decision.metric),
        (
            "champion holdout",
            "n/a" if decision.holdout_value is None else f"{decision.holdout_value:.4f}",
        ),
        ("gate tolerance", f"{decision.tolerance:g}"),
        (
            "estimated (CBPE)",
            f"{decision.estimated['status']}: {interval(decision.estimated['interval'])}",
        ),
        (
            "realized (labels)",
            f"{decision.realized['status']}: {interval(decision.realized['interval'])}, "
            f"{decision.realized['labelled_rows']} labelled rows",
        ),
        ("performance source", decision.performance_source),
        ("degraded", str(decision.degraded)),
    ]
    body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    tone = "bad" if decision.retrain else "ok"
    return page(
        "Retrain decision",
        f"<h1>Retrain decision: {badge(verdict, tone)}</h1>"
        f"<p>{html.escape(decision.reason)}</p><table>{body}</table>",
    )


@dataclass(frozen=True)
class DecideRetrainConfig:
    """What `run` decides on.

    Attributes:
        drift_detected: `check_drift`'s drift alarm.
        estimate: `estimate_performance`'s JSON report.
        realized: `join_labels`'s JSON report.
        policy: The retrain policy (one of `components._retrain_policy.POLICIES`).
        metric: The policy metric (the gate's primary metric).
        tolerance: The gate tolerance on that metric.
    """

    drift_detected: bool
    estimate: dict[str, Any]
    realized: dict[str, Any]
    policy: str
    metric: str
    tolerance: float


@dataclass(frozen=True)
class DecideRetrainResult:
    """The decision (implements `components._contract.ComponentResult`).

    Attributes:
        decision: The decision, the rule that made it, and every input.
    """

    decision: RetrainDecision

    def metrics(self) -> dict[str, float]:
        """Returns ``retrain`` (0/1)."""
        return {"retrain": float(self.decision.retrain)}

    def metadata(self) -> dict[str, Any]:
        """Returns the decision artifact's metadata: whether to retrain and the rule."""
        return {"retrain": self.decision.retrain, "rule": self.decision.rule}

    def report(self) -> dict[str, Any]:
        """Returns the decision as JSON data (rule, reason, every input)."""
        return self.decision.to_dict()

    def html(self) -> str:
        """Returns the self-contained HTML page of the decision."""
        return render_html(self.decision)

    def return_value(self) -> bool:
        """Returns whether to retrain (the value the retrain ``dsl.If`` reads)."""
        return self.decision.retrain


def run(config: DecideRetrainConfig) -> DecideRetrainResult:
    """The component's work: apply the retrain policy to the alarm and the two reports.

    Args:
        config: The alarm, the two performance reports and the policy.

    Raises:
        ValueError: On an unknown policy or metric, or a negative tolerance.
    """
    decision = decide_retrain(
        drift_detected=config.drift_detected,
        estimate=config.estimate,
        realized=config.realized,
        policy=config.policy,
        metric=config.metric,
        tolerance=config.tolerance,
    )
    print(f"[suite] decide_retrain: {decision.rule}: {decision.reason}", flush=True)
    return DecideRetrainResult(decision)
