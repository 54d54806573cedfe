"""The retrain decision as files: JSON and a self-contained HTML page (`_retrain_policy`)."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from components._performance import json_safe
from components._retrain_policy import RetrainDecision, decide_retrain

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:60em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
    ".yes{color:#a00;font-weight:bold}.no{color:#070;font-weight:bold}"
)


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
    css = "yes" if decision.retrain else "no"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Retrain decision</title>"
        f"<style>{_STYLE}</style></head><body><h1>Retrain decision: "
        f"<span class='{css}'>{verdict}</span></h1><p>{html.escape(decision.reason)}</p>"
        f"<table>{body}</table></body></html>"
    )


def run_decision(
    drift_detected: bool,
    estimate_path: str | Path,
    realized_path: str | Path,
    *,
    policy: str,
    metric: str,
    tolerance: float,
    json_path: str | Path | None = None,
    html_path: str | Path | None = None,
) -> RetrainDecision:
    """Reads the two performance reports, decides, writes JSON and HTML."""
    decision = decide_retrain(
        drift_detected=drift_detected,
        estimate=json.loads(Path(estimate_path).read_text(encoding="utf-8")),
        realized=json.loads(Path(realized_path).read_text(encoding="utf-8")),
        policy=policy,
        metric=metric,
        tolerance=tolerance,
    )
    if json_path is not None:
        text = json.dumps(json_safe(decision.to_dict()), indent=2, allow_nan=False)
        Path(json_path).write_text(text, encoding="utf-8")
    if html_path is not None:
        Path(html_path).write_text(render_html(decision), encoding="utf-8")
    return decision
