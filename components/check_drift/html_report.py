"""Renders a `DriftReport` as one self-contained HTML file.

The KFP UI shows an ``HTML`` artifact as a single file, often offline: the page
uses inline CSS and inline SVG only, no scripts, fonts, images or links to
fetch. Every value from the data is HTML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from components._html import badge, page

TOP_FEATURE_PLOTS = 6
REF_COLOR = "#4c78a8"
CUR_COLOR = "#f58518"
_STATUS = {
    "drift": ("DRIFT DETECTED", "bad"),
    "no_drift": ("No drift", "ok"),
    "insufficient_data": ("Insufficient data", "neutral"),
}


def _fmt(value: float | None, spec: str = ".3g") -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return format(value, spec)


def bar_chart_svg(
    title: str, bins: Sequence[str], reference: Sequence[float], current: Sequence[float]
) -> str:
    """Grouped bar chart (share per bin, reference vs current) as inline SVG."""
    n = max(len(bins), 1)
    group, left, top, plot_h, label_h = 40, 40, 24, 140, 70
    width, height = left + n * group + 10, top + plot_h + label_h
    peak = max([*reference, *current, 1e-9])
    parts = [
        f'<svg width="{width}" height="{height}" role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="14" font-size="12" font-weight="600">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{peak:.0%}</text>',
    ]
    for i, label in enumerate(bins):
        x = left + i * group + 4
        for k, (share, color) in enumerate(((reference[i], REF_COLOR), (current[i], CUR_COLOR))):
            h = plot_h * share / peak
            who = "reference" if k == 0 else "current"
            parts.append(
                f'<rect x="{x + k * 16}" y="{top + plot_h - h:.1f}" width="15" height="{h:.1f}" '
                f'fill="{color}"><title>{escape(label)} {who}: {share:.1%}</title></rect>'
            )
        short = label if len(label) <= 14 else label[:13] + "…"
        lx, ly = x + 16, top + plot_h + 10
        parts.append(
            f'<text x="{lx}" y="{ly}" font-size="10" text-anchor="end" '
            f'transform="rotate(-40 {lx} {ly})">{escape(short)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def importance_svg(importances: dict[str, float]) -> str:
    """Horizontal bars of the domain classifier's feature importances."""
    items = list(importances.items())
    row, left, width = 18, 150, 420
    peak = max([v for _, v in items] + [1e-9])
    parts = [
        f'<svg width="{width}" height="{row * len(items) + 6}" role="img" '
        'aria-label="feature importances">'
    ]
    for i, (name, value) in enumerate(items):
        y = i * row + 3
        w = (width - left - 50) * value / peak
        parts.append(
            f'<text x="{left - 6}" y="{y + 12}" font-size="11" text-anchor="end">'
            f"{escape(name)}</text>"
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{row - 5}" fill="{REF_COLOR}"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + 12}" font-size="10">{value:.3f}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _feature_row(f: Any) -> str:
    detail = "; ".join([*f.reasons, *f.notes]) or ""
    return (
        f'<tr class="{"flag" if f.drifted else ""}"><td>{escape(f.name)}</td>'
        f"<td>{f.kind}</td><td>{f.test}</td>"
        f'<td class="num">{_fmt(f.statistic)}</td><td class="num">{_fmt(f.p_value)}</td>'
        f'<td class="num">{_fmt(f.q_value)}</td><td>{"yes" if f.significant else "no"}</td>'
        f'<td class="num">{_fmt(f.psi, ".3f")}</td><td class="num">{_fmt(f.distance, ".3f")}</td>'
        f'<td class="num">{f.null_share_reference:.1%} &rarr; {f.null_share_current:.1%}</td>'
        f"<td>{'yes' if f.drifted else 'no'}</td><td>{escape(detail)}</td></tr>"
    )


def _feature_chart(f: Any) -> str:
    return bar_chart_svg(f.name, f.bins, f.reference_share, f.current_share)


def _checks_table(report: Any) -> str:
    rows = []
    if report.feature_threshold is not None or "feature" in report.params["checks"]:
        rows.append(
            (
                "feature (KS / Chi2)",
                bool(report.drifted_features),
                f"{len(report.drifted_features)} of {len(report.features)} drifted, "
                f"p-value cutoff {_fmt(report.feature_threshold)} ({report.params['correction']})",
            )
        )
    if "psi" in report.params["checks"]:
        over = [f.name for f in report.features if f.alarm_psi >= report.params["psi_threshold"]]
        rows.append(("PSI", bool(over), f"threshold {report.params['psi_threshold']}: {over}"))
    if report.prediction:
        p = report.prediction
        rows.append(
            (
                "prediction (KS on scores)",
                p.drifted,
                f"p={_fmt(p.p_value)} vs {_fmt(p.threshold)}, mean score "
                f"{p.reference_mean:.3f} → {p.current_mean:.3f}, PSI {_fmt(p.psi, '.3f')}",
            )
        )
    if report.multivariate:
        m = report.multivariate
        rows.append(
            (
                "multivariate (domain classifier)",
                m.drifted,
                f"p={_fmt(m.p_value)} vs {_fmt(m.threshold)}, distance {_fmt(m.distance)}",
            )
        )
    if report.performance:
        rows.append(("performance (ROC AUC)", report.performance.degraded, report.performance.note))
    body = "".join(
        f'<tr class="{"flag" if flag else ""}"><td>{name}</td>'
        f"<td>{'DRIFT' if flag else 'ok'}</td><td>{escape(detail)}</td></tr>"
        for name, flag, detail in rows
    )
    return f"<table><tr><th>check</th><th>result</th><th>detail</th></tr>{body}</table>"


def _governance_table(report: Any) -> str:
    g = report.governance
    if g is None:
        return ""
    cooldown = (
        "not a retrained champion"
        if g.windows_since_retrain is None
        else f"{g.windows_since_retrain} earlier window(s) since the retrain at {g.retrained_at}"
    )
    rows = [
        ("raw alarm (significance only)", "yes" if g.raw_alarm else "no"),
        ("window alarm (significance and effect size)", "yes" if g.window_alarm else "no"),
        (
            f"persistence ({g.persistence_k} of {g.persistence_m})",
            f"{g.recent_alarms} alarm(s) in the last {g.windows_seen} window(s)",
        ),
        (
            f"cooldown ({g.cooldown_windows} window(s))",
            f"{'in cooldown' if g.in_cooldown else 'not in cooldown'}: {cooldown}",
        ),
        ("champion version / history", f"{g.champion_version} / {g.history or 'none'}"),
        ("governed alarm", f"{'yes' if g.governed_alarm else 'no'}: {g.rule}"),
    ]
    body = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in rows)
    return f"<h2>Alarm governance</h2><table>{body}</table>"


def render_html(report: Any) -> str:
    """Returns the report as a standalone HTML document.

    Args:
        report: The `DriftReport` (read by attribute, so this module needs no import of
            the core that calls it).
    """
    label, tone = _STATUS[report.status]
    params = ", ".join(f"{k}={escape(str(v))}" for k, v in report.params.items())
    out = [
        f"<h1>Drift report {badge(label, tone)}</h1>",
        f'<p class="meta">model {escape(str(report.model_uri))} &middot; run '
        f"{escape(str(report.run_id))} &middot; window {report.n_window_rows} rows, "
        f"{report.n_current} checked (one per entity) &middot; "
        f"reference {report.n_reference} rows<br>{params}</p>",
    ]
    if report.reasons:
        out.append("<h2>Why</h2><ul>")
        out += [f"<li>{escape(r)}</li>" for r in report.reasons]
        out.append("</ul>")
    out.append(_governance_table(report))
    if report.features:
        out += ["<h2>Checks</h2>", _checks_table(report), "<h2>Features (most severe first)</h2>"]
        out.append(
            "<table><tr><th>feature</th><th>kind</th><th>test</th><th>statistic</th>"
            "<th>p-value</th><th>q-value</th><th>significant</th><th>PSI</th>"
            "<th>distance (SD)</th><th>null share ref &rarr; cur</th><th>alarm</th>"
            "<th>reasons / notes</th></tr>"
        )
        out += [_feature_row(f) for f in report.features_by_severity()]
        out.append("</table>")
        legend = (
            f'<p class="legend"><span style="background:{REF_COLOR}"></span>reference'
            f'<span style="background:{CUR_COLOR}"></span>current window</p>'
        )
        out += ["<h2>Distributions of the top features</h2>", legend, '<div class="charts">']
        out += [
            f'<div class="chart">{_feature_chart(f)}</div>'
            for f in report.features_by_severity()[:TOP_FEATURE_PLOTS]
        ]
        out.append("</div>")
    if report.prediction:
        p = report.prediction
        out += [
            "<h2>Champion's scores</h2>",
            bar_chart_svg("score", p.bins, p.reference_share, p.current_share),
        ]
    if report.multivariate and report.multivariate.feature_importances:
        out += [
            "<h2>What the domain classifier relied on</h2>",
            importance_svg(report.multivariate.feature_importances),
        ]
    if report.messages:
        out.append("<h2>Messages</h2><ul>")
        out += [f"<li>{escape(m)}</li>" for m in report.messages]
        out.append("</ul>")
    return page(f"Drift report: {label}", "\n".join(out))
