"""KFP component: label-free performance estimate of a window (CBPE, thin wrapper)."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Output

from components._images import image_for


@dsl.component(base_image=image_for("estimate_performance"), install_kfp_package=False)
def estimate_performance(
    window: Input[Dataset],
    tracking_uri: str,
    model_name: str,
    threshold: float = 0.5,
    max_holdout_ece: float = 0.05,
    samples: int = 500,
    seed: int = 0,
    score_column: str = "",
    *,
    report_json: Output[Artifact],
    metrics: Output[Metrics],
) -> str:
    """Estimates the champion's confusion matrix, ROC AUC and log loss on a window without labels.

    Args:
        window: The window (feature-store or prediction-log rows).
        tracking_uri: MLflow tracking and registry URI.
        model_name: Registered model whose ``@champion`` is estimated.
        threshold: Serving threshold of the expected confusion matrix.
        max_holdout_ece: Refuse (``not_estimable``) above this champion holdout ECE.
        samples: Label vectors drawn from the scores.
        seed: Seed of the draws.
        score_column: The window's served-score column ("" = none; the champion scores).
        report_json: Status, reason, estimate with intervals, holdout metrics.
        metrics: The estimate's numbers, flat.

    Returns:
        The status: ``estimated``, ``not_estimable`` or ``insufficient_data``.

    Raises:
        ValueError: A knob out of range (``threshold``, ``max_holdout_ece``, ``samples``),
            no ``@champion`` for ``model_name``, scores outside [0, 1], or the window lacks
            the champion's input columns (named).
    """
    import pandas as pd

    from components._contract import publish
    from components.estimate_performance.core import (
        EstimatePerformanceConfig,
        EstimationParams,
        run,
    )

    params = EstimationParams(
        threshold=threshold, max_holdout_ece=max_holdout_ece, samples=samples, seed=seed
    )
    config = EstimatePerformanceConfig(
        pd.read_parquet(window.path), model_name, params, tracking_uri=tracking_uri,
        score_column=score_column,
    )  # fmt: skip
    result = run(config)
    publish(result, metrics=metrics, metadata=[report_json], report=report_json)
    return result.return_value()
