"""The live window: what the served model was actually asked, from the prediction log.

`run` reads the prediction log (`components._serving.prediction_log`) for
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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

ANSWER_TIME_COLUMN = "timestamp"
WINDOW_SOURCES = ("feature_store", "prediction_log")


@dataclass(frozen=True)
class GetLiveWindowConfig:
    """Which rows of the prediction log `run` reads.

    Attributes:
        prediction_log: Prediction log root (local folder or ``s3://...``).
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
    """

    prediction_log: str
    start: str
    end: str
    model_name: str
    model_version: str = ""
    entity_column: str = ""
    time_column: str = ""
    window_source: str = "prediction_log"

    def __post_init__(self) -> None:
        if self.window_source != "prediction_log":
            raise ValueError(
                f"window_source must be one of {list(WINDOW_SOURCES)}, got {self.window_source!r}"
            )
        if not self.start or not self.end:
            raise ValueError("window_start and window_end are required for a prediction-log window")


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


@dataclass(frozen=True)
class GetLiveWindowResult:
    """The window's rows and what they hold (implements `components._contract.ComponentResult`).

    Attributes:
        frame: Feature inputs, entity key, time column, request id, model version and
            served outputs, one row per answered input row.
        info: What the window holds.
    """

    frame: pd.DataFrame
    info: LiveWindowInfo

    def metrics(self) -> dict[str, float]:
        """Returns ``rows`` and ``requests``."""
        return {"rows": float(self.info.rows), "requests": float(self.info.requests)}

    def metadata(self) -> dict[str, Any]:
        """Returns the Dataset metadata: the info and ``row_count``."""
        return {**self.info.to_dict(), "row_count": self.info.rows}

    def report(self) -> dict[str, Any]:
        """Returns the info."""
        return self.info.to_dict()


def served_rows(frame: pd.DataFrame, model_name: str, model_version: str = "") -> pd.DataFrame:
    """Returns the rows of one model (and version), index reset.

    Args:
        frame: Prediction-log rows clients were answered with (see `run`).
        model_name: Served model name to keep.
        model_version: Only this version ("" = every version).
    """
    frame = frame[frame["model_name"] == model_name]
    if model_version:
        frame = frame[frame["model_version"].astype(str) == str(model_version)]
    return frame.reset_index(drop=True)


def with_time_column(frame: pd.DataFrame, time_column: str) -> tuple[pd.DataFrame, str]:
    """Returns the frame with `time_column` as UTC timestamps, and where the time came from.

    Args:
        frame: Served rows (modified in place and returned).
        time_column: The repo's timestamp name ("" or the answer time column = as logged).

    Raises:
        ValueError: If the client sent `time_column` and it does not hold timestamps.
    """
    import pandas as pd

    if not time_column or time_column == ANSWER_TIME_COLUMN:
        return frame, "answer"
    if time_column not in frame.columns:
        frame[time_column] = frame[ANSWER_TIME_COLUMN]
        return frame, "answer"
    try:
        frame[time_column] = pd.to_datetime(frame[time_column], utc=True)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"logged input {time_column!r} must hold timestamps (ISO strings): {exc}"
        ) from exc
    return frame, "client"


def run(config: GetLiveWindowConfig) -> GetLiveWindowResult:
    """The component's work: the logged rows of one model in ``[start, end)``.

    Args:
        config: Log, window, model and the repo's entity key and time column.

    Raises:
        ValueError: If the window holds no row of the model (the message says what the
            log does hold there), or the client's time column is not a timestamp.
    """
    from components._serving.prediction_log import ROLE_CHAMPION, read_prediction_log

    # A shadow challenger's answers share the champion's request ids; the window is what
    # clients were answered.
    frame = read_prediction_log(
        config.prediction_log, config.start, config.end, model_role=ROLE_CHAMPION
    )
    found = sorted(frame["model_name"].astype(str).unique()) if len(frame) else []
    frame = served_rows(frame, config.model_name, config.model_version)
    if frame.empty:
        version = f" version {config.model_version}" if config.model_version else ""
        raise ValueError(
            f"the prediction log {config.prediction_log} has no rows of model "
            f"{config.model_name!r}{version} in [{config.start}, {config.end}); "
            f"models answered there: {found or 'none'}"
        )
    frame, time_from = with_time_column(frame, config.time_column)
    info = LiveWindowInfo(
        source="prediction_log",
        log_root=str(config.prediction_log),
        start=str(config.start),
        end=str(config.end),
        model_name=config.model_name,
        model_versions=sorted(frame["model_version"].astype(str).unique()),
        rows=len(frame),
        requests=int(frame["request_id"].nunique()),
        has_entity_key=bool(config.entity_column) and config.entity_column in frame.columns,
        time_from=time_from,
    )
    print(
        f"[suite] get_live_window: {info.rows} rows, {info.requests} requests, versions "
        f"{info.model_versions}, entity key {'sent' if info.has_entity_key else 'absent'}, "
        f"time from the {info.time_from}",
        flush=True,
    )
    return GetLiveWindowResult(frame, info)
