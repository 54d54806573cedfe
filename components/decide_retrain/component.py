"""KFP component: the retrain decision over drift, estimated and realized performance."""

from kfp import dsl
from kfp.dsl import HTML, Artifact, Input, Output

from components._images import image_for


@dsl.component(base_image=image_for("decide_retrain"), install_kfp_package=False)
def decide_retrain(
    drift_detected: bool,
    estimate: Input[Artifact],
    realized: Input[Artifact],
    retrain_policy: str = "performance",
    metric: str = "roc_auc",
    tolerance: float = 0.005,
    *,
    report: Output[HTML],
    decision: Output[Artifact],
) -> bool:
    """Decides whether to retrain (see `components._retrain_policy`) and reports why.

    Args:
        drift_detected: check_drift's drift alarm.
        estimate: estimate_performance's JSON report.
        realized: join_labels's JSON report.
        retrain_policy: ``performance`` (default), ``drift`` or ``drift_or_performance``.
        metric: Policy metric (the gate's primary metric): roc_auc, log_loss or brier.
        tolerance: The gate tolerance on that metric.
        report: Self-contained HTML page of the decision and its inputs.
        decision: The decision as JSON (rule, reason, every input).

    Returns:
        Whether to retrain: the one value the retrain ``dsl.If`` reads.

    Raises:
        ValueError: Unknown ``retrain_policy`` or ``metric`` (not roc_auc, log_loss or
            brier), or a negative ``tolerance``.
    """
    import json
    from pathlib import Path

    from components._contract import publish
    from components.decide_retrain.core import DecideRetrainConfig, run

    config = DecideRetrainConfig(
        drift_detected, json.loads(Path(estimate.path).read_text(encoding="utf-8")),
        json.loads(Path(realized.path).read_text(encoding="utf-8")), policy=retrain_policy,
        metric=metric, tolerance=tolerance,
    )  # fmt: skip
    result = run(config)
    publish(result, metadata=[decision], report=decision, html=report)
    return result.return_value()
