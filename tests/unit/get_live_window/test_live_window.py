"""The live window (components.get_live_window.core.run) read from a real prediction log on disk."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from components._serving.prediction_log import (
    ROLE_CHAMPION,
    ROLE_SHADOW,
    PredictionRecord,
    write_records,
)
from components.get_live_window.core import GetLiveWindowConfig, run

T0 = dt.datetime(2026, 12, 1, 23, 59, 58, tzinfo=dt.UTC)


def _record(
    rid: str, model: str, version: str, seconds: int, rows: int, role: str = ROLE_CHAMPION
) -> PredictionRecord:
    inputs = pd.DataFrame(
        {
            "customer_id": np.arange(rows, dtype="int64") + seconds,
            "sessions_7d": np.linspace(0, 5, rows),
            "event_timestamp": ["2024-07-02T10:00:00+00:00"] * rows,
        }
    )
    return PredictionRecord(
        request_id=rid, model_name=model, model_version=version,
        timestamp=T0 + dt.timedelta(seconds=seconds), inputs=inputs,
        outputs={"churned_probability": np.full(rows, 0.25)}, model_role=role,
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
            _record("d", "churn", "2", 6, 2, role=ROLE_SHADOW),
            _record("e", "churn", "2", 600, 5),  # after the window
        ],
    )
    start, end = "2026-12-01T23:59:00Z", "2026-12-02T00:05:00Z"
    window = run(
        GetLiveWindowConfig(
            str(tmp_path), start, end, "churn", entity_column="customer_id",
            time_column="event_timestamp",
        )
    )  # fmt: skip
    frame, info = window.frame, window.info
    assert sorted(frame["request_id"].unique()) == ["a", "b"]
    assert info.rows == 5
    assert info.model_versions == ["1", "2"]
    assert info.has_entity_key
    assert info.time_from == "client"
    assert str(frame["event_timestamp"].dtype) == "datetime64[ns, UTC]"
    assert window.metadata() == {**info.to_dict(), "row_count": 5}
    only_v2 = run(GetLiveWindowConfig(str(tmp_path), start, end, "churn", model_version="2"))
    assert only_v2.frame["request_id"].unique().tolist() == ["b"]
    with pytest.raises(
        ValueError, match=r"no rows of model 'nope'.*answered there: \['churn', 'other'\]"
    ):
        run(GetLiveWindowConfig(str(tmp_path), start, end, "nope"))
    with pytest.raises(ValueError, match="window_source must be one of"):
        GetLiveWindowConfig(str(tmp_path), start, end, "churn", window_source="feast")


def test_the_wrapper_publishes_the_window_and_its_metadata(tmp_path):
    """The KFP wrapper's body on a real Dataset output: parquet rows and metadata.

    Proves: the component writes the window's rows (the two champion rows of model
    ``churn``, the shadow row left out) as parquet and puts the window's info and
    ``row_count`` on the artifact. Cannot prove: how a KFP backend uploads the file.
    """
    from kfp.dsl import Dataset

    from components.get_live_window.component import get_live_window

    write_records(
        tmp_path / "log",
        [
            _record("a", "churn", "1", 0, 2),
            _record("s", "churn", "1", 0, 2, role=ROLE_SHADOW),
        ],
    )
    window = Dataset(uri=str(tmp_path / "out" / "window"))
    get_live_window.python_func(
        str(tmp_path / "log"), "2026-12-01T23:59:00Z", "2026-12-02T00:05:00Z", "churn",
        entity_column="customer_id", window=window,
    )  # fmt: skip
    written = pd.read_parquet(window.path)
    assert written["request_id"].tolist() == ["a", "a"]
    assert written["customer_id"].tolist() == [0, 1]
    assert window.metadata["row_count"] == 2
    assert window.metadata["requests"] == 1
    assert window.metadata["has_entity_key"] is True
    assert window.metadata["time_from"] == "answer"
