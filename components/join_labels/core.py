"""Realized performance of a window: delayed labels joined to what was predicted.

The window is a prediction-log window (`get_live_window`) or a feature-store window
that already holds its labels. For a log window the labels come from the label
source (the repo's labels parquet) and are joined by `components._labels.join_labels`
(by request id, or by entity + time within a maximum delay); every logged row is
kept, labelled or not. The champion's scores are the logged answers when the
champion's version gave all of them, else the champion scores the rows here.

On the labelled rows: ROC AUC, log loss, Brier and ECE with percentile bootstrap
intervals, reliability bins, and the labelled share; fewer than
``min_labelled_rows`` labelled rows (or one class) give ``insufficient_labels``
and no numbers, the share still reported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from components._labels import LABELLED_COLUMN, join_labels, load_label_source, parse_max_delay

STATUS_MEASURED = "measured"
STATUS_INSUFFICIENT = "insufficient_labels"
SCORE_COLUMN = "champion_score"


@dataclass(frozen=True)
class LabelJoinParams:
    """How labels are joined and performance is measured.

    Attributes:
        by: ``entity_time`` or ``request_id`` (see `components._labels`).
        max_delay: Longest prediction-to-label delay (``30D``; "" = no limit).
        prediction_time_column: Prediction time in the window (``timestamp`` = the
            answer time; the repo's timestamp name when the client sent its own).
        min_labelled_rows: Fewer labelled rows give ``insufficient_labels``.
        bootstrap_samples: Row resamples of the intervals.
        confidence: Two-sided level of the intervals.
        seed: Seed of the resampling.
    """

    by: str = "entity_time"
    max_delay: str = "30D"
    prediction_time_column: str = "timestamp"
    min_labelled_rows: int = 200
    bootstrap_samples: int = 200
    confidence: float = 0.9
    seed: int = 0

    def __post_init__(self) -> None:
        parse_max_delay(self.max_delay)
        if self.min_labelled_rows < 2:
            raise ValueError(f"min_labelled_rows must be >= 2, got {self.min_labelled_rows}")


@dataclass
class RealizedReport:
    """What `realized_report` found.

    Attributes:
        status: ``measured`` or ``insufficient_labels``.
        reason: One sentence.
        rows: Window rows (every logged prediction).
        labelled_rows: Rows with a label so far.
        labelled_share: ``labelled_rows / rows``.
        label_source: ``window`` (the window had the label) or the label file joined.
        score_source: Where the champion's scores came from.
        holdout: The champion's holdout metrics (version, run, roc_auc, log_loss, ece).
        params: The parameters used.
        performance: `realized_performance` of the labelled rows (None unless measured).
    """

    status: str
    reason: str
    rows: int
    labelled_rows: int
    labelled_share: float
    label_source: str
    score_source: str
    holdout: dict[str, Any]
    params: dict[str, Any]
    performance: dict[str, Any] | None = field(default=None)

    def to_dict(self) -> dict[str, Any]:
        """Returns the report as JSON-safe data."""
        return asdict(self)

    def metrics(self) -> dict[str, float]:
        """Flat numbers for a KFP ``Metrics`` artifact."""
        values = {
            "rows": float(self.rows),
            "labelled_rows": float(self.labelled_rows),
            "labelled_share": self.labelled_share,
        }
        for name, interval in (self.performance or {}).get("metrics", {}).items():
            values[f"realized_{name}"] = interval["value"]
            values[f"realized_{name}_low"] = interval["low"]
            values[f"realized_{name}_high"] = interval["high"]
        return values


def labelled_window(
    window: pd.DataFrame,
    labels: pd.DataFrame | None,
    *,
    label_column: str,
    entity_column: str,
    label_time_column: str,
    params: LabelJoinParams,
) -> tuple[pd.DataFrame, str]:
    """Returns the window with the label and ``labelled`` columns, and where labels came from.

    A window that already carries `label_column` (a feature-store window) keeps it;
    otherwise `labels` is joined (see `components._labels.join_labels`).

    Raises:
        ValueError: If the window has no label and no label frame is given, or the join
            cannot run (its message names the column).
    """
    if label_column in window.columns:
        out = window.copy()
        out[label_column] = pd.to_numeric(out[label_column], errors="coerce").astype("float64")
        out[LABELLED_COLUMN] = out[label_column].notna()
        return out, "window"
    if labels is None:
        raise ValueError(f"the window has no {label_column!r} column and no label source is given")
    joined = join_labels(
        window,
        labels,
        label_column=label_column,
        by=params.by,
        entity_column=entity_column,
        prediction_time_column=params.prediction_time_column,
        label_time_column=label_time_column,
        max_delay=params.max_delay,
    )
    return joined, f"joined by {params.by} (max delay {params.max_delay or 'none'})"


def realized_report(
    joined: pd.DataFrame,
    scores: np.ndarray,
    *,
    label_column: str,
    holdout: dict[str, Any],
    params: LabelJoinParams,
    label_source: str,
    score_source: str,
) -> RealizedReport:
    """Measures performance on the labelled rows of a joined window.

    Args:
        joined: The window with the label and ``labelled`` columns.
        scores: The champion's score per row of `joined`.
        label_column: The label.
        holdout: The champion's holdout (see `components._performance.champion_holdout`).
        params: The parameters.
        label_source: Reported.
        score_source: Reported.
    """
    from components._performance import realized_performance

    labelled = joined[LABELLED_COLUMN].to_numpy(dtype=bool)
    n, k = len(joined), int(labelled.sum())
    y = joined.loc[labelled, label_column].to_numpy(dtype="float64")
    metrics = holdout.get("metrics", {})
    common = {
        "rows": n,
        "labelled_rows": k,
        "labelled_share": k / n if n else 0.0,
        "label_source": label_source,
        "score_source": score_source,
        "holdout": {
            "version": holdout.get("version"),
            "run_id": holdout.get("run_id"),
            **{m: metrics.get(m) for m in ("roc_auc", "log_loss", "brier", "ece")},
        },
        "params": asdict(params),
    }
    if k < params.min_labelled_rows or len(np.unique(y)) < 2:
        return RealizedReport(
            STATUS_INSUFFICIENT,
            f"{k} of {n} predictions labelled (min_labelled_rows {params.min_labelled_rows}"
            f"{', one class only' if k and len(np.unique(y)) < 2 else ''}): not measured",
            **common,
        )
    performance = realized_performance(
        y,
        np.asarray(scores, dtype="float64")[labelled],
        bootstrap_samples=params.bootstrap_samples,
        confidence=params.confidence,
        seed=params.seed,
    )
    auc = performance["metrics"]["roc_auc"]
    return RealizedReport(
        STATUS_MEASURED,
        f"realized ROC AUC {auc['value']:.4f} [{auc['low']:.4f}, {auc['high']:.4f}] on {k} of "
        f"{n} predictions labelled ({k / n:.0%})",
        performance=performance,
        **common,
    )


@dataclass(frozen=True)
class JoinLabelsConfig:
    """What `run` joins and measures.

    Attributes:
        window: The window (a prediction-log window, or a feature-store window that
            holds its labels).
        label_source: Labels parquet (path or ``s3://``); "" = the window holds labels.
        feature_repo: Feature repo whose `suite.yaml` names the roles.
        model_name: Registered model whose ``@champion`` is measured.
        params: How labels are joined and performance is measured.
        tracking_uri: MLflow tracking and registry URI ("" = the suite default).
        score_column: The window's served-score column ("" = ``<label>_probability``).
    """

    window: pd.DataFrame
    label_source: str
    feature_repo: str
    model_name: str
    params: LabelJoinParams
    tracking_uri: str = ""
    score_column: str = ""


@dataclass(frozen=True)
class JoinLabelsResult:
    """The joined rows and their realized performance.

    Implements `components._contract.ComponentResult`.

    Attributes:
        realized: What was measured on the labelled rows.
        joined: Every window row with the label, ``labelled`` and ``champion_score``.
    """

    realized: RealizedReport
    joined: pd.DataFrame

    def metrics(self) -> dict[str, float]:
        """Returns the realized report's flat numbers (see `RealizedReport.metrics`)."""
        return self.realized.metrics()

    def metadata(self) -> dict[str, Any]:
        """Returns the report artifact's metadata: status and labelled share."""
        return {"status": self.realized.status, "labelled_share": self.realized.labelled_share}

    def report(self) -> dict[str, Any]:
        """Returns the realized report (status, share, intervals, holdout, parameters)."""
        return self.realized.to_dict()


def run(config: JoinLabelsConfig, *, client: Any = None) -> JoinLabelsResult:
    """The component's work: join the labels, score with the champion, measure.

    Args:
        config: Window, labels, roles, model and parameters.
        client: ``mlflow.MlflowClient``; None = one for ``config.tracking_uri``.

    Raises:
        ValueError: A join column missing (named), a label that is not 0/1, a label key
            labelled twice, or the champion's run has no holdout metrics.
        SuiteConfigError: ``feature_repo`` has no valid suite.yaml.
    """
    from components._mlflow import mlflow_client
    from components._performance import champion_holdout, model_scorer, window_scores
    from components._suite import load_suite_config

    suite = load_suite_config(config.feature_repo)
    labels = None
    if suite.label not in config.window.columns and config.label_source:
        labels = load_label_source(config.label_source, suite)
    joined, label_source_text = labelled_window(
        config.window,
        labels,
        label_column=suite.label,
        entity_column=suite.entity_key,
        label_time_column=suite.timestamp,
        params=config.params,
    )
    client = client or mlflow_client(config.tracking_uri)
    holdout = champion_holdout(client, config.model_name)
    scores, score_source = window_scores(
        joined,
        config.score_column or f"{suite.label}_probability",
        holdout["version"],
        lambda frame: model_scorer(client, f"models:/{config.model_name}@champion")(frame),
    )
    report = realized_report(
        joined,
        scores,
        label_column=suite.label,
        holdout=holdout,
        params=config.params,
        label_source=label_source_text,
        score_source=score_source,
    )
    print(f"[suite] join_labels: {report.reason}", flush=True)
    return JoinLabelsResult(report, joined.assign(**{SCORE_COLUMN: scores}))
