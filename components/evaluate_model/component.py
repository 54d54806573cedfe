"""KFP wrapper of `components.evaluate_model.core.evaluate` (the promotion gate)."""

from typing import Optional

from kfp import dsl
from kfp.dsl import (
    Artifact,
    ClassificationMetrics,
    Dataset,
    Input,
    Markdown,
    Metrics,
    Model,
    Output,
)

from components._images import image_for


@dsl.component(base_image=image_for("evaluate_model"), install_kfp_package=False)
def evaluate_model(
    model: Input[Model],
    holdout: Input[Dataset],
    registered_model_name: str,
    tracking_uri: str = "",
    min_roc_auc: float = 0.6,
    max_brier: float = 0.25,
    primary_metric: str = "roc_auc",
    tolerance: float = 0.005,
    threshold: float = 0.5,
    slice_features: Optional[list] = None,  # noqa: UP045 (kfp cannot parse `list | None`)
    min_slice_rows: int = 200,
    slice_margin: float = 0.05,
    max_demographic_parity_difference: float = 1.0,
    max_equalized_odds_difference: float = 1.0,
    max_slice_auc_gap: float = 1.0,
    bootstrap_samples: int = 100,
    roc_max_points: int = 101,
    pushgateway_url: str = "",
    pipeline_run: str = "",
    *,
    metrics: Output[Metrics],
    classification_metrics: Output[ClassificationMetrics],
    report: Output[Markdown],
    evaluation: Output[Artifact],
) -> bool:
    """Scores the challenger (and the registry's champion) on the holdout; returns `blessed`.

    Args:
        model: `train_model`'s Model (metadata: model_uri, run_id, label_column).
        holdout: `train_model`'s holdout Dataset (parquet).
        metrics: Challenger's holdout metrics.
        classification_metrics: Challenger's ROC curve and confusion matrix.
        report: Markdown explaining the decision with both models' numbers.
        evaluation: JSON of the whole evaluation (metrics, calibration, slices, decision).
        tracking_uri: MLflow tracking URI; empty = MLFLOW_TRACKING_URI or ./mlruns sqlite.
        registered_model_name: Registered model whose `champion` alias is compared.
        min_roc_auc: Absolute ROC AUC floor.
        max_brier: Absolute Brier ceiling.
        primary_metric: Metric compared with the champion.
        tolerance: Allowed shortfall against the champion on the primary metric.
        threshold: Probability threshold for F1 and the confusion matrix.
        slice_features: Categorical columns for per-slice metrics and the slice rules.
        min_slice_rows: Slices below this many rows are reported, not gated.
        slice_margin: Per-slice non-inferiority margin on ROC AUC against the champion.
        max_demographic_parity_difference: Ceiling per slice feature (1.0 = report only).
        max_equalized_odds_difference: Ceiling per slice feature (1.0 = report only).
        max_slice_auc_gap: Ceiling on max - min slice ROC AUC (1.0 = report only).
        bootstrap_samples: Bootstrap resamples for the slice intervals.
        roc_max_points: Bound on the logged ROC curve's points.
        pushgateway_url: Prometheus Pushgateway for this step's gauges; "" =
            ``$SUITE_PUSHGATEWAY_URL`` (the suite-endpoints ConfigMap); both empty = off.
            A push that keeps failing is logged and never changes the verdict.
        pipeline_run: KFP run name for the ``pipeline_run`` label.

    Returns:
        True iff the floors are met, the challenger is no worse than the champion, and
        every slice and fairness rule passed.
    """
    import pandas as pd

    from components._contract import publish
    from components.evaluate_model import core

    gate = core.GateConfig(
        min_roc_auc, max_brier, primary_metric, tolerance, threshold,
        min_slice_rows=min_slice_rows, slice_margin=slice_margin,
        max_demographic_parity_difference=max_demographic_parity_difference,
        max_equalized_odds_difference=max_equalized_odds_difference,
        max_slice_auc_gap=max_slice_auc_gap, bootstrap_samples=bootstrap_samples,
    )  # fmt: skip
    config = core.EvaluateConfig(
        pd.read_parquet(holdout.path), model.metadata["model_uri"], registered_model_name,
        model.metadata["label_column"], model.metadata["run_id"], gate,
        slice_features=tuple(slice_features or ()), roc_max_points=roc_max_points,
        tracking_uri=tracking_uri, pushgateway_url=pushgateway_url, pipeline_run=pipeline_run,
        feature_service=model.metadata.get("feature_service", ""),
    )  # fmt: skip
    result = core.run(config)
    publish(
        result, metrics=metrics, classification_metrics=classification_metrics,
        metadata=[evaluation], report=evaluation, markdown=report,
    )  # fmt: skip
    return result.return_value()
