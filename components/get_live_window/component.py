"""KFP component: the live window from the prediction log (thin wrapper)."""

from kfp import dsl
from kfp.dsl import Dataset, Output

from components._images import image_for


@dsl.component(base_image=image_for("get_live_window"), install_kfp_package=False)
def get_live_window(
    prediction_log: str,
    start: str,
    end: str,
    model_name: str,
    model_version: str = "",
    entity_column: str = "",
    time_column: str = "",
    window_source: str = "prediction_log",
    *,
    window: Output[Dataset],
):
    """Reads what the served model answered in a time window, as a drift-checkable Dataset.

    Args:
        prediction_log: Prediction log root (local folder or ``s3://...``).
        start: Window start on the answer time, inclusive (ISO).
        end: Window end, exclusive (ISO).
        model_name: Served model name.
        model_version: Only this version ("" = every version).
        entity_column: The repo's entity key (kept when the client sent it).
        time_column: The repo's timestamp name (the client's, else the answer time).
        window_source: Must be ``prediction_log`` (an unknown pipeline value fails here).
        window: Parquet rows: feature inputs, entity key, time column, request id,
            model version and served outputs; metadata says what it holds.

    Raises:
        ValueError: ``window_source`` is not ``prediction_log`` (an unknown pipeline value),
            ``start`` or ``end`` is empty, the window holds no row of the model (the message
            lists the models the log holds there), or the client's time column is not a
            timestamp.
    """
    from components._contract import publish
    from components.get_live_window.core import GetLiveWindowConfig, run

    config = GetLiveWindowConfig(
        prediction_log, start, end, model_name, model_version=model_version,
        entity_column=entity_column, time_column=time_column, window_source=window_source,
    )  # fmt: skip
    result = run(config)
    publish(result, metadata=[window], frames={window: result.frame})
