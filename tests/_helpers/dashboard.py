"""Read the Grafana dashboard's panel queries (tests evaluate each against a real Prometheus)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def panel_queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """Yields ``(row title, panel title, expr)`` for every target of every panel."""
    row = ""
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            row = panel["title"]
            for inner in panel.get("panels", []):
                for target in inner.get("targets", []):
                    yield row, inner["title"], target["expr"]
            continue
        for target in panel.get("targets", []):
            yield row, panel["title"], target["expr"]


def resolve_variables(expr: str, values: dict[str, str] | None = None) -> str:
    """Substitutes the dashboard's template variables (``$model`` = All = ``.*``)."""
    out = expr
    for name, value in (values or {"model": ".*"}).items():
        out = out.replace(f"${{{name}}}", value).replace(f"${name}", value)
    return out
