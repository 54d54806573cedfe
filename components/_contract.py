"""The one contract between a component's core and its KFP wrapper.

Every ``components/<name>/core.py`` exposes ``run(config, ...) -> <Name>Result``; the
result implements `ComponentResult` (metrics, artifact metadata, report payload) and,
where the step has them, ``html()`` / ``markdown()`` for its report files and
``return_value()`` for the component's single return value. `publish` turns a result
into the KFP outputs, so every ``component.py`` reads: read inputs, build the config,
``run``, ``publish``, return ``result.return_value()``. Non-finite metric values are
dropped here and only here; report files are written here and only here.

No kfp import: outputs are duck-typed (``.path``, ``.metadata``, ``.log_metric``), so
core code and tests can use this module without KFP.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class ComponentResult(Protocol):
    """What every core's ``run`` returns."""

    def metrics(self) -> dict[str, float]:
        """Scalar metrics of the step (non-finite values are dropped by `publish`)."""
        ...

    def metadata(self) -> dict[str, Any]:
        """Lineage for the output artifacts' ``metadata`` (JSON-serialisable values)."""
        ...

    def report(self) -> dict[str, Any]:
        """The step's full JSON report payload."""
        ...


def finite_metrics(values: Mapping[str, Any]) -> dict[str, float]:
    """Returns the values that are finite numbers, as floats (booleans count as 0/1).

    Args:
        values: Metric name -> value; None, NaN and infinities are dropped.
    """
    out = {}
    for name, value in values.items():
        if value is None:
            continue
        number = float(value)
        if math.isfinite(number):
            out[name] = number
    return out


def json_safe(value: Any) -> Any:
    """Returns `value` with non-finite floats as None and numpy scalars as Python values.

    Args:
        value: Nested dicts / lists / tuples of JSON-like values.
    """
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and callable(value.item) and type(value).__module__ == "numpy":
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def report_json(result: ComponentResult) -> str:
    """Returns the result's report as strict JSON (what `publish` writes).

    Args:
        result: A component result.
    """
    return json.dumps(json_safe(result.report()), indent=2, allow_nan=False, default=str)


def _write(path: str | Path, text: str) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def write_reports(
    result: Any,
    *,
    report_path: str | Path | None = None,
    html_path: str | Path | None = None,
    markdown_path: str | Path | None = None,
) -> None:
    """Writes a result's report files (creating directories): what `publish` and CLIs use.

    Args:
        result: A component result.
        report_path: Where ``result.report()`` goes as strict JSON.
        html_path: Where ``result.html()`` goes.
        markdown_path: Where ``result.markdown()`` goes.
    """
    if report_path is not None:
        _write(report_path, report_json(result))
    if html_path is not None:
        _write(html_path, result.html())
    if markdown_path is not None:
        _write(markdown_path, result.markdown())


def publish(
    result: ComponentResult,
    *,
    metrics: Any = None,
    metadata: Iterable[Any] = (),
    report: Any = None,
    html: Any = None,
    markdown: Any = None,
    frames: Mapping[Any, Any] | None = None,
    classification_metrics: Any = None,
    files: Mapping[Any, str] | None = None,
) -> None:
    """Writes a result to a component's KFP outputs.

    Args:
        result: What the core's ``run`` returned.
        metrics: An ``Output[Metrics]``: one ``log_metric`` per finite metric.
        metadata: Output artifacts whose ``metadata`` gets ``result.metadata()``.
        report: An output artifact for the JSON report (``result.report()``).
        html: An ``Output[HTML]`` for ``result.html()``.
        markdown: An ``Output[Markdown]`` for ``result.markdown()``.
        frames: ``Output[Dataset]`` -> data frame, each written as parquet.
        classification_metrics: An ``Output[ClassificationMetrics]`` for
            ``result.classification()`` (keys fpr, tpr, threshold, categories, matrix).
        files: Output artifact -> text written to its path (e.g. a rendered manifest).
    """
    if metrics is not None:
        for name, value in finite_metrics(result.metrics()).items():
            metrics.log_metric(name, value)
    lineage = result.metadata()
    for artifact in metadata:
        artifact.metadata.update(lineage)
    write_reports(
        result,
        report_path=None if report is None else report.path,
        html_path=None if html is None else html.path,
        markdown_path=None if markdown is None else markdown.path,
    )
    if classification_metrics is not None:
        curve = result.classification()
        classification_metrics.log_roc_curve(curve["fpr"], curve["tpr"], curve["threshold"])
        classification_metrics.log_confusion_matrix(curve["categories"], curve["matrix"])
    for output, text in (files or {}).items():
        _write(output.path, text)
    for output, frame in (frames or {}).items():
        Path(output.path).parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(output.path, index=False)
