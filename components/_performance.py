"""Binary-classifier metrics shared by the gate, realized and estimated performance.

- `binary_metrics`, `calibration_summary`: the holdout metrics and the reliability
  bins / ECE (`evaluate_model` logs them on the run as ``holdout_*``).
- `realized_performance`: ROC AUC, log loss, Brier and ECE of labelled rows with
  percentile bootstrap intervals over rows (`join_labels`).
- `interval`: a metric value with its interval, and whether it is worse than a
  reference by more than a tolerance, judged on the interval (the retrain policy).
- `champion_holdout`: the champion's holdout metrics as its MLflow run recorded them.

numpy at module level; scikit-learn and MLflow inside functions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mlflow import MlflowClient

CALIBRATION_BINS = 10
# `bootstrap_interval` scores resamples in batches of at most this many (row, resample) values.
BOOTSTRAP_BATCH_VALUES = 4_000_000
PROBABILITY_CLIP = 1e-15
# Metric name -> True when higher is better.
METRIC_DIRECTIONS = {
    "roc_auc": True,
    "pr_auc": True,
    "f1": True,
    "precision": True,
    "recall": True,
    "log_loss": False,
    "brier": False,
}


def binary_metrics(
    label: np.ndarray, probability: np.ndarray, threshold: float
) -> dict[str, float]:
    """Returns the holdout metrics of one model.

    The metrics of `metric_functions`, row count and positive rate.

    Args:
        label: 0/1 labels.
        probability: P(positive class) per row.
        threshold: Rows with P(positive class) >= threshold are predicted positive.

    Raises:
        ValueError: If the label holds a single class (ROC AUC is undefined).
    """
    label = np.asarray(label, dtype="int64")
    if len(np.unique(label)) < 2:
        raise ValueError("the evaluation rows hold a single label class; ROC AUC is undefined")
    metrics = {
        name: float(metric(label, probability))
        for name, metric in metric_functions(threshold).items()
    }
    return {**metrics, "rows": float(len(label)), "positive_rate": float(label.mean())}


def metric_functions(threshold: float) -> dict[str, Any]:
    """Returns the holdout metrics as functions of (label, P(positive class)), by name.

    ROC AUC, PR AUC (average precision), F1 / precision / recall at `threshold`, log
    loss and Brier score (the keys of `METRIC_DIRECTIONS`).

    Args:
        threshold: Rows with P(positive class) >= threshold are predicted positive.
    """
    from sklearn.metrics import (
        average_precision_score,
        brier_score_loss,
        f1_score,
        log_loss,
        precision_score,
        recall_score,
        roc_auc_score,
    )

    def at_threshold(metric: Any) -> Any:
        return lambda y, p: metric(y, (p >= threshold).astype("int64"), zero_division=0)

    return {
        "roc_auc": roc_auc_score,
        "pr_auc": average_precision_score,
        "f1": at_threshold(f1_score),
        "precision": at_threshold(precision_score),
        "recall": at_threshold(recall_score),
        "log_loss": lambda y, p: log_loss(y, p, labels=[0, 1]),
        "brier": brier_score_loss,
    }


def rank_auc(label: Any, score: Any, axis: int = -1) -> Any:
    """ROC AUC by the rank formula along `axis` (ties averaged); NaN where one class is absent.

    Equal to scikit-learn's `roc_auc_score` on each 1-D slice, without its input checks, so
    a bootstrap can score all its resamples in one call (``label`` and ``score`` of shape
    ``(resamples, rows)``).

    Args:
        label: 0/1 labels.
        score: Scores of the same shape (higher = more likely positive).
        axis: The rows' axis.

    Returns:
        A float for 1-D input, else an array without `axis`.
    """
    from scipy.stats import rankdata

    y = np.moveaxis(np.asarray(label, dtype="float64"), axis, -1)
    ranks = rankdata(np.moveaxis(np.asarray(score, dtype="float64"), axis, -1), axis=-1)
    positives = y.sum(axis=-1)
    negatives = y.shape[-1] - positives
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = ((ranks * y).sum(axis=-1) - positives * (positives + 1) / 2) / (positives * negatives)
    return _float_if_scalar(np.where((positives > 0) & (negatives > 0), auc, np.nan))


def roc_auc_difference(label: Any, challenger: Any, champion: Any, axis: int = -1) -> Any:
    """Challenger minus champion ROC AUC on the same rows (paired), along `axis`.

    `rank_auc` of each model; NaN where one class is absent. The gate's per-slice
    difference and the shadow comparison's bootstrap replicates both use it.
    """
    return rank_auc(label, challenger, axis=axis) - rank_auc(label, champion, axis=axis)


def average_precision(label: Any, score: Any, axis: int = -1) -> Any:
    """PR AUC as scikit-learn's `average_precision_score` computes it, along `axis`.

    AP = sum over distinct score thresholds (descending) of (recall gain) x precision;
    tied scores form one threshold. NaN where there is no positive.

    Args:
        label: 0/1 labels.
        score: Scores of the same shape.
        axis: The rows' axis.

    Returns:
        A float for 1-D input, else an array without `axis`.
    """
    y = np.moveaxis(np.asarray(label, dtype="float64"), axis, -1)
    p = np.moveaxis(np.asarray(score, dtype="float64"), axis, -1)
    order = np.argsort(-p, axis=-1, kind="stable")
    p_sorted = np.take_along_axis(p, order, axis=-1)
    true_positives = np.cumsum(np.take_along_axis(y, order, axis=-1), axis=-1)
    # The last row of each group of tied scores is where that threshold's counts are read.
    ends = np.ones(p.shape, dtype=bool)
    ends[..., :-1] = p_sorted[..., :-1] != p_sorted[..., 1:]
    at_ends = np.where(ends, true_positives, 0.0)
    before = np.zeros_like(at_ends)
    before[..., 1:] = np.maximum.accumulate(at_ends, axis=-1)[..., :-1]
    positives = true_positives[..., -1]
    rank = np.arange(1, p.shape[-1] + 1, dtype="float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        gain = np.where(ends, (true_positives - before) * true_positives / rank, 0.0)
        ap = gain.sum(axis=-1) / positives
    return _float_if_scalar(np.where(positives > 0, ap, np.nan))


def vectorized_metric_functions(threshold: float) -> dict[str, Any]:
    """`metric_functions` as functions of (label, P(positive), axis) over many resamples.

    Each equals its scikit-learn counterpart of `metric_functions` on every 1-D slice
    (tests/unit/test_performance_vectorized.py), so `scipy.stats.bootstrap` can run them
    with ``vectorized=True``: one call per metric instead of one per resample. A
    resample holding one class gives NaN for ROC AUC (PR AUC: no positive), not an error.

    Args:
        threshold: Rows with P(positive class) >= threshold are predicted positive.
    """
    eps = np.finfo("float64").eps

    def counts(y: Any, p: Any, axis: int) -> tuple[Any, Any, Any]:
        y = np.asarray(y, dtype="float64")
        predicted = np.asarray(p, dtype="float64") >= threshold
        true_pos = (predicted * y).sum(axis=axis)
        return true_pos, (predicted * (1 - y)).sum(axis=axis), ((~predicted) * y).sum(axis=axis)

    def ratio(numerator: Any, denominator: Any) -> Any:
        # scikit-learn's zero_division=0: an empty denominator scores 0.
        with np.errstate(invalid="ignore", divide="ignore"):
            return _float_if_scalar(
                np.where(denominator > 0, numerator / np.maximum(denominator, 1), 0.0)
            )

    def precision(y: Any, p: Any, axis: int = -1) -> Any:
        tp, fp, _ = counts(y, p, axis)
        return ratio(tp, tp + fp)

    def recall(y: Any, p: Any, axis: int = -1) -> Any:
        tp, _, fn = counts(y, p, axis)
        return ratio(tp, tp + fn)

    def f1(y: Any, p: Any, axis: int = -1) -> Any:
        tp, fp, fn = counts(y, p, axis)
        return ratio(2 * tp, 2 * tp + fp + fn)

    def log_loss(y: Any, p: Any, axis: int = -1) -> Any:
        y = np.asarray(y, dtype="float64")
        p = np.asarray(p, dtype="float64")
        loss = y * np.log(np.clip(p, eps, 1 - eps)) + (1 - y) * np.log(np.clip(1 - p, eps, 1 - eps))
        return _float_if_scalar(-loss.mean(axis=axis))

    def brier(y: Any, p: Any, axis: int = -1) -> Any:
        squared = (np.asarray(p, dtype="float64") - np.asarray(y, dtype="float64")) ** 2
        return _float_if_scalar(squared.mean(axis=axis))

    return {
        "roc_auc": rank_auc,
        "pr_auc": average_precision,
        "f1": f1,
        "precision": precision,
        "recall": recall,
        "log_loss": log_loss,
        "brier": brier,
    }


def bootstrap_interval(
    statistic: Any,
    samples: tuple[np.ndarray, ...],
    *,
    resamples: int,
    confidence: float,
    seed: int,
) -> tuple[float | None, float | None]:
    """Percentile interval of a vectorized statistic over paired row resamples.

    `scipy.stats.bootstrap` with ``paired=True, vectorized=True``: the same rows are
    drawn for every array of `samples`; resamples are scored in batches of at most
    `BOOTSTRAP_BATCH_VALUES` values, so a large holdout never needs the whole
    (resamples x rows) matrix at once.

    Args:
        statistic: ``f(*samples, axis) -> value`` (see `vectorized_metric_functions`).
        samples: Aligned 1-D arrays (e.g. labels and scores).
        resamples: Bootstrap resamples.
        confidence: Two-sided level.
        seed: Seed (the same data give the same interval).

    Returns:
        (low, high); a bound is None when resamples left the statistic undefined, or
        for fewer than two rows.
    """
    import warnings

    from scipy.stats import bootstrap

    rows = len(samples[0])
    if rows < 2:
        return None, None
    with warnings.catch_warnings():
        # A resample with one class leaves the statistic undefined: the bound turns None.
        warnings.simplefilter("ignore")
        interval = bootstrap(
            samples,
            statistic,
            paired=True,
            vectorized=True,
            n_resamples=resamples,
            batch=max(1, BOOTSTRAP_BATCH_VALUES // rows),
            confidence_level=confidence,
            method="percentile",
            random_state=seed,
        ).confidence_interval
    return _finite_or_none(interval.low), _finite_or_none(interval.high)


def _float_if_scalar(value: Any) -> Any:
    """A float for a 0-d result (a 1-D call), the array otherwise."""
    value = np.asarray(value)
    return float(value) if value.ndim == 0 else value


def _finite_or_none(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def calibration_summary(
    label: np.ndarray, probability: np.ndarray, bins: int = CALIBRATION_BINS
) -> dict[str, Any]:
    """Returns reliability bins and the expected calibration error (ECE).

    Bins split [0, 1] into `bins` equal-width intervals (the last one closed).
    ECE = sum over bins of (rows in bin / all rows) * |mean P(positive class) - positive rate|.
    Empty bins are listed with zero rows and None means.

    Args:
        label: 0/1 labels.
        probability: P(positive class) per row.
        bins: Number of equal-width bins.
    """
    label = np.asarray(label, dtype="float64")
    index = np.clip(np.floor(probability * bins).astype("int64"), 0, bins - 1)
    rows = []
    ece = 0.0
    for b in range(bins):
        members = index == b
        count = int(members.sum())
        mean_p = float(probability[members].mean()) if count else None
        rate = float(label[members].mean()) if count else None
        if count:
            ece += count / len(label) * abs(mean_p - rate)
        rows.append(
            {
                "lower": b / bins,
                "upper": (b + 1) / bins,
                "rows": count,
                "mean_probability": mean_p,
                "positive_rate": rate,
            }
        )
    return {"bins": rows, "ece": float(ece)}


def expected_calibration_error(
    label: np.ndarray, probability: np.ndarray, bins: int = CALIBRATION_BINS
) -> float:
    """ECE with the equal-width bins of `calibration_summary`, vectorized (for bootstraps)."""
    label = np.asarray(label, dtype="float64")
    probability = np.asarray(probability, dtype="float64")
    index = np.clip(np.floor(probability * bins).astype("int64"), 0, bins - 1)
    gap = np.bincount(index, weights=probability - label, minlength=bins)
    return float(np.abs(gap).sum() / max(len(label), 1))


@dataclass(frozen=True)
class Interval:
    """A metric's value with its (percentile) interval.

    Attributes:
        value: Point value.
        low: Lower end of the interval.
        high: Upper end of the interval.
        confidence: Two-sided level of the interval.
    """

    value: float
    low: float
    high: float
    confidence: float

    def to_dict(self) -> dict[str, float]:
        """Returns the interval as JSON-safe data."""
        return asdict(self)

    def worse_than(self, reference: float, tolerance: float, higher_is_better: bool) -> bool:
        """Whether the whole interval is worse than `reference` by more than `tolerance`.

        Judged on the interval's favourable end (its upper end for ROC AUC, its
        lower end for a loss), so sampling noise alone does not make a window worse.
        """
        if higher_is_better:
            return self.high < reference - tolerance
        return self.low > reference + tolerance


def percentile_interval(value: float, replicates: np.ndarray, confidence: float) -> Interval:
    """Returns `value` with the percentile interval of its bootstrap replicates (NaNs ignored).

    Raises:
        ValueError: If `confidence` is not in (0, 1).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return Interval(float(value), float("nan"), float("nan"), confidence)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return Interval(float(value), float(low), float(high), confidence)


def realized_performance(
    label: np.ndarray,
    probability: np.ndarray,
    *,
    bootstrap_samples: int = 200,
    confidence: float = 0.9,
    seed: int = 0,
) -> dict[str, Any]:
    """Returns ROC AUC, log loss, Brier and ECE of labelled rows, each with a bootstrap interval.

    The interval is the percentile interval over `bootstrap_samples` resamples of the
    rows (with replacement; a resample holding one class has no ROC AUC and is skipped
    for that metric).

    Args:
        label: 0/1 labels.
        probability: P(positive class) per row.
        bootstrap_samples: Number of row resamples.
        confidence: Two-sided level of the intervals.
        seed: Seed of the resampling.

    Returns:
        ``{"rows", "positive_rate", "metrics": {name: Interval dict}, "calibration"}``.

    Raises:
        ValueError: If there are no rows, a single label class, misaligned inputs or
            fewer than 1 bootstrap sample.
    """
    label = np.asarray(label, dtype="float64")
    probability = np.asarray(probability, dtype="float64")
    if label.shape != probability.shape or label.size == 0:
        raise ValueError(f"need aligned, non-empty labels and scores, got {label.shape}")
    if len(np.unique(label)) < 2:
        raise ValueError("the labelled rows hold a single class: ROC AUC is undefined")
    if bootstrap_samples < 1:
        raise ValueError(f"bootstrap_samples must be >= 1, got {bootstrap_samples}")
    clipped = np.clip(probability, PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
    row_loss = -(label * np.log(clipped) + (1 - label) * np.log(1 - clipped))
    row_brier = (probability - label) ** 2

    def metrics_of(rows: np.ndarray) -> dict[str, float]:
        y, p = label[rows], probability[rows]
        return {
            "roc_auc": rank_auc(y, p),  # scikit-learn's value, NaN for one class
            "log_loss": float(row_loss[rows].mean()),
            "brier": float(row_brier[rows].mean()),
            "ece": expected_calibration_error(y, p),
        }

    n = len(label)
    point = metrics_of(np.arange(n))
    rng = np.random.default_rng(seed)
    draws = [metrics_of(rng.integers(0, n, n)) for _ in range(bootstrap_samples)]
    return {
        "rows": n,
        "positive_rate": float(label.mean()),
        "metrics": {
            name: percentile_interval(
                value, np.array([d[name] for d in draws]), confidence
            ).to_dict()
            for name, value in point.items()
        },
        "calibration": calibration_summary(label, probability),
    }


def champion_holdout(client: MlflowClient, model_name: str, alias: str = "champion") -> dict:
    """Returns the holdout metrics the aliased version's run recorded (``holdout_*``).

    Args:
        client: MLflow client.
        model_name: Registered model name.
        alias: Alias of the version (the serving ``champion`` by default).

    Returns:
        ``{"version", "run_id", "metrics": {name without the holdout_ prefix: value}}``.

    Raises:
        ValueError: If the alias is not set, or the run has no holdout metrics
            (it was not evaluated by `evaluate_model`).
    """
    from mlflow.exceptions import MlflowException

    from components._mlflow import HOLDOUT_PREFIX

    try:
        version = client.get_model_version_by_alias(model_name, alias)
    except MlflowException as exc:
        raise ValueError(f"registered model {model_name!r} has no @{alias} version") from exc
    metrics = {
        key[len(HOLDOUT_PREFIX) :]: float(value)
        for key, value in client.get_run(version.run_id).data.metrics.items()
        if key.startswith(HOLDOUT_PREFIX)
    }
    if not metrics:
        raise ValueError(
            f"run {version.run_id} of {model_name} v{version.version} has no holdout_* metrics; "
            "evaluate_model logs them"
        )
    return {"version": str(version.version), "run_id": version.run_id, "metrics": metrics}


def model_scorer(client: MlflowClient, model_uri: str) -> Any:
    """Loads a model (pyfunc) and returns ``score(frame) -> P(positive class) per row``.

    The frame may carry extra columns (entity key, timestamps, outputs): only the
    model's signature inputs are passed.
    """
    import tempfile

    import mlflow

    from components._mlflow import positive_probability

    registry = getattr(client, "_registry_uri", None) or client.tracking_uri
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=model_uri,
        dst_path=tempfile.mkdtemp(prefix="scorer_"),
        tracking_uri=client.tracking_uri,
        registry_uri=registry,
    )
    model = mlflow.pyfunc.load_model(local)
    schema = model.metadata.get_input_schema()
    if schema is None or not schema.has_input_names():
        raise ValueError(f"model {model_uri} has no named input signature to select columns by")
    inputs = schema.input_names()

    def score(frame: Any) -> np.ndarray:
        missing = [c for c in inputs if c not in frame.columns]
        if missing:
            raise ValueError(f"the window lacks the model's input columns {missing}")
        return positive_probability(model.predict(frame[inputs]))

    return score


def window_scores(
    window: Any, score_column: str, champion_version: str, score: Any
) -> tuple[np.ndarray, str]:
    """Returns the champion's scores on the window and where they came from.

    The window's own score column (a prediction-log window carries the served answers)
    is used when every row was answered by the champion's version; otherwise the
    champion scores the rows here (``score(frame) -> probabilities``).
    """
    versions = (
        sorted(window["model_version"].astype(str).unique())
        if "model_version" in window.columns
        else []
    )
    if score_column in window.columns and versions == [str(champion_version)]:
        values = window[score_column].to_numpy(dtype="float64", na_value=np.nan)
        if not np.isnan(values).any():
            return values, f"logged {score_column!r} of version {champion_version}"
    return score(window), f"champion v{champion_version} scored in this step"
