"""Time parsing shared by every component: a naive timestamp means UTC.

Window bounds, ``end_time`` / ``now`` parameters, contract bounds and prediction-log
ranges all go through these three functions, so "naive means UTC" and the error a
bad value gives are written once.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def to_utc(value: dt.datetime | dt.date | str | pd.Timestamp) -> pd.Timestamp:
    """Returns `value` as a tz-aware UTC timestamp; a naive value is taken to be UTC already.

    Args:
        value: A datetime, date, pandas Timestamp or ISO 8601 string.

    Raises:
        ValueError: If the value is not a timestamp (unparseable or NaT).
    """
    import pandas as pd

    stamp = pd.Timestamp(value)
    if pd.isna(stamp):
        raise ValueError(f"{value!r} is not a timestamp")
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def parse_utc(value: str, name: str) -> pd.Timestamp | None:
    """Parses an ISO 8601 date/time parameter as UTC; empty (or blank) means "not set".

    Args:
        value: ISO 8601 date or date-time, e.g. ``"2024-03-01"``; naive means UTC.
        name: Parameter name, for the error message.

    Returns:
        The tz-aware UTC timestamp, or None for an empty value.

    Raises:
        ValueError: If the value is not an ISO date/time; the message names `name`.
    """
    if not value or not value.strip():
        return None
    try:
        return to_utc(value.strip())
    except (ValueError, TypeError) as err:
        raise ValueError(
            f"{name}={value!r} is not an ISO date/time (ISO 8601, e.g. 2024-03-01; naive = UTC)"
        ) from err


def utc_series(values: pd.Series) -> pd.Series:
    """Returns timestamps as ``datetime64[ns, UTC]``; naive values are taken as UTC.

    Avoids `pd.to_datetime` on columns that already are datetimes (it iterates over
    them in Python to decide on caching: ~0.1 s per 1e5 rows).

    Args:
        values: A datetime column (naive or tz-aware) or a column of timestamp strings.
    """
    import pandas as pd

    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        values = values.dt.tz_localize("UTC")
    else:
        values = pd.to_datetime(values, utc=True)
    return values.astype("datetime64[ns, UTC]")
