"""The live window (components.get_live_window.core) read from a real prediction log on disk."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from components._serving.prediction_log import PredictionRecord, write_records
from components.get_live_window.core import live_window

T0 = dt.datetime(2026, 12, 1, 23, 59, 58, tzinfo=dt.UTC)


def _record(
    rid: str, model: str, version: str, seconds: int, rows: int, **extra
) -> PredictionRecord:
    inputs = pd.DataFrame(
        {
            "customer_id": np.arange(rows, dtype="int64") + seconds,
            "sessions_7d": np.linspace(0, 5, rows),
            "event_timestamp": ["2024-07-02T10:00:00+00:00"] * rows,
            **extra,
        }
    )
    return PredictionRecord(
        request_id=rid, model_name=model, model_version=version,
        timestamp=T0 + dt.timedelta(seconds=seconds), inputs=inputs,
        outputs={"churned_probability": np.full(rows, 0.25)},
    )  # fmt: skip


def test_window_keeps_the_models_served_rows_across_day_partitions(tmp_path):
    """Rows of one model in [start, end), across a midnight partition, shadow rows dropped.

    Proves: the time range is on the answer time and crosses date partitions, another
    model's rows and a shadow's rows (model_role=shadow) are left out, a version filter
    works, the client's event_timestamp is parsed to UTC and reported as the time source,
    and an empty window's error names the models the log does hold. Cannot prove: the
    s3:// path (pyarrow's filesystem layer, not exercised here).
    """
    write_records(
        tmp_path,
        [
            _record("a", "churn", "1", 0, 3),  # 23:59:58 on 12-01
            _record("b", "churn", "2", 4, 2),  # 00:00:02 on 12-02
            _record("c", "other", "1", 5, 4),
            _record("d", "churn", "2", 6, 2, model_role=["shadow", "shadow"]),
            _record("e", "churn", "2", 600, 5),  # after the window
        ],
    )
    start, end = "2026-12-01T23:59:00Z", "2026-12-02T00:05:00Z"
    frame, info = live_window(
        tmp_path, start, end, model_name="churn", entity_column="customer_id",
        time_column="event_timestamp",
    )  # fmt: skip
    assert sorted(frame["request_id"].unique()) == ["a", "b"]
    assert info.rows == 5
    assert info.model_versions == ["1", "2"]
    assert info.has_entity_key
    assert info.time_from == "client"
    assert str(frame["event_timestamp"].dtype) == "datetime64[ns, UTC]"
    only_v2, _ = live_window(tmp_path, start, end, model_name="churn", model_version="2")
    assert only_v2["request_id"].unique().tolist() == ["b"]
    with pytest.raises(
        ValueError, match=r"no rows of model 'nope'.*answered there: \['churn', 'other'\]"
    ):
        live_window(tmp_path, start, end, model_name="nope")
    with pytest.raises(ValueError, match="window_source must be one of"):
        live_window(tmp_path, start, end, model_name="churn", window_source="feast")
