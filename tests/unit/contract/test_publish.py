"""The one publish helper and the shared time parser, on real KFP artifact objects."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from kfp.dsl import HTML, Artifact, ClassificationMetrics, Dataset, Markdown, Metrics

from components._contract import ComponentResult, finite_metrics, publish
from components._time import parse_utc, to_utc, utc_series


@dataclass(frozen=True)
class _Result:
    """A result with every optional method, values chosen to exercise each rule."""

    def metrics(self) -> dict[str, float]:
        return {"auc": 0.75, "nan": float("nan"), "inf": math.inf, "flag": True, "none": None}

    def metadata(self) -> dict[str, Any]:
        return {"rows": 3, "model_uri": "models:/m/1"}

    def report(self) -> dict[str, Any]:
        return {"auc": 0.75, "gap": float("nan"), "nested": [{"x": -math.inf}]}

    def html(self) -> str:
        return "<!DOCTYPE html><p>ok</p>"

    def markdown(self) -> str:
        return "# ok\n"

    def classification(self) -> dict[str, Any]:
        return {
            "fpr": [0.0, 1.0],
            "tpr": [0.0, 1.0],
            "threshold": [1.0, 0.0],
            "categories": ["no", "yes"],
            "matrix": [[3, 1], [0, 2]],
        }


def test_publish_writes_every_output_and_drops_non_finite_metrics(tmp_path):
    """One call fills each KFP output the way every component relies on.

    Proves: only finite metrics are logged (booleans as 0/1, None/NaN/inf dropped);
    metadata lands on every listed artifact; the JSON report is strict JSON with
    non-finite values as null; HTML, Markdown, parquet frames and text files are written
    (directories created); the ROC curve and confusion matrix reach the
    ClassificationMetrics artifact. Cannot prove the KFP backend uploads the files.
    """
    out = {
        kind: cls(uri=str(tmp_path / "o" / kind))
        for kind, cls in {
            "metrics": Metrics,
            "report": Artifact,
            "html": HTML,
            "md": Markdown,
            "frame": Dataset,
            "text": Artifact,
            "cm": ClassificationMetrics,
        }.items()
    }
    frame = pd.DataFrame({"a": [1, 2, 3]})
    result = _Result()
    assert isinstance(result, ComponentResult)

    publish(
        result,
        metrics=out["metrics"],
        metadata=[out["report"], out["html"]],
        report=out["report"],
        html=out["html"],
        markdown=out["md"],
        frames={out["frame"]: frame},
        files={out["text"]: "kind: X\n"},
        classification_metrics=out["cm"],
    )

    assert out["metrics"].metadata == {"auc": 0.75, "flag": 1.0}
    assert out["report"].metadata == out["html"].metadata == result.metadata()
    written = (tmp_path / "o" / "report").read_text(encoding="utf-8")
    assert json.loads(written) == {"auc": 0.75, "gap": None, "nested": [{"x": None}]}
    assert (tmp_path / "o" / "html").read_text(encoding="utf-8") == result.html()
    assert (tmp_path / "o" / "md").read_text(encoding="utf-8") == "# ok\n"
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "o" / "frame"), frame)
    assert (tmp_path / "o" / "text").read_text(encoding="utf-8") == "kind: X\n"
    matrix = out["cm"].metadata["confusionMatrix"]
    assert [c["displayName"] for c in matrix["annotationSpecs"]] == ["no", "yes"]
    assert [r["row"] for r in matrix["rows"]] == [[3, 1], [0, 2]]
    assert len(out["cm"].metadata["confidenceMetrics"]) == 2


def test_finite_metrics_is_the_one_filter():
    """The filter keeps finite numbers only.

    Proves: numpy-like floats, ints and bools pass as floats; NaN, infinities and None
    do not. Cannot prove no component filters again (the contract says it must not).
    """
    assert finite_metrics({"a": 1, "b": 2.5, "c": False, "d": float("nan"), "e": None}) == {
        "a": 1.0,
        "b": 2.5,
        "c": 0.0,
    }


def test_naive_times_are_utc_and_bad_parameters_are_named():
    """The shared time parser: naive means UTC, offsets convert, empty means unset.

    Proves: a naive string, an offset string and a naive datetime column give the
    same UTC instant a reference computation gives; blank is None; a bad value names
    the parameter. Cannot prove every ISO 8601 variant pandas accepts.
    """
    expected = pd.Timestamp("2024-03-01T10:00:00", tz="UTC")
    assert to_utc("2024-03-01T10:00:00") == expected
    assert to_utc("2024-03-01T12:00:00+02:00") == expected
    assert parse_utc("2024-03-01T10:00", "start") == expected
    assert parse_utc("  ", "start") is None
    with pytest.raises(ValueError, match="end='soon' is not an ISO date/time"):
        parse_utc("soon", "end")
    column = utc_series(pd.Series(pd.to_datetime(["2024-03-01T10:00:00"])))
    assert str(column.dtype) == "datetime64[ns, UTC]"
    assert column.iloc[0] == expected
