"""`frame_fingerprint`: a canonical, stable content hash of a training frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.get_features.core import frame_fingerprint

# Pinned: the serialisation is documented in frame_fingerprint; a change here means every
# recorded dataset fingerprint changes meaning, which must be a deliberate decision.
GOLDEN = "sha256:79fd31075a7b9bbb415faf706b070a6a08ede4f276b332afe371151780c07d56"


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": [2, 1],
            "event_timestamp": pd.to_datetime(["2024-01-02", "2024-01-01"], utc=True),
            "churned": [0, 1],
            "plan": ["basic", None],
            "age": [np.nan, 41.5],
        }
    )


def test_fingerprint_is_pinned_and_ignores_the_index():
    """The fingerprint of a fixed frame is a known constant, whatever its index.

    Proves the hash is stable across processes and machines (no Python hash seed, no
    memory layout in it) for the pinned library versions, and that the index does not
    count. Cannot prove stability across a pandas/pyarrow upgrade — this test is the
    tripwire for that.
    """
    frame = _frame()
    assert frame_fingerprint(frame) == GOLDEN
    assert frame_fingerprint(frame.set_axis([10, 20])) == GOLDEN
    assert frame_fingerprint(frame.copy(deep=True)) == GOLDEN


@pytest.mark.parametrize(
    ("change", "edit"),
    [
        ("row order", lambda f: f.iloc[::-1].reset_index(drop=True)),
        ("a float value", lambda f: f.assign(age=[np.nan, 41.6])),
        ("a null becoming a value", lambda f: f.assign(age=[0.0, 41.5])),
        ("null vs empty text", lambda f: f.assign(plan=["basic", ""])),
        (
            "a timestamp by 1 ns",
            lambda f: f.assign(event_timestamp=f.event_timestamp + pd.Timedelta(1)),
        ),
        ("a dtype", lambda f: f.astype({"churned": "float64"})),
        ("a column name", lambda f: f.rename(columns={"age": "age_years"})),
        ("column order", lambda f: f[["customer_id", "event_timestamp", "churned", "age", "plan"]]),
        ("text split differently", lambda f: f.assign(plan=["basi", None])),
    ],
)
def test_any_content_change_changes_the_fingerprint(change, edit):
    """Each kind of edit to the frame gives a different fingerprint.

    Proves the serialisation covers values, nulls (apart from 0 / ""), order, dtypes
    and names. Cannot prove the absence of sha256 collisions, which is assumed.
    """
    assert frame_fingerprint(edit(_frame())) != GOLDEN, change


def test_non_text_objects_are_hashed_by_their_text():
    """An object column of non-strings is fingerprinted via ``str(value)``.

    Proves mixed object columns do not crash the hash and hash like their text form.
    Cannot prove that two distinct objects with the same ``str`` differ (they do not).
    """
    frame = _frame().assign(plan=pd.Series([1, None], dtype=object))
    same_text = _frame().assign(plan=pd.Series(["1", None], dtype=object))
    assert frame_fingerprint(frame) == frame_fingerprint(same_text)
