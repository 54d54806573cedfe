"""Performance of a window without its labels: confidence-based performance estimation (CBPE).

If the champion's scores are calibrated, P(y = 1 | score s) = s, so a window's
labels can be simulated from its scores and every metric's distribution follows:

- **expected confusion matrix** at the serving threshold t: E[TP] = sum of s over
  rows with s >= t, E[FP] = sum of (1 - s) there, E[FN] = sum of s below t,
  E[TN] = sum of (1 - s) below t (and the expected precision, recall, accuracy);
- **ROC AUC**: `samples` label vectors y ~ Bernoulli(s) are drawn; each one's AUC
  comes from the fixed ranks of the scores (Mann-Whitney: (sum of positive ranks -
  n1 (n1 + 1) / 2) / (n1 n0)), so the draws are one matrix product;
- **log loss** and **Brier**: exact expectations (mean binary entropy, mean
  s (1 - s)) with the draws' percentile interval.

The interval is where the window's *realized* metric should fall if the scores are
calibrated on it: it covers the label noise, not a change of P(y | x). So CBPE sees
what moves the scores (covariate shift, missingness that the model reads, a
shifted score mix) and is blind to concept drift and to label (prior) shift, where
P(y | s) itself changes: the scores look as confident as before while being wrong.

It refuses (status ``not_estimable``, no numbers) when the champion's holdout ECE
(logged by `evaluate_model` on its run) is above `max_holdout_ece`: an estimate from
uncalibrated scores would be a guess dressed as a number.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from components._performance import PROBABILITY_CLIP, percentile_interval

STATUS_ESTIMATED = "estimated"
STATUS_NOT_ESTIMABLE = "not_estimable"
STATUS_INSUFFICIENT = "insufficient_data"


@dataclass(frozen=True)
class EstimationParams:
    """Knobs of the estimate.

    Attributes:
        threshold: Serving threshold of the expected confusion matrix (P >= threshold
            is predicted positive); the gate's ``threshold``.
        max_holdout_ece: Largest champion holdout ECE at which the scores are trusted.
        samples: Label vectors drawn from the scores.
        confidence: Two-sided level of the intervals.
        min_rows: Fewer window rows give ``insufficient_data``.
        seed: Seed of the draws.
    """

    threshold: float = 0.5
    max_holdout_ece: float = 0.05
    samples: int = 500
    confidence: float = 0.9
    min_rows: int = 100
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")
        if self.max_holdout_ece < 0:
            raise ValueError(f"max_holdout_ece must be >= 0, got {self.max_holdout_ece}")
        if self.samples < 10:
            raise ValueError(f"samples must be >= 10, got {self.samples}")
        if self.min_rows < 2:
            raise ValueError(f"min_rows must be >= 2, got {self.min_rows}")


def expected_confusion(probability: np.ndarray, threshold: float) -> dict[str, float]:
    """Returns the expected TP, FP, FN, TN (and precision, recall, accuracy) at `threshold`."""
    p = np.asarray(probability, dtype="float64")
    positive = p >= threshold
    tp, fp = float(p[positive].sum()), float((1 - p[positive]).sum())
    fn, tn = float(p[~positive].sum()), float((1 - p[~positive]).sum())
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": tp / (tp + fp) if tp + fp > 0 else float("nan"),
        "recall": tp / (tp + fn) if tp + fn > 0 else float("nan"),
        "accuracy": (tp + tn) / len(p) if len(p) else float("nan"),
    }


def cbpe(
    probability: np.ndarray,
    *,
    threshold: float = 0.5,
    samples: int = 500,
    confidence: float = 0.9,
    seed: int = 0,
) -> dict[str, Any]:
    """Estimates a window's performance from calibrated scores (see module docstring).

    Args:
        probability: P(positive class) per row (the champion's scores).
        threshold: Threshold of the expected confusion matrix.
        samples: Label vectors drawn.
        confidence: Two-sided level of the intervals.
        seed: Seed of the draws.

    Returns:
        ``{"rows", "expected_positive_rate", "confusion_matrix", "metrics": {roc_auc,
        log_loss, brier: Interval dict}}``.

    Raises:
        ValueError: If a score is outside [0, 1] or NaN, or there are fewer than 2 rows.
    """
    from scipy.stats import rankdata

    p = np.asarray(probability, dtype="float64")
    if p.size < 2 or not np.all((p >= 0) & (p <= 1)):
        raise ValueError("scores must be at least 2 probabilities in [0, 1] (no NaN)")
    rng = np.random.default_rng(seed)
    n = p.size
    ranks = rankdata(p)
    clipped = np.clip(p, PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
    log_p, log_q = np.log(clipped), np.log(1 - clipped)
    auc = np.empty(samples)
    loss = np.empty(samples)
    brier = np.empty(samples)
    # Chunks bound memory at ~8 MB of draws whatever the window size.
    chunk = max(1, 1_000_000 // n)
    for first in range(0, samples, chunk):
        rows = slice(first, min(first + chunk, samples))
        y = (rng.random((rows.stop - rows.start, n)) < p).astype("float64")
        n1 = y.sum(axis=1)
        n0 = n - n1
        with np.errstate(invalid="ignore", divide="ignore"):
            auc[rows] = np.where(
                (n1 > 0) & (n0 > 0), (y @ ranks - n1 * (n1 + 1) / 2) / (n1 * n0), np.nan
            )
        loss[rows] = -(y @ (log_p - log_q) + log_q.sum()) / n
        brier[rows] = ((y - p) ** 2).mean(axis=1)
    expected_loss = float(-(p * log_p + (1 - p) * log_q).mean())
    expected_brier = float((p * (1 - p)).mean())
    return {
        "rows": n,
        "expected_positive_rate": float(p.mean()),
        "confusion_matrix": expected_confusion(p, threshold),
        "metrics": {
            "roc_auc": percentile_interval(float(np.nanmean(auc)), auc, confidence).to_dict(),
            "log_loss": percentile_interval(expected_loss, loss, confidence).to_dict(),
            "brier": percentile_interval(expected_brier, brier, confidence).to_dict(),
        },
    }


@dataclass
class EstimatePerformanceResult:
    """What `estimate` found (implements `components._contract.ComponentResult`).

    Attributes:
        status: ``estimated``, ``not_estimable`` (holdout ECE too high or unknown)
            or ``insufficient_data``.
        reason: Why, in one sentence.
        rows: Window rows scored.
        score_source: Where the scores came from (the window's logged answers, and
            which model versions gave them, or the champion scored in the task).
        holdout: The champion's holdout metrics (version, run, roc_auc, log_loss, ece).
        params: The parameters used.
        estimate: The `cbpe` result, or None unless ``estimated``.
    """

    status: str
    reason: str
    rows: int
    score_source: str
    holdout: dict[str, Any]
    params: dict[str, Any]
    estimate: dict[str, Any] | None = field(default=None)

    def report(self) -> dict[str, Any]:
        """Returns the JSON report: status, reason, estimate, holdout, parameters."""
        return asdict(self)

    def metadata(self) -> dict[str, Any]:
        """Returns the report artifact's metadata: the status."""
        return {"status": self.status}

    def return_value(self) -> str:
        """Returns the status (the component's one return value)."""
        return self.status

    def metrics(self) -> dict[str, float]:
        """Flat numbers for a KFP ``Metrics`` artifact (only when estimated)."""
        values: dict[str, float] = {"rows": float(self.rows)}
        if self.estimate is None:
            return values
        for name, interval in self.estimate["metrics"].items():
            values[f"estimated_{name}"] = interval["value"]
            values[f"estimated_{name}_low"] = interval["low"]
            values[f"estimated_{name}_high"] = interval["high"]
        return values


def estimate(
    probability: np.ndarray,
    holdout: dict[str, Any],
    params: EstimationParams,
    score_source: str = "",
) -> EstimatePerformanceResult:
    """Estimates, or refuses with a status, given the window's scores and the holdout ECE.

    Args:
        probability: The champion's scores on the window.
        holdout: ``{"version", "run_id", "metrics": {...}}`` (see `champion_holdout`).
        params: The parameters.
        score_source: Where the scores came from (reported).
    """
    holdout_metrics = holdout.get("metrics", {})
    ece = holdout_metrics.get("ece")
    summary = {
        "version": holdout.get("version"),
        "run_id": holdout.get("run_id"),
        **{k: holdout_metrics.get(k) for k in ("roc_auc", "log_loss", "brier", "ece")},
    }
    common = {
        "rows": len(probability),
        "score_source": score_source,
        "holdout": summary,
        "params": asdict(params),
    }
    if ece is None or not np.isfinite(ece):
        return EstimatePerformanceResult(
            STATUS_NOT_ESTIMABLE, "the champion's run has no holdout ECE (holdout_ece)", **common
        )
    if ece > params.max_holdout_ece:
        return EstimatePerformanceResult(
            STATUS_NOT_ESTIMABLE,
            f"holdout ECE {ece:.4f} > max_holdout_ece {params.max_holdout_ece:g}: the scores are "
            "not calibrated enough to estimate from",
            **common,
        )
    if len(probability) < params.min_rows:
        return EstimatePerformanceResult(
            STATUS_INSUFFICIENT,
            f"{len(probability)} rows < min_rows {params.min_rows}",
            **common,
        )
    result = cbpe(
        probability,
        threshold=params.threshold,
        samples=params.samples,
        confidence=params.confidence,
        seed=params.seed,
    )
    auc = result["metrics"]["roc_auc"]
    return EstimatePerformanceResult(
        STATUS_ESTIMATED,
        f"estimated ROC AUC {auc['value']:.4f} [{auc['low']:.4f}, {auc['high']:.4f}] on "
        f"{len(probability)} rows (holdout {summary['roc_auc']:.4f}, holdout ECE {ece:.4f})",
        estimate=result,
        **common,
    )


@dataclass(frozen=True)
class EstimatePerformanceConfig:
    """What `run` estimates for which model.

    Attributes:
        window: The window (features; a prediction-log window also has the served
            scores and ``model_version``).
        model_name: Registered model whose ``@champion`` is estimated.
        params: The estimate's knobs.
        tracking_uri: MLflow tracking and registry URI ("" = the suite default).
        score_column: The window's served-score column, e.g. ``churned_probability``
            ("" = none; the champion scores the rows).
    """

    window: pd.DataFrame
    model_name: str
    params: EstimationParams
    tracking_uri: str = ""
    score_column: str = ""


def run(config: EstimatePerformanceConfig, *, client: Any = None) -> EstimatePerformanceResult:
    """The component's work: get the champion's scores on the window, estimate.

    Args:
        config: Window, model and parameters.
        client: ``mlflow.MlflowClient``; None = one for ``config.tracking_uri``.

    Raises:
        ValueError: No ``@champion`` for the model (or its run has no holdout metrics),
            scores outside [0, 1], or the window lacks the champion's input columns.
    """
    from components._mlflow import mlflow_client
    from components._performance import champion_holdout, model_scorer, window_scores

    client = client or mlflow_client(config.tracking_uri)
    holdout = champion_holdout(client, config.model_name)
    window = config.window
    print(f"[suite] estimate_performance: {len(window)} rows, champion v{holdout['version']}")
    scores, source = window_scores(
        window,
        config.score_column,
        holdout["version"],
        lambda frame: model_scorer(client, f"models:/{config.model_name}@champion")(frame),
    )
    result = estimate(scores, holdout, config.params, source)
    print(f"[suite] estimate_performance: {result.status}: {result.reason}", flush=True)
    return result
