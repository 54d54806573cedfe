"""Delayed labels joined to logged predictions: the one join every comparison uses.

Labels arrive after the answer (a churn is known weeks later). `join_labels`
attaches them to the prediction log's rows in one of two ways:

- **by request id** (``by="request_id"``): the label source carries the id the
  answer was logged under (``request_id``; with a ``row`` column too when a
  request held several rows). Exact key match; a key labelled twice is an error.
- **by entity and time** (``by="entity_time"``): the label source carries the
  entity key and the label's time. A prediction for entity *e* at time *t* gets
  the first label of *e* whose time is in ``[t, t + max_delay]`` (pandas
  ``merge_asof``, ``direction="forward"``): a label before the prediction never
  counts (it cannot be the outcome of that prediction), nor one that arrived
  later than the maximum delay.

Every prediction row is kept, in its order, with every column it had (a shadow
``model_role``, ``model_version``, the inputs, the outputs), plus the label
(float 0.0 / 1.0, NaN when not labelled), ``label_time`` (NaT when not
labelled or unknown) and the bool ``labelled``: rows without a label stay
visible as such, they are never dropped.

pandas is imported inside functions (this module is imported by pipeline code).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

LABELLED_COLUMN = "labelled"
LABEL_TIME_COLUMN = "label_time"
REQUEST_ID_COLUMN = "request_id"
ROW_COLUMN = "row"
JOIN_MODES = ("request_id", "entity_time")


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str, hint: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} has no column {missing[0]!r} ({hint}); "
            f"it has {sorted(map(str, frame.columns))}"
        )


def _label_values(labels: pd.DataFrame, label_column: str) -> pd.Series:
    """The label as float 0.0/1.0 (NaN = a label row without a value); anything else is an error."""
    import pandas as pd

    values = pd.to_numeric(labels[label_column], errors="coerce").astype("float64")
    bad = labels[label_column].notna() & ~values.isin([0.0, 1.0])
    if bad.any():
        example = labels.loc[bad, label_column].iloc[0]
        raise ValueError(
            f"label column {label_column!r} must hold 0/1 (map the positive class first); "
            f"found {example!r}"
        )
    return values


def _utc_times(series: pd.Series, column: str, what: str) -> pd.Series:
    """Timestamps as ``datetime64[ns, UTC]`` (ISO strings parse; naive means UTC)."""
    import pandas as pd

    try:
        times = pd.to_datetime(series, utc=True, errors="raise")
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{what} column {column!r} must hold timestamps: {exc}") from exc
    return times.astype("datetime64[ns, UTC]")


def load_label_source(label_source: str, suite: Any) -> pd.DataFrame:
    """Reads a labels parquet (path or ``s3://``): the rows that have a label, the label as 0/1.

    Args:
        label_source: The labels file.
        suite: The repo's roles (`components._suite.SuiteConfig`): label and positive class.

    Raises:
        ValueError: If the file has no label column (named).
    """
    import pandas as pd

    from components._suite import binary_label

    labels = pd.read_parquet(label_source)
    if suite.label not in labels.columns:
        raise ValueError(f"label source {label_source} has no label column {suite.label!r}")
    labels = labels[labels[suite.label].notna()].copy()
    labels[suite.label] = binary_label(labels[suite.label], suite)
    return labels


def parse_max_delay(max_delay: Any) -> pd.Timedelta | None:
    """Returns the maximum label delay as a Timedelta (None, "" or "none" = no limit).

    Accepts a Timedelta, a pandas offset string ("30D", "12h") or seconds (a number).

    Raises:
        ValueError: If it is negative or cannot be read.
    """
    import pandas as pd

    if max_delay is None or (
        isinstance(max_delay, str) and max_delay.strip().lower() in ("", "none")
    ):
        return None
    try:
        delay = (
            pd.Timedelta(seconds=float(max_delay))
            if isinstance(max_delay, int | float)
            else pd.Timedelta(max_delay)
        )
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"max_delay must be a duration such as '30D' or '12h' (or seconds), got {max_delay!r}"
        ) from exc
    if delay < pd.Timedelta(0):
        raise ValueError(f"max_delay must not be negative, got {max_delay!r}")
    return delay


def _common_keys(left: pd.Series, right: pd.Series, column: str) -> tuple[pd.Series, pd.Series]:
    """Casts an entity key to one dtype on both sides (a V2 client may send it as FP64)."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(left) and pd.api.types.is_numeric_dtype(right):
        return left.astype("float64"), right.astype("float64")
    return left.astype(str).where(left.notna()), right.astype(str).where(right.notna())


def join_labels(
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    label_column: str,
    by: str = "request_id",
    entity_column: str = "",
    prediction_time_column: str = "timestamp",
    label_time_column: str = "",
    max_delay: Any = None,
    request_id_column: str = REQUEST_ID_COLUMN,
) -> pd.DataFrame:
    """Returns every prediction row with its label, if one has arrived (see module docstring).

    Args:
        predictions: Logged prediction rows (e.g. `read_prediction_log`); every
            column is kept.
        labels: Label rows: the label (0/1) and the join keys.
        label_column: Label column of `labels` (the output column of the same name).
        by: ``request_id`` or ``entity_time``.
        entity_column: Entity key, in both frames (``entity_time``).
        prediction_time_column: When the prediction was made, in `predictions`
            (``entity_time``; the log's ``timestamp`` by default, or an input the
            client sent, e.g. the business time of a replayed request).
        label_time_column: When the label holds, in `labels` (``entity_time``;
            with ``request_id`` it is copied to ``label_time`` when present).
        max_delay: Longest time from prediction to label (see `parse_max_delay`);
            None = no limit.
        request_id_column: Request id column in both frames (``request_id``).

    Returns:
        `predictions` (same rows, order and index) plus `label_column` (float
        0/1, NaN = not labelled), ``label_time`` and ``labelled``.

    Raises:
        ValueError: On an unknown `by`, a missing column (named), a non-0/1 label,
            a label key that appears twice, an output column that already exists,
            or unparsable timestamps.
    """
    import numpy as np
    import pandas as pd

    if by not in JOIN_MODES:
        raise ValueError(f"by must be one of {list(JOIN_MODES)}, got {by!r}")
    _require(labels, [label_column], "the label frame", "label_column")
    for column in (label_column, LABELLED_COLUMN, LABEL_TIME_COLUMN):
        if column in predictions.columns:
            raise ValueError(
                f"the predictions already have a column {column!r}; rename it before joining labels"
            )
    label_values = _label_values(labels, label_column)
    delay = parse_max_delay(max_delay)
    n = len(predictions)
    joined_label = np.full(n, np.nan)
    joined_time = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")

    if by == "request_id":
        keys = [request_id_column] + ([ROW_COLUMN] if ROW_COLUMN in labels.columns else [])
        _require(predictions, keys, "the predictions", "join keys of by='request_id'")
        _require(labels, [request_id_column], "the label frame", "request_id_column")
        right = labels[keys].copy()
        right["_label"] = label_values.to_numpy()
        right["_time"] = (
            _utc_times(labels[label_time_column], label_time_column, "the label frame")
            if label_time_column and label_time_column in labels.columns
            else pd.Series(pd.NaT, index=right.index, dtype="datetime64[ns, UTC]")
        )
        right[request_id_column] = right[request_id_column].astype(str)
        duplicated = right.duplicated(keys, keep=False)
        if duplicated.any():
            example = right.loc[duplicated, keys].iloc[0].tolist()
            raise ValueError(f"label key {dict(zip(keys, example, strict=True))} appears twice")
        left = predictions[keys].reset_index(drop=True).copy()
        left[request_id_column] = left[request_id_column].astype(str)
        merged = left.merge(right, on=keys, how="left", validate="many_to_one")
        joined_label = merged["_label"].to_numpy(dtype="float64")
        joined_time = merged["_time"].astype("datetime64[ns, UTC]")
        found = merged["_label"].notna().to_numpy()
        if delay is not None and label_time_column:
            _require(predictions, [prediction_time_column], "the predictions", "prediction time")
            made = _utc_times(
                predictions[prediction_time_column].reset_index(drop=True),
                prediction_time_column,
                "the predictions",
            )
            lag = joined_time - made
            found &= ((lag >= pd.Timedelta(0)) & (lag <= delay)).fillna(False).to_numpy()
    else:
        if not entity_column or not label_time_column:
            raise ValueError("by='entity_time' needs entity_column and label_time_column")
        _require(
            predictions, [entity_column, prediction_time_column], "the predictions", "join keys"
        )
        _require(labels, [entity_column, label_time_column], "the label frame", "join keys")
        left_key, right_key = _common_keys(
            predictions[entity_column].reset_index(drop=True), labels[entity_column], entity_column
        )
        left = pd.DataFrame(
            {
                "_key": left_key,
                "_made": _utc_times(
                    predictions[prediction_time_column].reset_index(drop=True),
                    prediction_time_column,
                    "the predictions",
                ),
                "_pos": np.arange(n),
            }
        )
        right = pd.DataFrame(
            {
                "_key": right_key.to_numpy(),
                "_time": _utc_times(
                    labels[label_time_column], label_time_column, "the label frame"
                ).to_numpy(),
                "_label": label_values.to_numpy(),
            }
        ).dropna(subset=["_key", "_time", "_label"])
        usable = left.dropna(subset=["_key", "_made"]).sort_values("_made", kind="stable")
        right = right.sort_values("_time", kind="stable")
        merged = pd.merge_asof(
            usable,
            right,
            left_on="_made",
            right_on="_time",
            by="_key",
            direction="forward",
            tolerance=delay,
            allow_exact_matches=True,
        )
        positions = merged["_pos"].to_numpy()
        joined_label[positions] = merged["_label"].to_numpy(dtype="float64")
        joined_time.iloc[positions] = merged["_time"].to_numpy()
        found = ~np.isnan(joined_label)

    out = predictions.copy()
    out[label_column] = np.where(found, joined_label, np.nan)
    out[LABEL_TIME_COLUMN] = pd.Series(joined_time.to_numpy(), index=predictions.index).where(found)
    out[LABELLED_COLUMN] = found
    return out
