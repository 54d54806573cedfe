"""The live window: what the served model was actually asked, from the prediction log.

`live_window` reads the prediction log (`components._serving.prediction_log`) for
``[start, end)`` of the answer time, keeps one model (and, if asked, one version),
drops a shadow model's rows (``model_role`` other than ``champion``), and returns a
frame `check_drift` reads like a feature-store window: the model's
feature columns by name, the entity key when the client sent it, and the window's
time column. Extra log columns (request id, model version, answer ``timestamp``, row,
the served outputs, e.g. ``churned_probability``) are kept for the label join and the
performance estimate.

What a client must send for the whole loop (see README "The live window"):

- the model's features (the request itself);
- the entity key as one more input (e.g. ``customer_id``) so labels can be joined by
  entity and time and drift is checked on one row per entity; without it drift is
  checked on every row and labels can only be joined by request id;
- optionally the request's business time under the repo's timestamp name (e.g.
  ``event_timestamp``, an ISO string) when it differs from the answer time, as when
  history is replayed; otherwise the answer time is used.

pandas is imported inside functions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

ANSWER_TIME_COLUMN = "timestamp"
WINDOW_SOURCES = ("feature_store", "prediction_log")
# A shadow challenger's answers are logged beside the champion's under the same request id,
# told apart by this column; the window is what clients were answered.
ROLE_COLUMN = "model_role"
SERVED_ROLE = "champion"


@dataclass(frozen=True)
class LiveWindowInfo:
    """What the window holds (Dataset metadata and progress line).

    Attributes:
        source: ``prediction_log``.
        log_root: The log that was read.
        start: Window start (inclusive, answer time).
        end: Window end (exclusive).
        model_name: The model kept.
        model_versions: Versions found in the window.
        rows: Rows (one per input row of each answered request).
        requests: Distinct request ids.
        has_entity_key: Whether the client sent the entity key.
        time_from: ``client`` (the request carried the time column) or ``answer``.
    """

    source: str
    log_root: str
    start: str
    end: str
    model_name: str
    model_versions: list[str]
    rows: int
    requests: int
    has_entity_key: bool
    time_from: str

    def to_dict(self) -> dict[str, Any]:
        """Returns the info as JSON-safe data."""
        return asdict(self)


def live_window(
    log_root: str | Path,
    start: str,
    end: str,
    *,
    model_name: str,
    model_version: str = "",
    entity_column: str = "",
    time_column: str = "",
    window_source: str = "prediction_log",
) -> tuple[pd.DataFrame, LiveWindowInfo]:
    """Returns the logged rows of one model in ``[start, end)`` and what they hold.

    Args:
        log_root: Prediction log root (local folder or ``s3://...``).
        start: Window start on the answer time, inclusive (ISO; naive = UTC).
        end: Window end, exclusive.
        model_name: Served model name to keep.
        model_version: Only this version ("" = every version the window holds).
        entity_column: The repo's entity key (reported as present or not).
        time_column: The repo's timestamp name: parsed to UTC when the client sent
            it, else filled with the answer time.
        window_source: The pipeline's ``window_source``; the monitoring pipeline runs
            this step for every value but ``feature_store``, so an unknown value stops
            here instead of skipping both branches silently.

    Raises:
        ValueError: If `window_source` is not ``prediction_log``, `start` or `end` is
            empty, or the window holds no row of the model (the message says what the
            log does hold there).
    """
    import pandas as pd

    from components._serving.prediction_log import read_prediction_log

    if window_source != "prediction_log":
        raise ValueError(
            f"window_source must be one of {list(WINDOW_SOURCES)}, got {window_source!r}"
        )
    if not start or not end:
        raise ValueError("window_start and window_end are required for a prediction-log window")
    frame = read_prediction_log(log_root, start, end)
    found = sorted(frame["model_name"].astype(str).unique()) if len(frame) else []
    frame = frame[frame["model_name"] == model_name]
    if ROLE_COLUMN in frame.columns:
        frame = frame[frame[ROLE_COLUMN].isna() | (frame[ROLE_COLUMN] == SERVED_ROLE)]
    if model_version:
        frame = frame[frame["model_version"].astype(str) == str(model_version)]
    if frame.empty:
        raise ValueError(
            f"the prediction log {log_root} has no rows of model {model_name!r}"
            f"{f' version {model_version}' if model_version else ''} in [{start}, {end}); "
            f"models answered there: {found or 'none'}"
        )
    frame = frame.reset_index(drop=True)
    time_from = "answer"
    if time_column and time_column != ANSWER_TIME_COLUMN:
        if time_column in frame.columns:
            try:
                frame[time_column] = pd.to_datetime(frame[time_column], utc=True)
            except (ValueError, TypeError) as exc:
                raise ValueError(
                    f"logged input {time_column!r} must hold timestamps (ISO strings): {exc}"
                ) from exc
            time_from = "client"
        else:
            frame[time_column] = frame[ANSWER_TIME_COLUMN]
    info = LiveWindowInfo(
        source="prediction_log",
        log_root=str(log_root),
        start=str(start),
        end=str(end),
        model_name=model_name,
        model_versions=sorted(frame["model_version"].astype(str).unique()),
        rows=len(frame),
        requests=int(frame["request_id"].nunique()),
        has_entity_key=bool(entity_column) and entity_column in frame.columns,
        time_from=time_from,
    )
    return frame, info
