"""Render a `ValidationReport` as one self-contained HTML page.

GX Data Docs are a multi-page site that pulls CSS/JS from public CDNs, which breaks
offline, air-gapped, and in the KFP UI's single-file HTML viewer. This page has inline
CSS only: no scripts, no external stylesheets, images, fonts or links. Every value from
the data is HTML-escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from components._html import badge, page


def render_html(report: Any) -> str:
    """Returns the report as a complete, self-contained HTML document.

    Args:
        report: The `ValidationReport` (read by attribute, so this module needs no
            import of the core that calls it).
    """
    verdict = "PASSED" if report.success else "FAILED"
    tone = "ok" if report.success else "bad"
    summary = {
        "Contract": f"{report.contract_name} v{report.contract_version}",
        "Rows": f"{report.rows:,}",
        "Expectations evaluated": str(len(report.checks)),
        "Expectations failed": str(len(report.failures)),
        "Validation time (now)": report.now,
        "Duration": f"{report.duration_s:.3f} s",
    }
    summary_html = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in summary.items())
    failures = (
        "<h2>Failed expectations</h2><ul>"
        + "".join(f"<li>{escape(c.describe())}</li>" for c in report.failures)
        + "</ul>"
        if report.failures
        else ""
    )
    rows = "".join(_row(i, c) for i, c in enumerate(report.checks, start=1))
    title = f"Data validation: {report.contract_name} v{report.contract_version} - {verdict}"
    return page(
        title,
        f"<h1>Data validation: {escape(report.contract_name)} {badge(verdict, tone)}</h1>"
        f"<dl>{summary_html}</dl>{failures}"
        "<h2>All expectations</h2><table><thead><tr><th>#</th><th>Result</th><th>Column</th>"
        "<th>Check</th><th>Expectation</th><th>Expected</th><th>Observed</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>",
    )


def _row(index: int, check: Any) -> str:
    status = "pass" if check.success else "fail"
    cells = (check.column, check.check, check.expectation, check.expected)
    return (
        f'<tr class="{"passed" if check.success else "failed"}"><td>{index}</td>'
        f"<td>{badge(status.upper(), 'ok' if check.success else 'bad')}</td>"
        + "".join(f"<td>{escape(str(v))}</td>" for v in cells)
        + f'<td class="mono">{escape(check.observed)}</td></tr>'
    )
