"""Render a `ValidationReport` as one self-contained HTML page.

GX Data Docs are a multi-page site that pulls CSS/JS from public CDNs, which breaks
offline, air-gapped, and in the KFP UI's single-file HTML viewer. This page has inline
CSS only: no scripts, no external stylesheets, images, fonts or links. Every value from
the data is HTML-escaped.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from components.validate_data.core import CheckResult, ValidationReport

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1f2328}
h1{font-size:1.4em;margin:0 0 8px}h2{font-size:1.1em;margin:24px 0 8px}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff}
.pass{background:#1a7f37}.fail{background:#cf222e}
dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px;margin:12px 0}
dt{font-weight:600}dd{margin:0}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}tr.failed td{background:#ffebe9}
td.obs{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-word}
"""


def render_html(report: ValidationReport) -> str:
    """Returns the report as a complete, self-contained HTML document.

    Args:
        report: The validation report.
    """
    verdict = "PASSED" if report.success else "FAILED"
    css_class = "pass" if report.success else "fail"
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
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Data validation: {escape(report.contract_name)} "
        f'<span class="badge {css_class}">{verdict}</span></h1>'
        f"<dl>{summary_html}</dl>{failures}"
        "<h2>All expectations</h2><table><thead><tr><th>#</th><th>Result</th><th>Column</th>"
        "<th>Check</th><th>Expectation</th><th>Expected</th><th>Observed</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></body></html>\n"
    )


def _row(index: int, check: CheckResult) -> str:
    status = "pass" if check.success else "fail"
    cells = (check.column, check.check, check.expectation, check.expected)
    return (
        f'<tr class="{"passed" if check.success else "failed"}"><td>{index}</td>'
        f'<td><span class="badge {status}">{status.upper()}</span></td>'
        + "".join(f"<td>{escape(str(v))}</td>" for v in cells)
        + f'<td class="obs">{escape(check.observed)}</td></tr>'
    )
