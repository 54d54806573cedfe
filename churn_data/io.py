"""Write, append and read the generated files (deterministic parquet, sorted rows)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from churn_data import schema
from churn_data.generator import ChurnData

PROFILES_FILE = "profiles.parquet"
ACTIVITY_FILE = "activity.parquet"
LABELS_FILE = "labels.parquet"
SNAPSHOT_FILE = "snapshot.parquet"
METADATA_FILE = "generator.json"

_TABLES = {
    PROFILES_FILE: ("profiles", schema.PROFILE_COLUMNS),
    ACTIVITY_FILE: ("activity", schema.ACTIVITY_COLUMNS),
    LABELS_FILE: ("labels", schema.LABEL_COLUMNS),
    SNAPSHOT_FILE: ("snapshot", schema.SNAPSHOT_COLUMNS),
}
# Settings of the world: an appended period must share them or it describes other customers.
_WORLD_KEYS = ("n_customers", "seed", "origin", "cadence_days")


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame without its index; same frame, same bytes."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, compression="snappy")


def _merge(existing: pd.DataFrame, new: pd.DataFrame) -> pd.DataFrame:
    """Concatenate, keep the new row of a duplicated key, sort by (customer, time)."""
    merged = pd.concat([existing, new], ignore_index=True)
    customer = merged[schema.ENTITY].to_numpy()
    stamp = merged[schema.TIMESTAMP].array.asi8
    order = np.lexsort((stamp, customer))  # stable: an old row precedes its new duplicate
    customer, stamp = customer[order], stamp[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = (customer[1:] != customer[:-1]) | (stamp[1:] != stamp[:-1])
    return merged.take(order[last]).reset_index(drop=True)


def _write_metadata(out_dir: Path, periods: list[dict[str, Any]]) -> None:
    text = json.dumps({"periods": periods}, indent=2, sort_keys=True)
    (out_dir / METADATA_FILE).write_text(text + "\n")


def write_sources(data: ChurnData, out_dir: str | Path) -> dict[str, Path]:
    """Write a window's files, replacing any existing ones.

    Writes ``profiles.parquet``, ``activity.parquet``, ``labels.parquet`` (the Feast
    sources), ``snapshot.parquet`` (the ground truth) and ``generator.json`` (config and
    summary of each period, read back by ``append_sources``).

    Args:
        data: The generated window.
        out_dir: Directory to write into (created if needed).

    Returns:
        The written paths by file name.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for file_name, (attribute, columns) in _TABLES.items():
        frame = getattr(data, attribute)
        schema.check_frame(frame, columns, attribute)
        _write_parquet(frame, out / file_name)
        paths[file_name] = out / file_name
    _write_metadata(out, [data.summary])
    paths[METADATA_FILE] = out / METADATA_FILE
    return paths


def read_periods(out_dir: str | Path) -> list[dict[str, Any]]:
    """The summaries of the periods written to ``out_dir`` (oldest first).

    Args:
        out_dir: A directory written by ``write_sources``.

    Returns:
        One summary per written or appended period.

    Raises:
        FileNotFoundError: If ``out_dir`` has no ``generator.json``.
    """
    path = Path(out_dir) / METADATA_FILE
    if not path.exists():
        raise FileNotFoundError(f"{path} not found: write_sources must run before appending")
    return json.loads(path.read_text())["periods"]


def append_sources(data: ChurnData, out_dir: str | Path) -> dict[str, Path]:
    """Append a later window to files written by ``write_sources``.

    Rows are concatenated, a row whose key (customer_id, event_timestamp) already exists is
    replaced by the new one, and every file is re-sorted by (customer_id, event_timestamp),
    the order ``generate`` emits, so the result depends only on the inputs.

    Args:
        data: The later window (same seed, customers, origin and cadence as the first).
        out_dir: The directory of the earlier window.

    Returns:
        The written paths by file name.

    Raises:
        FileNotFoundError: If ``out_dir`` holds no generated data.
        ValueError: If ``data`` describes another world (seed, customers, origin, cadence).
    """
    out = Path(out_dir)
    periods = read_periods(out)
    first, new = periods[0]["config"], data.summary["config"]
    clashes = {key: (first[key], new[key]) for key in _WORLD_KEYS if first[key] != new[key]}
    if clashes:
        raise ValueError(
            f"cannot append to {out}: the new period is another world, (existing, new) = {clashes};"
            " build it with GeneratorConfig.later_period of the first config"
        )
    paths = {}
    for file_name, (attribute, columns) in _TABLES.items():
        frame = getattr(data, attribute)
        schema.check_frame(frame, columns, attribute)
        merged = _merge(pd.read_parquet(out / file_name), frame)
        schema.check_frame(merged, columns, f"appended {attribute}")
        _write_parquet(merged, out / file_name)
        paths[file_name] = out / file_name
    _write_metadata(out, [*periods, data.summary])
    paths[METADATA_FILE] = out / METADATA_FILE
    return paths


def read_sources(out_dir: str | Path) -> dict[str, pd.DataFrame]:
    """Read the written files back.

    Args:
        out_dir: A directory written by ``write_sources``.

    Returns:
        Frames keyed ``profiles``, ``activity``, ``labels``, ``snapshot``.
    """
    out = Path(out_dir)
    return {attribute: pd.read_parquet(out / name) for name, (attribute, _) in _TABLES.items()}
