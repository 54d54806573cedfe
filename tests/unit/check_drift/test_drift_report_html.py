"""The HTML drift report: one self-contained file, readable in the KFP UI."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from drift_data import churn_frame

from churn_data.schema import DRIFT_ROLES
from components.check_drift.core import CHECKS, DriftParams, check_drift
from components.check_drift.html_report import bar_chart_svg, render_html


class _Collector(HTMLParser):
    """Collects tags and attributes so the test checks structure, not string luck."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)


def _drifted_html(reference, predict_fn) -> str:
    window = churn_frame(1500, seed=31, age_shift=8.0, new_plan_share=0.05)
    return render_html(
        check_drift(window, reference, DriftParams(**DRIFT_ROLES, checks=CHECKS), predict_fn)
    )


def test_html_has_no_external_urls_scripts_or_assets(reference, predict_fn):
    """The report loads nothing: no URL, no script, no link, no src/href, no CSS import.

    Proves: a full report (every check on, drift present) parses as HTML and has no
    http(s) or protocol-relative URL anywhere, no <script>/<link>/<img>/<iframe>,
    no src/href attribute and no CSS url()/@import. Cannot prove how a particular
    browser lays it out.
    """
    html = _drifted_html(reference, predict_fn)
    parser = _Collector()
    parser.feed(html)

    assert not re.search(r"https?:|//[a-z0-9]", html, flags=re.IGNORECASE)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(parser.tags)
    assert not [a for a, _ in parser.attrs if a in {"src", "href", "xlink:href"}]
    assert "url(" not in html
    assert "@import" not in html
    assert parser.tags.count("style") == 1


def test_html_shows_the_verdict_a_severity_sorted_table_and_charts(reference, predict_fn):
    """The page says DRIFT, lists the most severe feature first and draws overlays.

    Proves: the status banner, the feature table's first row is the drifted feature
    with the largest PSI, there is one SVG chart per top feature plus the score chart
    and the importance chart, and the unseen category is mentioned. Cannot prove the
    charts are visually pleasant.
    """
    html = _drifted_html(reference, predict_fn)

    assert "DRIFT DETECTED" in html
    table = html.split("<h2>Features (most severe first)</h2>", 1)[1]
    first_row = re.search(r"<tr class=\"flag\"><td>([^<]+)</td>", table)
    assert first_row is not None
    assert first_row.group(1) in {"age", "plan"}
    assert html.count("<svg") == 6 + 1 + 1
    assert "reference" in html
    assert "current window" in html
    assert "family" in html


def test_chart_labels_and_names_are_escaped():
    """Text from the data cannot inject markup into the report.

    Proves: a bin label and a title containing markup come out escaped. Cannot prove
    every field is escaped (the renderer escapes at each insertion point by design).
    """
    svg = bar_chart_svg("<b>x</b>", ["<script>"], [0.5], [0.5])

    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "&lt;b&gt;x&lt;/b&gt;" in svg


def test_insufficient_data_report_renders_without_tables(reference, predict_fn):
    """A too-small window still renders a clear page.

    Proves: the banner says Insufficient data and the message with the row count is
    shown, with no feature table. Cannot prove anything about larger windows.
    """
    report = check_drift(
        churn_frame(50, seed=32), reference, DriftParams(**DRIFT_ROLES), predict_fn
    )
    html = render_html(report)

    assert "Insufficient data" in html
    assert "50 rows" in html
    assert "<table" not in html
