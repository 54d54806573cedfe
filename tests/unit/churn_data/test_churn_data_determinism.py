"""Determinism: same config, same bytes; periods appended consistently."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from churn_data import (
    DriftScenario,
    GeneratorConfig,
    append_sources,
    generate,
    read_periods,
    read_sources,
    write_sources,
)

FIRST = GeneratorConfig(n_customers=1500, start="2024-01-01", end="2024-04-01", seed=5)
T1 = "2024-04-01"
T2 = "2024-06-01"
DRIFT = DriftScenario.parse(
    "covariate_shift+new_category+concept_drift+missingness_surge+label_shift", start=T1
)


def _digests(directory: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(directory.iterdir())
    }


def _write_then_append(directory: Path) -> Path:
    write_sources(generate(FIRST), directory)
    append_sources(generate(FIRST.later_period(T1, T2, DRIFT)), directory)
    return directory


def test_same_config_gives_byte_identical_files(tmp_path: Path) -> None:
    """Two runs of the same config (every scenario on) write byte-identical files.

    Proves determinism within this interpreter and library versions, for write and append,
    including generator.json. Cannot prove identical bytes across numpy/pyarrow versions or
    CPU architectures (floating point libm differences could change a draw).
    """
    config = FIRST.later_period(FIRST.start, T2, DRIFT)
    one, two = tmp_path / "one", tmp_path / "two"
    write_sources(generate(config), one)
    write_sources(generate(config), two)
    assert _digests(one) == _digests(two)
    assert set(_digests(one)) == {
        "activity.parquet",
        "generator.json",
        "labels.parquet",
        "profiles.parquet",
        "snapshot.parquet",
    }
    appended_one = _write_then_append(tmp_path / "a1")
    appended_two = _write_then_append(tmp_path / "a2")
    assert _digests(appended_one) == _digests(appended_two)


def test_seed_changes_the_data() -> None:
    """A different seed gives different data (the seed is actually used).

    Cannot prove seeds are independent in any statistical sense.
    """
    one = generate(FIRST)
    other = generate(GeneratorConfig(n_customers=1500, start=FIRST.start, end=FIRST.end, seed=6))
    assert not one.activity.equals(other.activity)
    assert not one.labels.equals(other.labels)


def test_append_equals_one_window_for_features(tmp_path: Path) -> None:
    """Without drift, [t0, t2) written at once equals [t0, t1) appended with [t1, t2).

    Proves the world is a function of absolute time: profiles and activity are identical
    either way (labels are drawn per window, so only their schema is compared), and the
    later window neither repeats nor misses a row at the seam. Cannot prove it for windows
    whose drift scenarios differ before the later window's start.
    """
    whole = generate(FIRST.later_period(FIRST.start, T2, DriftScenario()))
    write_sources(generate(FIRST), tmp_path)
    append_sources(generate(FIRST.later_period(T1, T2, DriftScenario())), tmp_path)
    appended = read_sources(tmp_path)
    pd.testing.assert_frame_equal(appended["profiles"], whole.profiles)
    pd.testing.assert_frame_equal(appended["activity"], whole.activity)
    assert appended["labels"].columns.equals(whole.labels.columns)
    periods = read_periods(tmp_path)
    assert [p["config"]["start"] for p in periods] == [
        FIRST.start.isoformat(),
        pd.Timestamp(T1, tz="UTC").isoformat(),
    ]


def test_later_window_emits_only_its_own_rows() -> None:
    """A later window emits rows in [start, end) only; the first also emits history.

    Proves appended files never duplicate history. Cannot prove a later window alone is a
    usable dataset (it is not: it relies on the earlier period's rows).
    """
    later = generate(FIRST.later_period(T1, T2, DriftScenario()))
    start, end = pd.Timestamp(T1, tz="UTC"), pd.Timestamp(T2, tz="UTC")
    for frame in (later.profiles, later.activity, later.labels):
        assert frame["event_timestamp"].between(start, end, inclusive="left").all()
    first = generate(FIRST)
    assert first.profiles["event_timestamp"].min() < FIRST.start
    lookback = FIRST.start - pd.Timedelta(days=30)
    assert first.activity["event_timestamp"].min() >= lookback
    assert first.activity["event_timestamp"].min() < FIRST.start


def test_append_refuses_another_world(tmp_path: Path) -> None:
    """Appending a period with another seed, customer count or origin raises.

    Proves a mismatched append fails loudly and names the clash instead of mixing two
    customer bases. Cannot detect a mismatch in fields outside the recorded world keys.
    """
    write_sources(generate(FIRST), tmp_path)
    other = GeneratorConfig(n_customers=1500, start=T1, end=T2, seed=99, origin=FIRST.origin)
    with pytest.raises(ValueError, match="seed"):
        append_sources(generate(other), tmp_path)
    no_origin = GeneratorConfig(n_customers=1500, start=T1, end=T2, seed=5)
    with pytest.raises(ValueError, match="origin"):
        append_sources(generate(no_origin), tmp_path)
    with pytest.raises(FileNotFoundError, match="write_sources"):
        append_sources(generate(FIRST), tmp_path / "empty")
