"""KFP component: serve the candidate in MLServer on loopback and check it (thin wrapper)."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Metrics, Output

from components._images import image_for


@dsl.component(base_image=image_for("validate_serving"), install_kfp_package=False)
def validate_serving(
    model_uri: str,
    holdout: Input[Dataset],
    tracking_uri: str = "",
    atol: float = 1e-6,
    max_rows: int = 1000,
    startup_timeout_s: float = 180.0,
    *,
    metrics: Output[Metrics],
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
    """
    import pandas as pd

    from components._contract import publish
    from components.validate_serving.core import ServingConfig, run

    config = ServingConfig(
        model_uri, pd.read_parquet(holdout.path), tracking_uri=tracking_uri, atol=atol,
        max_rows=max_rows, startup_timeout_s=startup_timeout_s,
    )  # fmt: skip
    result = run(config)
    publish(result, metrics=metrics, metadata=[metrics])
    return result.return_value()
