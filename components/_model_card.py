"""The model card of a registered version: one self-contained HTML file and its Markdown.

Everything on the card is read back from the registry and the version's training run,
so a card can be regenerated at any time (`python -m pipelines model-card`): the alias
history grows after registration. Sources:

- the version: aliases, approval decision and audit records (`components._governance`),
  lineage tags (`register_model.core.lineage_tags`);
- the training run: params (model type, seed, hyperparameters, feature columns),
  metrics (row counts), tags (window, contract, lock hash, git SHA), and artifacts:
  `evaluate_model`'s JSON report (metrics with intervals, calibration, slices,
  fairness, the gate's rules) and the drift reference's manifest.

A missing source (e.g. a version registered without an evaluation) is stated on the
card as "not recorded", never invented. The HTML is the suite's one report shell
(`components._html`: inline CSS, no script, stylesheet, font or image link), so it
renders the same offline, in an air-gapped cluster and in the KFP UI's single-file viewer.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from components import _governance as gov
from components import _mlflow as mlf
from components._html import badge, page

if TYPE_CHECKING:
    from mlflow import MlflowClient

NOT_RECORDED = "not recorded"
_LIMITATIONS = (
    "Metrics come from one time-ordered holdout (the latest label times of the training "
    "window); they say nothing about data after its last event time. Drift monitoring "
    "(`check_drift`) compares live data with the drift reference below.",
    "Categories unseen in training are encoded as all-zero (no effect of their own).",
    "Slices below the minimum slice size are reported, not gated: their intervals are too "
    "wide to decide on.",
)


@dataclass(frozen=True)
class Table:
    """A table of the card: header cells and rows of already formatted strings."""

    headers: list[str]
    rows: list[list[str]]
    title: str = ""


@dataclass(frozen=True)
class Section:
    """A titled section: paragraphs (or bullet items), then tables."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass(frozen=True)
class ModelCard:
    """A version's card, renderable as Markdown and as one self-contained HTML page.

    Attributes:
        name: Registered model name.
        version: Version number.
        run_id: Training run of the version ("" if the version names none).
        sections: The card's sections, in order.
    """

    name: str
    version: str
    run_id: str
    sections: list[Section]

    @property
    def artifact_stem(self) -> str:
        """Run artifact path of the card without suffix, ``model_card/v<N>``."""
        return f"{mlf.MODEL_CARD_DIR}/v{self.version}"

    @property
    def title(self) -> str:
        """The card's heading."""
        return f"Model card: `{self.name}` version {self.version}"

    def section(self, title: str) -> Section:
        """Returns the section called `title`.

        Raises:
            KeyError: If the card has no such section.
        """
        for section in self.sections:
            if section.title == title:
                return section
        raise KeyError(f"the card has no section {title!r}")

    def markdown(self) -> str:
        """Returns the card as Markdown (the pipeline's Markdown artifact)."""
        lines = [f"# {self.title}", ""]
        for section in self.sections:
            lines += [f"## {section.title}", ""]
            for paragraph in section.paragraphs:
                lines += [paragraph, ""]
            if section.bullets:
                lines += [*(f"- {item}" for item in section.bullets), ""]
            for table in section.tables:
                if table.title:
                    lines += [f"### {table.title}", ""]
                lines.append("| " + " | ".join(_md_cell(h) for h in table.headers) + " |")
                lines.append("|" + "---|" * len(table.headers))
                lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
                lines.append("")
        return "\n".join(lines)

    def html(self) -> str:
        """Returns the card as one HTML page with inline CSS and no external assets."""
        body = [f"<h1>{_html_text(self.title)}</h1>"]
        for section in self.sections:
            body.append(f"<h2>{html.escape(section.title)}</h2>")
            body += [f"<p>{_html_text(p)}</p>" for p in section.paragraphs]
            if section.bullets:
                items = "".join(f"<li>{_html_text(item)}</li>" for item in section.bullets)
                body.append(f"<ul>{items}</ul>")
            for table in section.tables:
                if table.title:
                    body.append(f"<h3>{html.escape(table.title)}</h3>")
                head = "".join(f"<th>{html.escape(h)}</th>" for h in table.headers)
                rows = "".join(
                    "<tr>" + "".join(f"<td>{_html_cell(c)}</td>" for c in row) + "</tr>"
                    for row in table.rows
                )
                body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        return page(self.title.replace("`", ""), "".join(body))


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _html_text(text: str) -> str:
    """Escapes text; `backticked` spans become <code>."""
    parts = html.escape(str(text)).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))


def _html_cell(text: str) -> str:
    value = _html_text(text)
    if str(text).startswith("PASS"):
        return badge(str(text), "ok")
    if str(text).startswith("FAIL"):
        return badge(str(text), "bad")
    return value


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _interval(bounds: Any) -> str:
    if not bounds:
        return "n/a"
    return f"[{_num(bounds[0])}, {_num(bounds[1])}]"


def build_card(client: MlflowClient, name: str, version: str | int) -> ModelCard:
    """Reads a registered version, its run and their records, and returns its card.

    Args:
        client: MLflow client (registry and tracking).
        name: Registered model name.
        version: Version number.

    Raises:
        mlflow.exceptions.MlflowException: If the version does not exist.
    """
    mv = client.get_model_version(name, str(version))
    aliases = client.get_registered_model(name).aliases
    run = client.get_run(mv.run_id) if mv.run_id else None
    params = dict(run.data.params) if run else {}
    run_tags = dict(run.data.tags) if run else {}
    run_metrics = dict(run.data.metrics) if run else {}
    tags = dict(mv.tags)

    def tag(key: str) -> str:
        return tags.get(key) or run_tags.get(key) or NOT_RECORDED

    evaluation = mlf.run_json(client, mv.run_id, mlf.EVALUATION_ARTIFACT)
    drift = mlf.run_json(client, mv.run_id, mlf.DRIFT_REFERENCE_MANIFEST)
    here = sorted(alias for alias, v in aliases.items() if str(v) == str(mv.version))
    decision = gov.approval(tags)
    status = (
        f"{decision['decision']} by {decision['by']} at {decision['at']}: {decision['reason']}"
        if decision
        else "no approval decision recorded"
    )
    header = Section(
        "Version",
        bullets=[
            f"Aliases on this version: {', '.join(f'`{a}`' for a in here) or 'none'}",
            "All aliases of the model: "
            + (", ".join(f"`{a}` -> v{v}" for a, v in sorted(aliases.items())) or "none"),
            f"Approval: {status}",
            f"Gate verdict at registration: {tag(mlf.TAG_GATE_BLESSED)}",
            f"Source: `{mv.source}`",
            f"Training run: `{mv.run_id or NOT_RECORDED}`",
        ],
    )
    sections = [
        header,
        _intended_use(params, tag, run_metrics),
        _metrics(evaluation, tags),
        _calibration(evaluation),
        _slices(evaluation),
        _gate(evaluation),
        _drift(drift, mv.run_id),
        _lineage(params, tag, mv),
        _history(tags),
        Section("Limitations", bullets=list(_LIMITATIONS)),
    ]
    return ModelCard(name, str(mv.version), mv.run_id or "", sections)


def _intended_use(params: dict[str, str], tag: Any, run_metrics: dict[str, float]) -> Section:
    label = params.get("label_column", NOT_RECORDED)
    features = [
        ("categorical", params.get("categorical_features", "")),
        ("numeric", params.get("numeric_features", "")),
    ]
    rows = [
        ["feature service", f"`{tag(mlf.TAG_FEATURE_SERVICE)}`"],
        ["data contract", tag(mlf.TAG_CONTRACT)],
        ["contract hash", f"`{tag(mlf.TAG_CONTRACT_SHA256)}`"],
        ["labels (entity rows)", f"`{tag(mlf.TAG_ENTITY_SOURCE)}`"],
        ["feature repo", f"`{tag(mlf.TAG_FEATURE_REPO)}`"],
        ["label window start (inclusive)", tag(mlf.TAG_TRAIN_START) or "unbounded"],
        ["label window end (exclusive)", tag(mlf.TAG_TRAIN_END) or "unbounded"],
        ["holdout from (label time)", params.get("holdout_start", NOT_RECORDED)],
        ["training rows", _count(run_metrics.get("train_rows"))],
        ["holdout rows", _count(run_metrics.get("holdout_rows"))],
        ["data fingerprint (whole frame)", f"`{tag(mlf.TAG_DATA_FINGERPRINT)}`"],
        ["holdout fingerprint", f"`{tag(mlf.TAG_HOLDOUT_FINGERPRINT)}`"],
        *[[f"{kind} features", value or "none"] for kind, value in features],
    ]
    return Section(
        "Intended use and data",
        paragraphs=[
            f"Scores the probability that `{label}` is 1 for one row of the raw feature frame "
            "Feast returns for the feature service below (one probability per row). It is "
            "meant for ranking and thresholding within the population of the training "
            "window; it is not a causal model.",
        ],
        tables=[Table(["what", "value"], rows)],
    )


def _count(value: float | None) -> str:
    return NOT_RECORDED if value is None else str(int(value))


def _metrics(evaluation: dict[str, Any] | None, tags: dict[str, str]) -> Section:
    title = "Holdout metrics"
    if evaluation is None:
        recorded = sorted((k, v) for k, v in tags.items() if k.startswith(mlf.HOLDOUT_PREFIX))
        rows = [[k.removeprefix(mlf.HOLDOUT_PREFIX), v] for k, v in recorded]
        return Section(
            title,
            paragraphs=[f"Evaluation report {NOT_RECORDED}; the version's holdout tags:"],
            tables=[Table(["metric", "value"], rows)] if rows else [],
        )
    challenger = evaluation["challenger"]["metrics"]
    champion = (evaluation.get("champion") or {}).get("metrics") or {}
    intervals = evaluation.get("intervals") or {}
    level = next(iter(intervals.values()), {}).get("confidence")
    rows = []
    for key in ("roc_auc", "pr_auc", "f1", "precision", "recall", "log_loss", "brier"):
        interval = intervals.get(key, {}).get("interval")
        rows.append([key, _num(challenger.get(key)), _interval(interval), _num(champion.get(key))])
    champion_version = (evaluation.get("champion") or {}).get("version")
    return Section(
        title,
        paragraphs=[
            f"{int(evaluation['holdout_rows'])} holdout rows, positive rate "
            f"{_num(challenger.get('positive_rate'))}; threshold "
            f"{evaluation['gate']['threshold']} for F1 / precision / recall. Intervals: "
            + (
                f"{level:.0%} two-sided percentile bootstrap "
                f"({evaluation['gate']['bootstrap_samples']} resamples)."
                if level
                else NOT_RECORDED + "."
            ),
            "The champion column is the model that served when this version was gated "
            f"({'v' + str(champion_version) if champion_version else 'none'}), "
            "scored on the same rows.",
        ],
        tables=[Table(["metric", "value", "interval", "champion at gate time"], rows)],
    )


def _calibration(evaluation: dict[str, Any] | None) -> Section:
    if evaluation is None:
        return Section("Calibration", paragraphs=[f"Reliability bins {NOT_RECORDED}."])
    calibration = evaluation["challenger"]["calibration"]
    rows = [
        [
            f"[{b['lower']:.1f}, {b['upper']:.1f})",
            str(b["rows"]),
            _num(b["mean_probability"]),
            _num(b["positive_rate"]),
        ]
        for b in calibration["bins"]
    ]
    return Section(
        "Calibration",
        paragraphs=[
            f"Expected calibration error (ECE) {_num(calibration['ece'])}; Brier score "
            f"{_num(evaluation['challenger']['metrics'].get('brier'))}. ECE is the row-weighted "
            "mean gap between predicted probability and observed positive rate per bin."
        ],
        tables=[
            Table(["P(positive) bin", "rows", "mean P(positive)", "observed positive rate"], rows)
        ],
    )


def _slices(evaluation: dict[str, Any] | None) -> Section:
    title = "Slices and fairness"
    if evaluation is None or not evaluation.get("fairness"):
        return Section(title, paragraphs=[f"Slice results {NOT_RECORDED}."])
    tables = []
    for report in evaluation["fairness"]:
        feature = report["feature"]
        rows = [
            [
                str(r["value"]),
                str(r["rows"]),
                f"{_num(r['roc_auc'])} {_interval(r['roc_auc_ci'])}",
                _num(r.get("champion_roc_auc")),
                f"{_num(r['roc_auc_delta'])} {_interval(r['roc_auc_delta_ci'])}"
                if "roc_auc_delta" in r
                else "-",
                r["rule"],
            ]
            for r in report["slices"]
        ]
        tables.append(
            Table(
                ["slice", "rows", "roc_auc [interval]", "champion roc_auc",
                 "difference [interval]", "rule"],
                rows,
                title=f"By {feature}",
            )
        )  # fmt: skip
        champion = report.get("champion_differences") or {}
        diffs = [
            [key, _num(value), _num(champion.get(key)) if champion else "-"]
            for key, value in report["differences"].items()
        ]
        gated = ", ".join(report["gated_slices"]) or "none"
        tables.append(
            Table(["group difference", "this version", "champion"], diffs,
                  title=f"Group differences by {feature} (gated slices: {gated})")
        )  # fmt: skip
    gate = evaluation["gate"]
    return Section(
        title,
        paragraphs=[
            f"Per slice: ROC AUC with its bootstrap interval and, against the champion, the "
            f"interval of the paired difference. A slice with at least {gate['min_slice_rows']} "
            f"rows and both classes is gated: it fails when the difference's lower bound is "
            f"below -{gate['slice_margin']}."
        ],
        tables=tables,
    )


def _gate(evaluation: dict[str, Any] | None) -> Section:
    title = "Gate decision"
    if evaluation is None:
        return Section(title, paragraphs=[f"Gate decision {NOT_RECORDED}."])
    decision = evaluation["decision"]
    rows = []
    for rule in decision.get("rules", []):
        where = "=".join(str(rule[k]) for k in ("feature", "slice") if rule.get(k) is not None)
        detail = ", ".join(
            f"{k} {_num(rule[k])}"
            for k in ("metric", "value", "ceiling", "lower_bound", "margin")
            if k in rule
        )
        rows.append([rule["rule"], where or "-", "PASS" if rule["passed"] else "FAIL", detail])
    verdict = "BLESSED" if decision["blessed"] else "NOT BLESSED"
    return Section(
        title,
        paragraphs=[f"Verdict: {verdict}. Every rule the gate applied:"],
        tables=[Table(["rule", "where", "result", "detail"], rows)],
        bullets=list(decision["reasons"]),
    )


def _drift(manifest: dict[str, Any] | None, run_id: str) -> Section:
    title = "Drift reference shipped with the model"
    if manifest is None:
        return Section(title, paragraphs=[f"Drift reference {NOT_RECORDED}."])
    keys = (
        "n_reference_rows", "n_source_rows", "n_source_entities", "sample_size", "seed",
        "holdout_roc_auc", "holdout_label_rate", "reference_score_mean", "alibi_detect_version",
    )  # fmt: skip
    rows = [[key, _num(manifest.get(key))] for key in keys if key in manifest]
    rows.append(["categorical columns", ", ".join(manifest.get("categorical_columns", []))])
    rows.append(["numeric columns", ", ".join(manifest.get("numeric_columns", []))])
    return Section(
        title,
        paragraphs=[
            'What "no drift" looks like for this model: a sample of its holdout (one row per '
            "entity, latest first) with the fitted alibi-detect detectors, at "
            f"`runs:/{run_id}/{mlf.DRIFT_REFERENCE_MANIFEST.split('/')[0]}`."
        ],
        tables=[Table(["what", "value"], rows)],
    )


def _lineage(params: dict[str, str], tag: Any, mv: Any) -> Section:
    rows = [
        ["suite version", tag(mlf.TAG_SUITE_VERSION)],
        ["git SHA", tag(mlf.TAG_GIT_SHA)],
        ["pipeline run", tag(mlf.TAG_PIPELINE_RUN_ID)],
        ["dependency lock (sha256 of requirements.txt)", f"`{tag(mlf.TAG_LOCK_SHA256)}`"],
        ["MLflow run", f"`{mv.run_id}`"],
        ["model type", tag(mlf.TAG_MODEL_TYPE)],
    ]
    rows += [[f"param {k}", f"`{v}`"] for k, v in sorted(params.items())]
    return Section(
        "Lineage and training parameters",
        paragraphs=[
            "`python -m pipelines reproduce --model NAME --version N` rebuilds the training "
            "frame from the recorded window and retrains with these parameters."
        ],
        tables=[Table(["what", "value"], rows)],
    )


def _history(tags: dict[str, str]) -> Section:
    rows = [
        [
            r.get("at", ""),
            r.get("who", ""),
            r.get("action", ""),
            r.get("alias", ""),
            r.get("run", ""),
            r.get("why", r.get("raw", "")),
        ]
        for r in gov.audit_history(tags)
    ]
    return Section(
        "Approval and alias history",
        paragraphs=["Every alias move and approval decision on this version, oldest first."],
        tables=[Table(["at (UTC)", "who", "action", "alias", "run", "why"], rows)],
    )


def publish_card(client: MlflowClient, name: str, version: str | int) -> ModelCard:
    """Builds a version's card and logs it with the version's run; returns the card.

    The HTML and Markdown go to the run's artifacts ``model_card/v<N>.html`` and
    ``.md`` (overwritten by a later publish: the alias history grows), and the version
    tag ``suite.model_card`` names the HTML's ``runs:/`` URI.

    Args:
        client: MLflow client.
        name: Registered model name.
        version: Version number.
    """
    card = build_card(client, name, version)
    if card.run_id:
        stem = card.artifact_stem
        client.log_text(card.run_id, card.html(), f"{stem}.html")
        client.log_text(card.run_id, card.markdown(), f"{stem}.md")
        client.set_model_version_tag(
            name, card.version, mlf.TAG_MODEL_CARD, f"runs:/{card.run_id}/{stem}.html"
        )
    return card
