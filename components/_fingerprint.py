"""Content fingerprints of data frames (``sha256:<hex>``), stamped as lineage everywhere.

`get_features` stamps one on its Dataset, `train_model` on the training run and the
holdout, `evaluate_model` on the evaluated holdout: one function, so equal frames give
equal fingerprints across steps.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """Returns ``sha256:<hex>`` over a canonical serialisation of a frame.

    Serialised, in order: the column names and dtypes (JSON), the row count, then per
    column its null mask (packed bits) and its non-null values: datetimes as int64 UTC
    nanoseconds, numbers and booleans as little-endian int64/float64, anything else as
    UTF-8 text of ``str(value)`` (Arrow large_string offsets + bytes). Nulls are written
    as 0 / "", so the mask alone tells them apart. The index is ignored. Equal frames (same columns,
    dtypes, order and values) give equal fingerprints on any machine or library
    version; one changed value, row order or dtype changes it.

    Args:
        frame: The frame to fingerprint.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    digest = hashlib.sha256()
    header = [[str(name), str(dtype)] for name, dtype in frame.dtypes.items()]
    digest.update(json.dumps(header).encode())
    digest.update(len(frame).to_bytes(8, "little"))
    for _, column in frame.items():
        null = column.isna().to_numpy()
        digest.update(np.packbits(null).tobytes())
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            column = column.dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            values = column.to_numpy("datetime64[ns]").view("<i8").copy()
            values[null] = 0
            digest.update(values.tobytes())
        elif pd.api.types.is_bool_dtype(column.dtype) or pd.api.types.is_integer_dtype(
            column.dtype
        ):
            digest.update(column.fillna(0).to_numpy("<i8").tobytes())
        elif pd.api.types.is_float_dtype(column.dtype):
            digest.update(column.fillna(0.0).to_numpy("<f8").tobytes())
        else:
            try:
                text = pa.array(column.to_numpy(object), pa.large_string(), from_pandas=True)
            except (pa.ArrowTypeError, pa.ArrowInvalid):  # not all str: hash str(value)
                values = np.where(null, None, column.astype(str).to_numpy(object))
                text = pa.array(values, pa.large_string(), from_pandas=True)
            offsets_buffer, data = text.buffers()[1:]
            offsets = np.frombuffer(offsets_buffer, "<i8", count=len(text) + 1)
            digest.update(offsets.tobytes())
            digest.update(memoryview(data)[: offsets[-1]] if data is not None else b"")
    return f"sha256:{digest.hexdigest()}"
