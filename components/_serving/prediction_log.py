"""The prediction log: every answered V2 request, as parquet partitioned by date.

Layout (the same locally and on the object store)::

    <root>/date=YYYY-MM-DD/part-<HHMMSSffffff>-<pid>-<random>.parquet

One row per input row of a request, with the columns

- ``request_id``: the client's ``x-request-id``, else the V2 request ``id``
  (the client's or one MLServer generated), also returned to the client in the
  ``x-request-id`` response header;
- ``model_name``, ``model_version``: what answered;
- ``model_role``: ``champion`` (the answer the client got) or ``shadow`` (a
  challenger scored on the same request beside it, logged under the same
  request id; see :mod:`components._serving.runtime`);
- ``timestamp``: when the answer was made (UTC);
- ``row``: the row's position in its request;
- every input the request carried, by name (the model's features, plus any
  extra input such as the entity key, kept for joining labels later);
- every output, by name (e.g. ``<label>_probability``); an output with more
  than one value per row becomes ``<name>_0``, ``<name>_1``, ...

Writers: the suite MLServer runtime (``make serve``: ``<DATA_DIR>/predictions``)
and the cluster logger service (KServe's InferenceService ``logger``), both via
:class:`PredictionLogWriter`. Reader: :func:`read_prediction_log`.

Nothing heavy is imported at module level (pyarrow and pandas inside functions).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components._time import to_utc

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

PREDICTION_LOG_DIR = "predictions"
"""Folder of the prediction log under the data dir (``<DATA_DIR>/predictions``)."""

REQUEST_ID_HEADER = "x-request-id"
META_COLUMNS = ("request_id", "model_name", "model_version", "model_role", "timestamp", "row")
ROLE_CHAMPION = "champion"
"""``model_role`` of the answer a client got."""
ROLE_SHADOW = "shadow"
"""``model_role`` of a shadow challenger's answer to the same request (never returned)."""
_PARTITION_PREFIX = "date="


@dataclass(frozen=True)
class PredictionRecord:
    """One answered request, as the serving process saw it.

    Attributes:
        request_id: The id the answer is logged (and returned) under.
        model_name: V2 model name.
        model_version: Model version ("" if unversioned).
        timestamp: When the answer was made (tz-aware UTC).
        inputs: The request's input columns, one row per input row.
        outputs: Output name -> array with one leading entry per row.
        model_role: `ROLE_CHAMPION` (answered) or `ROLE_SHADOW` (scored beside it).
    """

    request_id: str
    model_name: str
    model_version: str
    timestamp: dt.datetime
    inputs: pd.DataFrame
    outputs: Mapping[str, np.ndarray]
    model_role: str = ROLE_CHAMPION


def records_frame(records: Sequence[PredictionRecord]) -> pd.DataFrame:
    """Returns the log rows of several records (the columns described in the module docstring).

    Built column by column over the whole batch (one concat of the inputs, repeated
    meta values), not record by record: the writer thread shares the serving
    process's interpreter, and the time it holds it is time a request may wait.

    Raises:
        ValueError: If an output does not have one entry per input row.
    """
    import numpy as np
    import pandas as pd

    counts = np.asarray([len(r.inputs) for r in records], dtype="int64")
    for record, rows in zip(records, counts, strict=True):
        for name, values in record.outputs.items():
            if np.shape(values)[:1] != (rows,):
                raise ValueError(
                    f"output {name!r} has shape {list(np.shape(values))} for {rows} input rows"
                )
    inputs = pd.concat([r.inputs for r in records], ignore_index=True)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    meta = pd.DataFrame(
        {
            "request_id": np.repeat([r.request_id for r in records], counts).astype(object),
            "model_name": np.repeat([r.model_name for r in records], counts).astype(object),
            "model_version": np.repeat([r.model_version for r in records], counts).astype(object),
            "model_role": np.repeat([r.model_role for r in records], counts).astype(object),
            "timestamp": pd.DatetimeIndex(
                np.repeat([pd.Timestamp(r.timestamp).tz_convert("UTC") for r in records], counts)
            ).astype("datetime64[us, UTC]"),
            "row": np.arange(int(counts.sum()), dtype="int64") - starts,
        }
    )
    outputs: dict[str, np.ndarray] = {}
    for name in dict.fromkeys(n for r in records for n in r.outputs):
        flat = np.concatenate(
            [np.asarray(r.outputs[name]).reshape(len(r.inputs), -1) for r in records]
        )
        if flat.shape[1] == 1:
            outputs[name] = flat[:, 0]
        else:
            outputs.update({f"{name}_{j}": flat[:, j] for j in range(flat.shape[1])})
    return pd.concat([meta, inputs, pd.DataFrame(outputs)], axis=1)


def _tensor_column(tensor: Mapping[str, Any]) -> list[Any]:
    """Returns a V2 JSON tensor's values as one value per row (shape [n] or [n, 1])."""
    import numpy as np

    data = tensor.get("data")
    shape = [int(d) for d in tensor.get("shape", [])]
    values = np.asarray(data, dtype=object).reshape(-1)
    if tensor.get("datatype") == "BYTES":
        values = [v.decode("utf-8") if isinstance(v, bytes) else v for v in values]
        return list(values)
    rows = shape[0] if shape else len(values)
    if rows and len(values) != rows:
        raise ValueError(f"input {tensor.get('name')!r} has shape {shape}: not one value per row")
    return [np.nan if v is None else v for v in values]


def record_from_v2(
    request: Mapping[str, Any],
    response: Mapping[str, Any],
    *,
    request_id: str,
    timestamp: dt.datetime,
) -> PredictionRecord:
    """Builds a record from a V2 JSON request and its JSON response (the cluster logger's input).

    Args:
        request: The V2 inference request body.
        response: The V2 inference response body.
        request_id: The id to log under (KServe's CloudEvent ``ce-id``).
        timestamp: When the answer was made.

    Raises:
        ValueError: If the bodies are not a V2 request/response pair.
    """
    import numpy as np
    import pandas as pd

    inputs = request.get("inputs")
    outputs = response.get("outputs")
    if not isinstance(inputs, list) or not isinstance(outputs, list):
        raise ValueError("not a V2 request/response pair: 'inputs' and 'outputs' must be lists")
    frame = pd.DataFrame({t["name"]: _tensor_column(t) for t in inputs})
    for tensor in inputs:
        if tensor.get("datatype") not in (None, "BYTES"):
            frame[tensor["name"]] = pd.to_numeric(frame[tensor["name"]])
    arrays = {
        out["name"]: np.asarray(out["data"], dtype=float).reshape([int(d) for d in out["shape"]])
        for out in outputs
    }
    return PredictionRecord(
        request_id=request_id,
        model_name=str(response.get("model_name", "")),
        model_version=str(response.get("model_version") or ""),
        timestamp=timestamp,
        inputs=frame,
        outputs=arrays,
    )


def _filesystem(root: str | Path) -> tuple[Any, str]:
    """Returns (pyarrow filesystem, path inside it) for a local path or a URL (``s3://...``)."""
    import pyarrow.fs as pafs

    text = str(root)
    if "://" in text:
        return pafs.FileSystem.from_uri(text)
    return pafs.LocalFileSystem(), str(Path(text).resolve())


def write_records(root: str | Path, records: Sequence[PredictionRecord]) -> list[str]:
    """Writes records as one parquet file per date partition; returns the files written.

    A file is written under a temporary name and renamed, so a reader never
    sees half a file.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not records:
        return []
    frame = records_frame(records)
    fs, base = _filesystem(root)
    written = []
    stamp = dt.datetime.now(dt.UTC).strftime("%H%M%S%f")
    for day, part in frame.groupby(frame["timestamp"].dt.strftime("%Y-%m-%d"), sort=True):
        folder = f"{base}/{_PARTITION_PREFIX}{day}"
        fs.create_dir(folder, recursive=True)
        name = f"part-{stamp}-{os.getpid()}-{uuid.uuid4().hex[:8]}.parquet"
        table = pa.Table.from_pandas(part.reset_index(drop=True), preserve_index=False)
        tmp = f"{folder}/.{name}.tmp"
        with fs.open_output_stream(tmp) as sink:
            pq.write_table(table, sink)
        fs.move(tmp, f"{folder}/{name}")
        written.append(f"{folder}/{name}")
    return written


class PredictionLogWriter:
    """Buffers records in memory and writes them from a background thread.

    :meth:`record` only appends to a list under a lock, so answering a request
    does not wait for pandas or the disk. The thread writes whatever is
    buffered every ``flush_interval_s`` seconds (or sooner once ``flush_rows``
    records wait); :meth:`close` writes the rest. :meth:`close` is also
    registered to run at interpreter exit, including in MLServer's inference
    worker processes (``multiprocessing`` finalizers run there on a clean
    shutdown, ``atexit`` handlers do not).
    """

    def __init__(
        self, root: str | Path, *, flush_interval_s: float = 2.0, flush_rows: int = 1000
    ) -> None:
        """Starts the writer thread.

        Args:
            root: Log root: a local folder or a URL (``s3://bucket/prefix``).
            flush_interval_s: Longest time a record waits in memory.
            flush_rows: Records that trigger an early write.
        """
        from multiprocessing import util

        self.root = root
        self._interval = flush_interval_s
        self._flush_rows = flush_rows
        self._buffer: list[PredictionRecord] = []
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self.files: list[str] = []
        self.errors: list[str] = []
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()
        util.Finalize(None, self.close, exitpriority=10)

    def record(self, record: PredictionRecord) -> None:
        """Queues one answered request (cheap: no I/O, no pandas)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("prediction log writer is closed")
            self._buffer.append(record)
            full = len(self._buffer) >= self._flush_rows
        if full:
            self._wake.set()

    def flush(self) -> list[str]:
        """Writes every buffered record now; returns the files written.

        A failed write keeps its records in the buffer for the next attempt and
        is remembered in :attr:`errors`.
        """
        with self._write_lock:
            with self._lock:
                pending, self._buffer = self._buffer, []
            try:
                written = write_records(self.root, pending)
            except Exception as exc:  # keep serving; retry these records on the next flush
                with self._lock:
                    self._buffer[:0] = pending
                self.errors.append(f"{type(exc).__name__}: {exc}")
                return []
            self.files.extend(written)
            return written

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            if self._closed:
                return
            self.flush()

    def close(self) -> None:
        """Stops the thread and writes what is left; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._wake.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self.flush()


def _partition_days(start: dt.datetime, end: dt.datetime) -> list[str]:
    first, last = start.astimezone(dt.UTC).date(), end.astimezone(dt.UTC).date()
    return [(first + dt.timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


def read_prediction_log(
    root: str | Path,
    start: dt.datetime | str,
    end: dt.datetime | str,
    *,
    model_name: str | None = None,
    model_role: str | None = ROLE_CHAMPION,
) -> pd.DataFrame:
    """Returns the log rows answered in ``[start, end)`` as one frame.

    Columns: ``request_id``, ``model_name``, ``model_version``, ``model_role``,
    ``timestamp``, ``row``, then the input (feature) columns and the output
    columns, sorted by time, request and row: ready for a drift check on the
    features, or a join with labels by ``request_id`` or by entity key and
    ``timestamp``. Rows written before the log had ``model_role`` are champion rows.

    Args:
        root: Log root (local folder or ``s3://...``).
        start: Window start, inclusive (naive means UTC).
        end: Window end, exclusive (naive means UTC).
        model_name: Only this model's rows; None for all.
        model_role: Only rows of this role; the default keeps what clients were
            answered (shadow answers are left out), None keeps both.

    Raises:
        ValueError: If ``end`` is not after ``start``.
    """
    import pandas as pd
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    start_utc, end_utc = to_utc(start).to_pydatetime(), to_utc(end).to_pydatetime()
    if end_utc <= start_utc:
        raise ValueError(f"empty window: end {end_utc} is not after start {start_utc}")
    fs, base = _filesystem(root)
    parts: list[pd.DataFrame] = []
    for day in _partition_days(start_utc, end_utc):
        selector = pafs.FileSelector(f"{base}/{_PARTITION_PREFIX}{day}", allow_not_found=True)
        for info in sorted(fs.get_file_info(selector), key=lambda i: i.path):
            name = info.base_name
            if info.type != pafs.FileType.File or not name.endswith(".parquet"):
                continue
            if name.startswith("."):
                continue
            parts.append(pq.read_table(info.path, filesystem=fs, partitioning=None).to_pandas())
    if not parts:
        empty = pd.DataFrame({c: [] for c in META_COLUMNS})
        empty["timestamp"] = empty["timestamp"].astype("datetime64[us, UTC]")
        return empty
    frame = pd.concat(parts, ignore_index=True)
    if "model_role" not in frame.columns:
        frame.insert(META_COLUMNS.index("model_role"), "model_role", ROLE_CHAMPION)
    frame["model_role"] = frame["model_role"].fillna(ROLE_CHAMPION)
    keep = (frame["timestamp"] >= start_utc) & (frame["timestamp"] < end_utc)
    if model_name is not None:
        keep &= frame["model_name"] == model_name
    if model_role is not None:
        keep &= frame["model_role"] == model_role
    frame = frame[keep].sort_values(["timestamp", "request_id", "model_role", "row"], kind="stable")
    return frame.reset_index(drop=True)
