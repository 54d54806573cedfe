"""The one HTML shell of every report the suite writes (drift, data validation, ...).

The KFP UI shows an ``HTML`` artifact as a single file, often offline: a page is
inline CSS (one visual style for every report) and markup only, no scripts, fonts,
images or links to fetch. Callers escape every value that comes from data.
"""

from __future__ import annotations

from html import escape

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1f2328;
max-width:1100px}
h1{font-size:1.4em;margin:0 0 8px}
h2{font-size:1.1em;margin:24px 0 8px;border-bottom:1px solid #d0d7de}
.badge{display:inline-block;padding:2px 10px;border-radius:12px;font-weight:600;color:#fff}
.ok{background:#1a7f37}.bad{background:#cf222e}.neutral{background:#6e7781}
dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px;margin:12px 0}
dt{font-weight:600}dd{margin:0}
table{border-collapse:collapse;width:100%;font-size:.9em}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}tr.flag td,tr.failed td{background:#ffebe9}
.num{text-align:right;font-variant-numeric:tabular-nums}
.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-word}
.meta{font-size:.9em;color:#57606a}.charts{display:flex;flex-wrap:wrap;gap:16px}
.chart{border:1px solid #eaeef2;padding:6px}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
"""

TONES = ("ok", "bad", "neutral")


def badge(text: str, tone: str) -> str:
    """Returns a coloured verdict label.

    Args:
        text: The label (escaped here).
        tone: ``ok`` (green), ``bad`` (red) or ``neutral`` (grey).

    Raises:
        ValueError: If `tone` is not one of `TONES`.
    """
    if tone not in TONES:
        raise ValueError(f"tone={tone!r}; expected one of {TONES}")
    return f'<span class="badge {tone}">{escape(text)}</span>'


def page(title: str, body: str) -> str:
    """Returns a complete, self-contained HTML document in the suite's one style.

    Args:
        title: Document title (escaped here).
        body: The page's markup, already escaped by the caller.
    """
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>\n"
        f"{body}\n</body></html>\n"
    )
