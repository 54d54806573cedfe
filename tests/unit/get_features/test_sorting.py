"""`sort_order` / `is_sorted`: the training frame's deterministic row order."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.get_features.core import is_sorted, sort_order


def _frame(n: int = 2_000) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, 50, n),
            "event_timestamp": pd.Timestamp("2024-01-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 20, n), unit="D"),
            "churned": rng.integers(0, 2, n),
            "plan": rng.choice(np.array(["basic", "premium", None], dtype=object), n),
            "score": np.where(rng.random(n) < 0.1, np.nan, rng.random(n).round(1)),
        }
    )


@pytest.mark.parametrize(
    "by",
    [
        ["customer_id", "event_timestamp", "churned"],
        ["plan", "customer_id"],
        ["score", "event_timestamp"],
    ],
)
def test_sort_order_equals_a_stable_pandas_sort(by):
    """The fast order is exactly pandas' stable multi-key sort with nulls last.

    Proves equality on ints, tz-aware datetimes, strings with nulls and floats with NaN,
    with many ties (so stability matters). Cannot prove it for dtypes not used here
    (e.g. pandas nullable or categorical columns).
    """
    frame = _frame()
    expected = frame.sort_values(by, kind="mergesort", na_position="last")
    pd.testing.assert_frame_equal(frame.take(sort_order(frame, by)), expected)


def test_is_sorted_tells_sorted_from_unsorted():
    """`is_sorted` is true after `sort_order` (ties included) and false otherwise.

    Proves the O(n) check used to skip re-sorting a store's output agrees with the
    sort. Cannot prove anything about frames with fewer than two rows beyond "sorted".
    """
    frame = _frame()
    by = ["customer_id", "event_timestamp", "churned"]
    ordered = frame.take(sort_order(frame, by))
    assert is_sorted(ordered, by)
    assert not is_sorted(frame, by)
    keys = ordered[by].astype("int64").to_numpy()
    i = next(i for i in range(len(keys) - 1) if (keys[i] != keys[i + 1]).any())
    assert not is_sorted(ordered.iloc[[*range(i), i + 1, i, *range(i + 2, len(keys))]], by)
    assert is_sorted(frame.iloc[:1], by)
