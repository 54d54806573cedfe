"""compare_shadow core: does the challenger that served in shadow beat the champion?

Both models answered the *same* requests: locally the suite runtime scores the
challenger beside the champion and logs both answers under one request id
(``model_role`` champion / shadow); on Seldon Core 2 the shadow Experiment mirrors
requests to the challenger; on KServe, which has no mirror, the challenger scores
the champion's logged inputs here. Labels arrive later and are joined to the logged
rows (`components._labels.join_labels`, by request id or by entity and time).

The decision is a paired test on the labelled rows, fixed before it runs:

- nothing is decided until ``min_labels`` rows are labelled (status ``waiting``);
- paired bootstrap over rows (the same resampled rows for both models): the
  per-row log-loss difference champion - challenger, and the ROC AUC difference
  challenger - champion, each with a percentile interval;
- **promote** when the challenger's log loss is lower with the whole interval of
  the difference above 0, and its ROC AUC is not worse than the champion's by more
  than ``auc_tolerance`` (the interval's lower end above ``-auc_tolerance``, the
  gate's tolerance); **keep** otherwise, saying which rule failed.

Promotion moves ``champion`` / ``previous`` / ``challenger`` through the same
`components._aliases.promote` the deploy step uses (registry lock, journal, audit
records); a kept (rejected) challenger gets the version tag ``suite.shadow.rejected``
with why and an audit record (`components._governance`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from mlflow import MlflowClient

DECISION_PROMOTE = "promote"
DECISION_KEEP = "keep"
DECISION_WAITING = "waiting"
DECISION_NO_CHALLENGER = "no_challenger"
TAG_SHADOW_REJECTED = "suite.shadow.rejected"
TAG_SHADOW_COMPARISON = "suite.shadow.comparison"
CHAMPION_SCORE = "champion_score"
CHALLENGER_SCORE = "challenger_score"
LOG_LOSS_EPSILON = 1e-15


@dataclass(frozen=True)
class ShadowConfig:
    """The comparison, fixed before it runs.

    Attributes:
        min_labels: Labelled rows needed before anything is decided.
        bootstrap_samples: Paired row resamples.
        confidence: Two-sided level of both intervals.
        auc_tolerance: How much lower the challenger's ROC AUC may be (the gate's
            tolerance, evaluate_model's 0.005 by default in the pipelines).
        seed: Seed of the resampling.
    """

    min_labels: int = 500
    bootstrap_samples: int = 1000
    confidence: float = 0.95
    auc_tolerance: float = 0.005
    seed: int = 0

    def __post_init__(self) -> None:
        if self.min_labels < 2:
            raise ValueError(f"min_labels must be >= 2, got {self.min_labels}")
        if self.bootstrap_samples < 100:
            raise ValueError(f"bootstrap_samples must be >= 100, got {self.bootstrap_samples}")
        if not 0.0 < self.confidence < 1.0:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence}")
        if self.auc_tolerance < 0:
            raise ValueError(f"auc_tolerance must be >= 0, got {self.auc_tolerance}")


@dataclass
class ShadowComparison:
    """What the paired comparison found and decided; `to_dict` is the JSON report."""

    decision: str
    reason: str
    config: dict[str, Any]
    rows: int = 0
    labelled_rows: int = 0
    champion_version: str | None = None
    challenger_version: str | None = None
    score_source: str = ""
    label_source: str = ""
    champion_log_loss: float | None = None
    challenger_log_loss: float | None = None
    log_loss_improvement: dict[str, float] | None = None
    champion_roc_auc: float | None = None
    challenger_roc_auc: float | None = None
    roc_auc_difference: dict[str, float] | None = None
    registry: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON-safe dict (NaN becomes None)."""
        from components._contract import json_safe

        return json_safe(asdict(self))

    def report(self) -> dict[str, Any]:
        """The JSON report (`components._contract` protocol)."""
        return self.to_dict()

    def metadata(self) -> dict[str, Any]:
        """Lineage for the output artifacts."""
        return {
            "decision": self.decision,
            "champion_version": self.champion_version,
            "challenger_version": self.challenger_version,
            "labelled_rows": self.labelled_rows,
            "registry_action": self.registry.get("action", "none"),
        }

    def return_value(self) -> str:
        """The component's single return value: the decision."""
        return self.decision

    def metrics(self) -> dict[str, float]:
        """Flat, finite metrics for a KFP ``Metrics`` artifact."""
        values = {
            "labelled_rows": float(self.labelled_rows),
            "rows": float(self.rows),
            "promoted": float(self.decision == DECISION_PROMOTE),
        }
        for name in ("champion_log_loss", "challenger_log_loss"):
            if getattr(self, name) is not None:
                values[name] = float(getattr(self, name))
        for name in ("champion_roc_auc", "challenger_roc_auc"):
            if getattr(self, name) is not None:
                values[name] = float(getattr(self, name))
        for name in ("log_loss_improvement", "roc_auc_difference"):
            for part, value in (getattr(self, name) or {}).items():
                if part != "confidence":
                    values[f"{name}_{part}"] = float(value)
        return {k: v for k, v in values.items() if math.isfinite(v)}

    def markdown(self) -> str:
        """A short human-readable summary."""
        lines = [
            f"# Shadow comparison: {self.decision.upper()}",
            "",
            f"{self.reason}",
            "",
            f"- champion v{self.champion_version}, challenger v{self.challenger_version}",
            f"- {self.labelled_rows} of {self.rows} paired rows labelled ({self.label_source})",
            f"- scores: {self.score_source}",
        ]
        if self.log_loss_improvement:
            ll, auc = self.log_loss_improvement, self.roc_auc_difference or {}
            lines += [
                f"- log loss champion {self.champion_log_loss:.4f}, challenger "
                f"{self.challenger_log_loss:.4f}; improvement {ll['value']:+.4f} "
                f"[{ll['low']:+.4f}, {ll['high']:+.4f}]",
                f"- ROC AUC champion {self.champion_roc_auc:.4f}, challenger "
                f"{self.challenger_roc_auc:.4f}; difference {auc.get('value', math.nan):+.4f} "
                f"[{auc.get('low', math.nan):+.4f}, {auc.get('high', math.nan):+.4f}]",
            ]
        return "\n".join(lines) + "\n"


def per_row_log_loss(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Log loss of each row, scores clipped to [1e-15, 1 - 1e-15]."""
    p = np.clip(np.asarray(scores, dtype="float64"), LOG_LOSS_EPSILON, 1 - LOG_LOSS_EPSILON)
    y = np.asarray(labels, dtype="float64")
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def paired_replicates(
    labels: np.ndarray,
    champion: np.ndarray,
    challenger: np.ndarray,
    gain: np.ndarray,
    resamples: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean per-row log-loss gain and ROC AUC difference on each of `resamples` resamples.

    The same resampled rows serve both statistics. The row indices are drawn in batches
    of at most `_performance.BOOTSTRAP_BATCH_VALUES` values, so a window of 1e6 labelled
    rows never holds the whole (resamples x rows) index at once; batched draws from one
    generator are the same indices as one draw of the full shape.

    Args:
        labels: 0/1 labels.
        champion: The champion's P(positive) per row.
        challenger: The challenger's P(positive) per row.
        gain: Per-row log-loss gain (champion minus challenger).
        resamples: Bootstrap resamples.
        seed: Seed of the resampling.
    """
    from components._performance import BOOTSTRAP_BATCH_VALUES

    rows = len(labels)
    rng = np.random.default_rng(seed)
    step = max(1, BOOTSTRAP_BATCH_VALUES // max(1, rows))
    gains, auc_diffs = [], []
    for start in range(0, resamples, step):
        index = rng.integers(0, rows, size=(min(step, resamples - start), rows))
        gains.append(gain[index].mean(axis=1))
        auc_diffs.append(auc_replicates(labels, champion, challenger, index))
    return np.concatenate(gains), np.concatenate(auc_diffs)


def auc_replicates(
    labels: np.ndarray, champion: np.ndarray, challenger: np.ndarray, index: np.ndarray
) -> np.ndarray:
    """Challenger minus champion ROC AUC on each resample (one row of `index` each).

    All resamples are ranked in one vectorized call (`_performance.roc_auc_difference`,
    scikit-learn's ROC AUC on every resample); a resample with one class gives NaN.
    The caller bounds the size of `index` (`paired_replicates` draws it in batches).

    Args:
        labels: 0/1 labels.
        champion: The champion's P(positive) per row.
        challenger: The challenger's P(positive) per row.
        index: Resampled row indices, shape (resamples, rows).
    """
    from components._performance import roc_auc_difference

    return roc_auc_difference(labels[index], challenger[index], champion[index])


def compare_paired(
    labels: np.ndarray,
    champion: np.ndarray,
    challenger: np.ndarray,
    config: ShadowConfig,
) -> ShadowComparison:
    """The paired test on labelled rows (both models scored the same rows).

    Args:
        labels: 0/1 labels.
        champion: The champion's P(positive) per row.
        challenger: The challenger's P(positive) per row.
        config: The comparison's fixed parameters.

    Returns:
        The comparison (``decision`` promote, keep or waiting).

    Raises:
        ValueError: If the arrays differ in length or the labels are not 0/1.
    """
    from sklearn.metrics import roc_auc_score

    from components._performance import percentile_interval

    y = np.asarray(labels, dtype="float64")
    a = np.asarray(champion, dtype="float64")
    b = np.asarray(challenger, dtype="float64")
    if not len(y) == len(a) == len(b):
        raise ValueError(
            f"labels, champion and challenger scores differ in length: {len(y)}, {len(a)}, {len(b)}"
        )
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("labels must be 0/1 (unlabelled rows are left out before the test)")
    result = ShadowComparison(DECISION_WAITING, "", asdict(config), len(y), len(y))
    n_pos = int(y.sum())
    if len(y) < config.min_labels or n_pos in (0, len(y)):
        result.reason = (
            f"{len(y)} labelled rows ({n_pos} positive), the comparison needs "
            f"min_labels={config.min_labels} with both classes: not decided yet"
        )
        return result
    loss_a, loss_b = per_row_log_loss(y, a), per_row_log_loss(y, b)
    gain = loss_a - loss_b  # > 0: the challenger's loss is lower on that row
    gains, auc_diffs = paired_replicates(y, a, b, gain, config.bootstrap_samples, config.seed)
    improvement = percentile_interval(float(gain.mean()), gains, config.confidence)
    auc_a, auc_b = float(roc_auc_score(y, a)), float(roc_auc_score(y, b))
    auc_diff = percentile_interval(auc_b - auc_a, auc_diffs, config.confidence)
    result.champion_log_loss, result.challenger_log_loss = (
        float(loss_a.mean()),
        float(loss_b.mean()),
    )
    result.champion_roc_auc, result.challenger_roc_auc = auc_a, auc_b
    result.log_loss_improvement = improvement.to_dict()
    result.roc_auc_difference = auc_diff.to_dict()
    level = f"{config.confidence:.0%}"
    better = improvement.low > 0
    not_worse = auc_diff.low > -config.auc_tolerance
    if better and not_worse:
        result.decision = DECISION_PROMOTE
        result.reason = (
            f"challenger's log loss is lower by {improvement.value:.4f} ({level} interval "
            f"[{improvement.low:.4f}, {improvement.high:.4f}] above 0) and its ROC AUC is not "
            f"worse by more than {config.auc_tolerance:g} (difference {auc_diff.value:+.4f}, "
            f"lower end {auc_diff.low:+.4f}) on {len(y)} paired labelled rows"
        )
    else:
        result.decision = DECISION_KEEP
        why = []
        if not better:
            why.append(
                f"log loss not lower: improvement {improvement.value:+.4f}, {level} interval "
                f"[{improvement.low:+.4f}, {improvement.high:+.4f}] reaches 0 or below"
            )
        if not not_worse:
            why.append(
                f"ROC AUC worse: difference {auc_diff.value:+.4f}, lower end "
                f"{auc_diff.low:+.4f} below -{config.auc_tolerance:g}"
            )
        result.reason = "; ".join(why) + f" (on {len(y)} paired labelled rows)"
    return result


# ------------------------------------------------------------- scores of both models


def paired_from_log(
    log: pd.DataFrame, score_column: str, champion_version: str, challenger_version: str
) -> pd.DataFrame:
    """Pairs the champion's and the shadow's logged answers by request id and row.

    Args:
        log: Prediction-log rows of both roles (``read_prediction_log(..., model_role=None)``).
        score_column: The served output (``<label>_probability``).
        champion_version: Only champion rows of this version count.
        challenger_version: Only shadow rows of this version count.

    Returns:
        The champion's rows (every input column) with `CHAMPION_SCORE` and
        `CHALLENGER_SCORE`; a champion row without a shadow answer is left out.

    Raises:
        ValueError: If the score column is missing.
    """
    if score_column not in log.columns:
        raise ValueError(f"the prediction log has no score column {score_column!r}")
    versions = log["model_version"].astype(str)
    champion = log[(log["model_role"] == "champion") & (versions == str(champion_version))]
    shadow = log[(log["model_role"] == "shadow") & (versions == str(challenger_version))]
    keys = ["request_id", "row"]
    paired = champion.merge(
        shadow[[*keys, score_column]].rename(columns={score_column: CHALLENGER_SCORE}),
        on=keys,
        how="inner",
        validate="one_to_one",
    )
    return paired.rename(columns={score_column: CHAMPION_SCORE}).reset_index(drop=True)


def score_logged_inputs(
    log: pd.DataFrame, score_column: str, champion_version: str, challenger_score: Any
) -> pd.DataFrame:
    """The KServe path (no mirror): the challenger scores the champion's logged inputs.

    Args:
        log: Prediction-log rows.
        score_column: The served output.
        champion_version: Only champion rows of this version count.
        challenger_score: ``frame -> P(positive)`` of the challenger.

    Returns:
        The champion's rows with `CHAMPION_SCORE` and `CHALLENGER_SCORE`.
    """
    if score_column not in log.columns:
        raise ValueError(f"the prediction log has no score column {score_column!r}")
    versions = log["model_version"].astype(str)
    rows = log[(log["model_role"] == "champion") & (versions == str(champion_version))]
    rows = rows.reset_index(drop=True).rename(columns={score_column: CHAMPION_SCORE})
    rows[CHALLENGER_SCORE] = challenger_score(rows) if len(rows) else np.empty(0)
    return rows


# ------------------------------------------------------------------ registry


def apply_decision(
    client: MlflowClient,
    model_name: str,
    comparison: ShadowComparison,
    *,
    pipeline_run: str = "",
    require_approval: bool = False,
) -> dict[str, Any]:
    """Promotes a winning challenger, or tags a rejected one with why.

    Args:
        client: MLflow client.
        model_name: Registered model name.
        comparison: The decided comparison (promote or keep; others change nothing).
        pipeline_run: Recorded in the audit records.
        require_approval: Promote only an approved version (as the deploy step does).

    Returns:
        What was written (``action`` plus the alias change or the tag).
    """
    from components import _governance as gov
    from components._aliases import promote

    version = comparison.challenger_version
    summary = json.dumps(
        {
            "decision": comparison.decision,
            "reason": comparison.reason,
            "labelled_rows": comparison.labelled_rows,
            "champion_version": comparison.champion_version,
            "log_loss_improvement": comparison.log_loss_improvement,
            "roc_auc_difference": comparison.roc_auc_difference,
        },
        sort_keys=True,
    )[:5000]
    if comparison.decision == DECISION_PROMOTE:
        client.set_model_version_tag(model_name, version, TAG_SHADOW_COMPARISON, summary)
        change = promote(
            client, model_name, version, require_approval=require_approval,
            why=f"shadow comparison: {comparison.reason}", pipeline_run=pipeline_run,
        )  # fmt: skip
        return {"action": "promoted", "champion": change.champion, "previous": change.previous}
    if comparison.decision == DECISION_KEEP:
        client.set_model_version_tag(model_name, version, TAG_SHADOW_REJECTED, summary)
        gov.record_audit(
            client, model_name, version, "shadow_rejected", why=comparison.reason,
            run=pipeline_run, champion=comparison.champion_version,
        )  # fmt: skip
        return {"action": "rejected", "tag": TAG_SHADOW_REJECTED}
    return {"action": "none"}


@dataclass(frozen=True)
class CompareShadowConfig:
    """What `run` compares.

    Attributes:
        prediction_log: Prediction-log root (folder or ``s3://``).
        window_start: First answer time compared (inclusive).
        window_end: End of the answers compared (exclusive).
        label_source: Labels parquet with the repo's label and join keys.
        feature_repo: Feature repo whose `suite.yaml` names the roles.
        model_name: Registered (and served) model name.
        shadow: The comparison's fixed parameters.
        tracking_uri: MLflow tracking and registry URI ("" = the suite default).
        join_by: ``entity_time`` or ``request_id`` (see `components._labels`).
        max_delay: Longest prediction-to-label delay ("" = no limit).
        prediction_time_column: Prediction time in the log (``timestamp`` = answer time).
        pipeline_run: Recorded in the audit records.
        require_approval: Promote only an approved challenger.
    """

    prediction_log: str
    window_start: str
    window_end: str
    label_source: str
    feature_repo: str | Path
    model_name: str
    shadow: ShadowConfig = field(default_factory=ShadowConfig)
    tracking_uri: str = ""
    join_by: str = "entity_time"
    max_delay: str = "30D"
    prediction_time_column: str = "timestamp"
    pipeline_run: str = ""
    require_approval: bool = False


def run(config: CompareShadowConfig, *, client: MlflowClient | None = None) -> ShadowComparison:
    """The component's work: read both answers, join labels, compare, decide, record.

    Args:
        config: Where the answers and labels are, and the comparison's parameters.
        client: MLflow client; None = one for ``config.tracking_uri``.

    Raises:
        ValueError: On a prediction log without the score column, labels without the
            label column or join keys (each named).
    """
    from components._labels import LABELLED_COLUMN, join_labels, load_label_source
    from components._mlflow import ALIAS_CHALLENGER, ALIAS_CHAMPION, alias_version, mlflow_client
    from components._performance import model_scorer
    from components._serving.prediction_log import read_prediction_log
    from components._suite import load_suite_config

    suite = load_suite_config(config.feature_repo)
    client = client or mlflow_client(config.tracking_uri)
    name = config.model_name
    champion = alias_version(client, name, ALIAS_CHAMPION)
    challenger = alias_version(client, name, ALIAS_CHALLENGER)
    if champion is None or challenger is None or challenger == champion:
        comparison = ShadowComparison(
            DECISION_NO_CHALLENGER,
            f"{name} has champion v{champion} and challenger v{challenger}: nothing to compare",
            asdict(config.shadow),
            champion_version=champion,
            challenger_version=challenger,
        )
        print(f"[suite] compare_shadow: {comparison.decision}: {comparison.reason}", flush=True)
        return comparison
    log = read_prediction_log(
        config.prediction_log, config.window_start, config.window_end,
        model_name=name, model_role=None,
    )  # fmt: skip
    score_column = f"{suite.label}_probability"
    paired = paired_from_log(log, score_column, champion, challenger) if len(log) else log
    source = f"both answers logged (shadow v{challenger} beside champion v{champion})"
    if not len(paired):
        scorer = model_scorer(client, f"models:/{name}/{challenger}")
        paired = score_logged_inputs(log, score_column, champion, scorer)
        source = f"challenger v{challenger} scored the champion's logged inputs (no mirror)"
    print(f"[suite] compare_shadow: {len(paired)} paired rows, {source}", flush=True)
    labels = load_label_source(config.label_source, suite)
    joined = join_labels(
        paired, labels, label_column=suite.label, by=config.join_by,
        entity_column=suite.entity_key, prediction_time_column=config.prediction_time_column,
        label_time_column=suite.timestamp, max_delay=config.max_delay,
    )  # fmt: skip
    done = joined[joined[LABELLED_COLUMN]]
    comparison = compare_paired(
        done[suite.label].to_numpy(), done[CHAMPION_SCORE].to_numpy(),
        done[CHALLENGER_SCORE].to_numpy(), config.shadow,
    )  # fmt: skip
    comparison.rows = len(joined)
    comparison.champion_version, comparison.challenger_version = champion, challenger
    comparison.score_source = source
    comparison.label_source = (
        f"{config.label_source} joined by {config.join_by} (max delay {config.max_delay})"
    )
    comparison.registry = apply_decision(
        client, name, comparison, pipeline_run=config.pipeline_run,
        require_approval=config.require_approval,
    )  # fmt: skip
    print(f"[suite] compare_shadow: {comparison.decision}: {comparison.reason}", flush=True)
    return comparison
