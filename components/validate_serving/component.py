"""KFP component: serve the candidate in MLServer on loopback and check it (thin wrapper)."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Output

from components._images import image_for


@dsl.component(base_image=image_for("validate_serving"), install_kfp_package=False)
def validate_serving(
    model_uri: str,
    holdout: Input[Dataset],
    metrics: Output[Metrics],
    tracking_uri: str = "",
    atol: float = 1e-6,
    max_rows: int = 1000,
    startup_timeout_s: float = 180.0,
) -> bool:
    """Loads the model in a real MLServer (suite runtime) and checks V2 answers and errors.

    Args:
        model_uri: The candidate, e.g. ``models:/<name>@challenger`` or ``runs:/<id>/model``.
        holdout: Parquet rows with the model's input columns (extra columns are ignored).
        metrics: rows_compared, max_abs_diff, p50/p99 latency (single row, batch), startup time.
        tracking_uri: MLflow tracking/registry URI; "" = MLFLOW_TRACKING_URI or the local default.
        atol: Largest allowed absolute difference to in-process mlflow.pyfunc predictions.
        max_rows: Holdout rows compared.
        startup_timeout_s: How long MLServer may take to load the model.

    Returns:
        True; any failed check raises with the problems and the server log tail.

    Raises:
        ValueError: The model has no named input signature, the holdout lacks one of
            its inputs (named) or has no rows.
        ServingError: MLServer did not start or load the model in ``startup_timeout_s``
            (with the server log tail), or a check failed: answers differ from in-process
            predictions by more than ``atol``, a malformed request was not answered 4xx,
            or a batch request failed; every problem is listed.
    """
    import math
    import os

    import pandas as pd

    from components._mlflow import mlflow_client
    from components.validate_serving.core import raise_if_failed
    from components.validate_serving.core import validate_serving as check

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    report = check(
        mlflow_client(tracking_uri or None),
        model_uri,
        pd.read_parquet(holdout.path),
        atol=atol,
        max_rows=max_rows,
        startup_timeout_s=startup_timeout_s,
    )
    for name, value in report.metrics().items():
        if math.isfinite(value):
            metrics.log_metric(name, value)
    metrics.metadata["model_uri"] = model_uri
    print(f"[suite] validate_serving: passed={report.passed} {report.latency_ms}", flush=True)
    raise_if_failed(report)
    return True
