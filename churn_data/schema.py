"""The binding data schema of CONVENTIONS.md: column names, dtypes, categories and TTLs.

Everything that produces or checks a churn frame takes its column lists from here, so the
schema is written down exactly once in code.
"""

from __future__ import annotations

import pandas as pd

ENTITY = "customer_id"
TIMESTAMP = "event_timestamp"
LABEL = "churned"
PROBABILITY = "churn_probability"

PLANS = ("basic", "standard", "premium")
REGIONS = ("north", "south", "east", "west")
CHANNELS = ("web", "mobile", "store", "partner")
CATEGORIES: dict[str, tuple[str, ...]] = {"plan": PLANS, "region": REGIONS, "channel": CHANNELS}

PROFILE_CATEGORICAL = ("plan", "region", "channel")
PROFILE_NUMERIC = ("tenure_months", "age")
PROFILE_FEATURES = PROFILE_CATEGORICAL + PROFILE_NUMERIC
ACTIVITY_FEATURES = (
    "sessions_7d",
    "spend_30d",
    "support_tickets_30d",
    "avg_order_value",
    "days_since_last_login",
)
FEATURES = PROFILE_FEATURES + ACTIVITY_FEATURES
CATEGORICAL_FEATURES = PROFILE_CATEGORICAL
NUMERIC_FEATURES = PROFILE_NUMERIC + ACTIVITY_FEATURES

PROFILE_COLUMNS = (ENTITY, TIMESTAMP, *PROFILE_FEATURES)
ACTIVITY_COLUMNS = (ENTITY, TIMESTAMP, *ACTIVITY_FEATURES)
LABEL_COLUMNS = (ENTITY, TIMESTAMP, LABEL)
TRAINING_COLUMNS = (ENTITY, TIMESTAMP, LABEL, *FEATURES)
SNAPSHOT_COLUMNS = (*TRAINING_COLUMNS, PROBABILITY)

# Feature view TTLs (feature_repo must use the same values).
PROFILE_TTL_DAYS = 3650
ACTIVITY_TTL_DAYS = 30

TIMESTAMP_DTYPE = pd.DatetimeTZDtype(unit="ns", tz="UTC")

_DTYPES: dict[str, object] = {
    ENTITY: "int64",
    TIMESTAMP: TIMESTAMP_DTYPE,
    LABEL: "int64",
    PROBABILITY: "float64",
    **{name: "object" for name in CATEGORICAL_FEATURES},
    **{name: "float64" for name in NUMERIC_FEATURES},
}


def dtype_of(column: str) -> object:
    """Return the pandas dtype CONVENTIONS.md prescribes for a column.

    Args:
        column: A column name of any churn frame.

    Returns:
        The dtype (``"int64"``, ``"float64"``, ``"object"`` for str categoricals, or the
        tz-aware UTC nanosecond timestamp dtype).

    Raises:
        KeyError: If the column is not part of the schema.
    """
    if column not in _DTYPES:
        raise KeyError(f"column {column!r} is not in the churn schema; known: {sorted(_DTYPES)}")
    return _DTYPES[column]


def check_frame(frame: pd.DataFrame, columns: tuple[str, ...], name: str) -> None:
    """Raise if a frame's columns or dtypes differ from the schema.

    Args:
        frame: The frame to check.
        columns: The exact expected columns, in order.
        name: The frame's name, used in the error message.

    Raises:
        ValueError: Naming the first column whose name, order or dtype is wrong.
    """
    if tuple(frame.columns) != columns:
        raise ValueError(f"{name}: expected columns {list(columns)}, got {list(frame.columns)}")
    for column in columns:
        expected = dtype_of(column)
        if frame[column].dtype != expected:
            raise ValueError(
                f"{name}: column {column!r} has dtype {frame[column].dtype}, expected {expected}"
            )
    for column in CATEGORICAL_FEATURES:
        if column in frame.columns:
            kind = pd.api.types.infer_dtype(frame[column], skipna=True)
            if kind not in ("string", "empty"):
                raise ValueError(f"{name}: column {column!r} must hold str values or None")


# The roles of the churn columns, as `train_model`'s TrainConfig takes them.
TRAIN_ROLES = {"label_column": LABEL, "timestamp_column": TIMESTAMP, "entity_column": ENTITY}
# The same roles as `check_drift`'s DriftParams takes them.
DRIFT_ROLES = {"label_column": LABEL, "entity_column": ENTITY, "timestamp_column": TIMESTAMP}
