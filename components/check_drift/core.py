"""check_drift core: is the current window still like the champion's reference?

Checks (``DriftParams.checks``, any subset of `CHECKS`):

- ``feature``: alibi-detect TabularDrift, KS per numeric feature, Chi2 per
  categorical feature, with the chosen multiple-testing correction
  (``bonferroni`` or ``fdr``) across features.
- ``psi``: a feature whose PSI (effect size, see `psi`) reaches
  ``psi_threshold`` counts as drifted. PSI is computed and reported either way.
- ``prediction``: KS between the champion's scores on the window and its
  scores on the reference sample.
- ``multivariate``: alibi-detect ClassifierDrift (sklearn random forest,
  3 seeded folds) with the features the domain classifier relied on.
- ``performance``: when the window carries labels, a one-sided test that the
  champion's ROC AUC on the window is more than ``performance_tolerance`` below
  its holdout ROC AUC (Hanley-McNeil standard error).

One row per entity: rows of one entity are repeated measurements, so the
window (and the reference) keep each entity's latest row before testing (see
`latest_row_per_entity`); ``min_sample_size`` counts those rows.

False alarms: ``alpha`` is the significance level of the whole decision. The
hypothesis-test checks that run (feature, prediction, multivariate,
performance) share it equally (Bonferroni across checks), so under no drift
the chance that any of them fires is at most ``alpha``. PSI is an effect-size
rule, not a test: under no drift PSI is about
``chi2(bins - 1) * (1/n_cur + 1/n_ref)``, ~0.05 at n=200 with 10 bins, so the
default ``psi_threshold`` (0.2) is out of reach of sampling noise from the
default ``min_sample_size`` (200) up.
Alarm governance (an alarm must deserve attention):

- a feature alarm needs BOTH significance after the multiple-testing
  correction across features (``fdr``: Benjamini-Hochberg q-values, the
  default; ``bonferroni``) AND a minimum effect size (``alarm_psi`` /
  ``distance``): for a categorical feature PSI over its categories (null and
  unseen included) >= ``min_psi``; for a numeric feature the Wasserstein
  distance of its values in reference SDs >= ``min_distance``, or the PSI of
  its null share (null vs not null) >= ``min_psi``. At 1e5 rows a KS test is
  significant for shifts far too small to cost the champion any ROC AUC; the
  floor keeps those out. PSI over *value bins* is not an alarm measure for
  numerics: an atom (spend 0 for customers without orders) moved by 0.01 SD
  gives a binned PSI above 1 (bench/drift.py) while costing no ROC AUC; it
  stays in the report. The score-drift check is gated by the scores'
  distance, and the ``psi`` check uses ``alarm_psi``. The raw test results
  stay in the report (``raw_alarm``, each feature's ``significant`` and q-value).
- the window alarm becomes the governed alarm only if it persists in
  ``persistence_k`` of the last ``persistence_m`` windows checked against the
  same champion version, and not during the first ``cooldown_windows`` windows
  after a retrain (the champion replaced another one; see `govern`). The
  history lives in MLflow (`components.check_drift.history`).

`bench/drift.py` measures the resulting false-alarm rate and power, before and
after governance, and the ROC AUC cost of each drift magnitude.
"""

from __future__ import annotations

import itertools
import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from components._contract import json_safe
from components._drift_reference import (
    NULL_LABEL,
    UNSEEN_LABEL,
    DriftReference,
    client_uris,
    latest_row_per_entity,
    load_reference,
    nulls_as_lowest,
)
from components._mlflow import ALIAS_CHAMPION, HOLDOUT_PREFIX, models_uri, positive_probability
from components.check_drift.history import AlarmHistory

CHECKS = ("feature", "psi", "prediction", "multivariate", "performance")
DEFAULT_CHECKS = ("feature", "psi", "prediction", "performance")
TEST_CHECKS = ("feature", "prediction", "multivariate", "performance")
CORRECTIONS = ("bonferroni", "fdr")
PSI_EPSILON = 1e-4
# Run metric consulted when the reference manifest has no holdout ROC AUC (evaluate_model's).
HOLDOUT_AUC_METRIC = f"{HOLDOUT_PREFIX}roc_auc"
STATUS_NO_DRIFT = "no_drift"
STATUS_DRIFT = "drift"
STATUS_INSUFFICIENT = "insufficient_data"
NULL_SHARE_NOTE = 0.05
# Effect-size floors of an alarm (chosen with bench/drift.py, see bench/README.md).
MIN_PSI = 0.1
MIN_DISTANCE = 0.15


@dataclass(frozen=True)
class DriftParams:
    """Parameters of one drift check.

    Attributes:
        alpha: Significance level of the whole drift decision (shared by the
            hypothesis-test checks, see the module docstring).
        correction: ``fdr`` (Benjamini-Hochberg) or ``bonferroni`` across features.
        min_sample_size: Windows with fewer rows (one per entity) get status
            ``insufficient_data``.
        psi_threshold: Alarm PSI (see `FeatureDrift`) at or above which a
            feature counts as drifted without a test (the ``psi`` check).
        min_psi: Smallest alarm PSI (categories; a numeric's null share) that
            makes a significant test an alarm (effect-size floor).
        min_distance: Smallest Wasserstein distance in reference SDs that makes
            a significant numeric test (or the score test) an alarm.
        persistence_k: Window alarms needed among the last `persistence_m`
            windows (this one included) for a governed alarm.
        persistence_m: Windows the persistence rule looks back over.
        cooldown_windows: Windows after a retrain (champion change) that
            cannot raise a governed alarm (0 = no cooldown).
        checks: Checks to run, a subset of `CHECKS`.
        performance_tolerance: Allowed ROC AUC drop below the holdout value.
        label_column: Label column used by the performance check ("" = no labels:
            the check is skipped and says so).
        seed: Seed of every random choice (domain classifier).
        entity_column: Entity key; one row per entity is checked ("" = every row).
        timestamp_column: Orders an entity's rows; its latest row is kept.
    """

    alpha: float = 0.05
    correction: str = "fdr"
    min_sample_size: int = 200
    psi_threshold: float = 0.2
    min_psi: float = MIN_PSI
    min_distance: float = MIN_DISTANCE
    persistence_k: int = 1
    persistence_m: int = 1
    cooldown_windows: int = 1
    checks: tuple[str, ...] = DEFAULT_CHECKS
    performance_tolerance: float = 0.05
    label_column: str = ""
    seed: int = 0
    entity_column: str = ""
    timestamp_column: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "checks", tuple(dict.fromkeys(self.checks)))
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha}")
        if self.correction not in CORRECTIONS:
            raise ValueError(f"correction must be one of {CORRECTIONS}, got {self.correction!r}")
        if self.min_sample_size < 1:
            raise ValueError(f"min_sample_size must be >= 1, got {self.min_sample_size}")
        if self.psi_threshold <= 0:
            raise ValueError(f"psi_threshold must be positive, got {self.psi_threshold}")
        if self.min_psi < 0 or self.min_distance < 0:
            raise ValueError(
                f"min_psi and min_distance must be >= 0, got {self.min_psi}, {self.min_distance}"
            )
        if not 1 <= self.persistence_k <= self.persistence_m:
            raise ValueError(
                "persistence needs 1 <= persistence_k <= persistence_m, got "
                f"persistence_k={self.persistence_k}, persistence_m={self.persistence_m}"
            )
        if self.cooldown_windows < 0:
            raise ValueError(f"cooldown_windows must be >= 0, got {self.cooldown_windows}")
        if self.performance_tolerance < 0:
            raise ValueError(
                f"performance_tolerance must be >= 0, got {self.performance_tolerance}"
            )
        unknown = [c for c in self.checks if c not in CHECKS]
        if unknown or not self.checks:
            raise ValueError(f"checks must be a non-empty subset of {CHECKS}, got {self.checks}")

    @property
    def test_checks(self) -> list[str]:
        """The hypothesis-test checks that share `alpha`."""
        return [c for c in TEST_CHECKS if c in self.checks]

    @property
    def alpha_per_test(self) -> float:
        """Level of each hypothesis-test check (alpha split equally)."""
        return self.alpha / max(1, len(self.test_checks))


@dataclass
class FeatureDrift:
    """Per-feature result; histogram shares are over `bins` (value bins, then null/unseen).

    ``psi`` is over the histogram bins (categories, or value bins and the null bin);
    ``alarm_psi`` is the PSI the alarm rules use (categorical: ``psi``; numeric: PSI
    of the null share). ``q_value`` is the p-value adjusted for the correction across features
    (BH or Bonferroni), ``significant`` says it is below alpha, ``distance`` is
    the Wasserstein distance in reference SDs (numeric features only), and
    ``drifted`` is the alarm: significant with a large enough effect (or PSI
    over ``psi_threshold``).
    """

    name: str
    kind: str
    test: str
    statistic: float = math.nan
    p_value: float = math.nan
    psi: float = math.nan
    alarm_psi: float = math.nan
    q_value: float = math.nan
    significant: bool = False
    distance: float = math.nan
    drifted: bool = False
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    null_share_reference: float = 0.0
    null_share_current: float = 0.0
    unseen_categories: dict[str, int] = field(default_factory=dict)
    bins: list[str] = field(default_factory=list)
    reference_share: list[float] = field(default_factory=list)
    current_share: list[float] = field(default_factory=list)

    def severity_key(self) -> tuple[bool, float, float]:
        """Sort key: drifted first, then larger PSI, then smaller p-value."""
        psi = 0.0 if math.isnan(self.psi) else self.psi
        p = 1.0 if math.isnan(self.p_value) else self.p_value
        return (not self.drifted, -psi, p)


@dataclass
class PredictionDrift:
    """KS test of the champion's scores on the window against the reference scores."""

    statistic: float
    p_value: float
    threshold: float
    psi: float
    drifted: bool
    reference_mean: float
    current_mean: float
    significant: bool = False
    distance: float = math.nan
    bins: list[str] = field(default_factory=list)
    reference_share: list[float] = field(default_factory=list)
    current_share: list[float] = field(default_factory=list)


@dataclass
class MultivariateDrift:
    """Domain-classifier test; importances say which features separate the two samples."""

    p_value: float
    distance: float
    threshold: float
    drifted: bool
    feature_importances: dict[str, float] = field(default_factory=dict)


@dataclass
class PerformanceCheck:
    """The champion's ROC AUC on a labelled window against its holdout value."""

    tolerance: float
    reference_roc_auc: float | None = None
    current_roc_auc: float | None = None
    std_error: float | None = None
    upper_bound: float | None = None
    degraded: bool = False
    n_labelled: int = 0
    label_rate_reference: float | None = None
    label_rate_current: float | None = None
    note: str = ""


@dataclass
class Governance:
    """How the window alarm became (or did not become) the governed alarm.

    Attributes:
        raw_alarm: Any check fired on significance alone (no effect-size floor):
            what the check answered before governance.
        window_alarm: This window's alarm: significant and large enough.
        persistence_k: Alarms needed in the last `persistence_m` windows.
        persistence_m: Windows looked back over (this one included).
        recent_alarms: Window alarms among the last `persistence_m` windows.
        windows_seen: Windows counted (fewer than `persistence_m` early on).
        persistent: ``recent_alarms >= persistence_k``.
        cooldown_windows: Windows after a retrain that cannot alarm.
        windows_since_retrain: Earlier windows checked against this champion
            since it replaced another one (None: not a retrained champion).
        in_cooldown: This window is within the cooldown.
        retrained_at: When the champion replaced another (audit record), if it did.
        champion_version: Registry version the history is kept for.
        history: Where the history lives ("" = none: only this window counts).
        governed_alarm: The alarm check_drift answers.
        rule: Which rule decided, in words.
    """

    raw_alarm: bool
    window_alarm: bool
    persistence_k: int
    persistence_m: int
    recent_alarms: int
    windows_seen: int
    persistent: bool
    cooldown_windows: int
    windows_since_retrain: int | None
    in_cooldown: bool
    retrained_at: str | None
    champion_version: str | None
    history: str
    governed_alarm: bool
    rule: str


def govern(
    raw_alarm: bool, window_alarm: bool, params: DriftParams, history: AlarmHistory | None = None
) -> Governance:
    """Applies persistence (k of the last m windows) and the post-retrain cooldown.

    Args:
        raw_alarm: The window fired on significance alone.
        window_alarm: The window fired with significance and effect size.
        params: ``persistence_k``, ``persistence_m``, ``cooldown_windows``.
        history: Earlier windows of the same champion version (an empty history is a
            first window: with k > 1 it cannot alarm yet); None = no history is kept
            (a model outside the registry, a direct call): this window alone decides.

    Returns:
        The governance record; ``governed_alarm`` is the decision.
    """
    kept = history is not None
    history = history or AlarmHistory()
    looked_back = [window_alarm, *history.prior_alarms[: params.persistence_m - 1]]
    recent = sum(looked_back)
    persistent = recent >= (params.persistence_k if kept else 1)
    since = history.windows_since_retrain if history.retrained_at else None
    in_cooldown = since is not None and since < params.cooldown_windows
    governed = window_alarm and persistent and not in_cooldown
    if not window_alarm:
        rule = "no window alarm" + (" (raw tests fired, effects too small)" if raw_alarm else "")
    elif in_cooldown:
        rule = (
            f"held: cooldown, window {since + 1} of {params.cooldown_windows} after the retrain "
            f"at {history.retrained_at}"
        )
    elif not persistent:
        rule = (
            f"held: {recent} alarm(s) in the last {len(looked_back)} window(s), "
            f"persistence needs {params.persistence_k} of {params.persistence_m}"
        )
    elif not kept:
        rule = "alarm: no alarm history is kept for this model, this window alone decides"
    else:
        rule = (
            f"alarm: {recent} of the last {len(looked_back)} window(s) alarmed "
            f"(needs {params.persistence_k} of {params.persistence_m})"
            + ("" if since is None else f", past the {params.cooldown_windows}-window cooldown")
        )
    return Governance(
        raw_alarm=raw_alarm,
        window_alarm=window_alarm,
        persistence_k=params.persistence_k,
        persistence_m=params.persistence_m,
        recent_alarms=recent,
        windows_seen=len(looked_back),
        persistent=persistent,
        cooldown_windows=params.cooldown_windows,
        windows_since_retrain=since,
        in_cooldown=in_cooldown,
        retrained_at=history.retrained_at,
        champion_version=history.champion_version,
        history=history.location,
        governed_alarm=governed,
        rule=rule,
    )


@dataclass
class DriftReport:
    """Everything check_drift found; `report` is the JSON report.

    Implements `components._contract.ComponentResult`.
    """

    status: str
    drift_detected: bool
    n_current: int
    n_reference: int
    params: dict[str, Any]
    n_window_rows: int = 0
    features: list[FeatureDrift] = field(default_factory=list)
    feature_threshold: float | None = None
    prediction: PredictionDrift | None = None
    multivariate: MultivariateDrift | None = None
    performance: PerformanceCheck | None = None
    reasons: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    model_uri: str | None = None
    run_id: str | None = None
    governance: Governance | None = None

    @property
    def drifted_features(self) -> list[str]:
        """Names of drifted features, most severe first."""
        return [f.name for f in self.features_by_severity() if f.drifted]

    @property
    def share_drifted(self) -> float:
        """Share of features flagged as drifted (0 when no feature was checked)."""
        return len(self.drifted_features) / len(self.features) if self.features else 0.0

    def features_by_severity(self) -> list[FeatureDrift]:
        """Features sorted most severe first (see `FeatureDrift.severity_key`)."""
        return sorted(self.features, key=FeatureDrift.severity_key)

    def report(self) -> dict[str, Any]:
        """Returns a JSON-safe dict (NaN and inf become None)."""
        out = asdict(self)
        out["features"] = [asdict(f) for f in self.features_by_severity()]
        out["drifted_features"] = self.drifted_features
        out["share_drifted"] = self.share_drifted
        return json_safe(out)

    def metadata(self) -> dict[str, Any]:
        """Small JSON-safe summary for KFP artifact metadata."""
        return {
            "status": self.status,
            "drift_detected": self.drift_detected,
            "model_uri": self.model_uri,
            "mlflow_run_id": self.run_id,
            "n_window_rows": self.n_window_rows,
            "n_current": self.n_current,
            "drifted_features": self.drifted_features,
            "raw_alarm": self.governance.raw_alarm if self.governance else None,
            "governance": self.governance.rule if self.governance else None,
        }

    def metrics(self) -> dict[str, float]:
        """Flat metrics for a KFP ``Metrics`` artifact (`publish` drops non-finite ones)."""
        values: dict[str, float] = {
            "drift_detected": float(self.drift_detected),
            "n_current": float(self.n_current),
            "n_window_rows": float(self.n_window_rows),
            "share_drifted": self.share_drifted,
            "n_drifted_features": float(len(self.drifted_features)),
        }
        if self.governance:
            g = self.governance
            values.update(
                raw_alarm=float(g.raw_alarm),
                window_alarm=float(g.window_alarm),
                recent_alarms=float(g.recent_alarms),
                in_cooldown=float(g.in_cooldown),
            )
        for f in self.features:
            values[f"p_value_{f.name}"] = f.p_value
            values[f"q_value_{f.name}"] = f.q_value
            values[f"statistic_{f.name}"] = f.statistic
            values[f"psi_{f.name}"] = f.psi
            values[f"distance_{f.name}"] = f.distance
        if self.prediction:
            values["prediction_ks_p_value"] = self.prediction.p_value
            values["prediction_ks_statistic"] = self.prediction.statistic
            values["prediction_psi"] = self.prediction.psi
        if self.multivariate:
            values["multivariate_p_value"] = self.multivariate.p_value
        if self.performance and self.performance.current_roc_auc is not None:
            values["window_roc_auc"] = self.performance.current_roc_auc
        return {k: float(v) for k, v in values.items()}

    def html(self) -> str:
        """The self-contained HTML report."""
        from components.check_drift.html_report import render_html

        return render_html(self)

    def return_value(self) -> bool:
        """Whether drift was detected (the component's one return value)."""
        return self.drift_detected


# --------------------------------------------------------------------------- PSI


def psi(reference_counts: Sequence[float], current_counts: Sequence[float]) -> float:
    """Population Stability Index between two histograms over the same bins.

    ``PSI = sum((c - r) * ln(c / r))`` over bins, with ``r``/``c`` the
    reference/current proportions. Epsilon handling: every proportion is
    floored at `PSI_EPSILON` (1e-4) before the sum, without renormalising, so
    a bin empty on one side adds a large but finite term and a bin empty on
    both sides adds exactly 0.

    Raises:
        ValueError: If the histograms differ in length or one of them is empty.
    """
    ref = np.asarray(reference_counts, dtype=float)
    cur = np.asarray(current_counts, dtype=float)
    if ref.shape != cur.shape or ref.sum() <= 0 or cur.sum() <= 0:
        raise ValueError("PSI needs two non-empty histograms over the same bins")
    r = np.maximum(ref / ref.sum(), PSI_EPSILON)
    c = np.maximum(cur / cur.sum(), PSI_EPSILON)
    return float(np.sum((c - r) * np.log(c / r)))


def numeric_histogram(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Counts per right-closed bin ``(-inf, e0], ..., (e_last, inf)``, then one null bin."""
    null = np.isnan(values)
    idx = np.searchsorted(np.asarray(edges, dtype=float), values[~null], side="left")
    return np.append(np.bincount(idx, minlength=len(edges) + 1), null.sum())


def numeric_bin_labels(edges: Sequence[float]) -> list[str]:
    """Human labels of `numeric_histogram`'s bins."""
    if not edges:
        return ["all values", NULL_LABEL]
    labels = [f"<= {edges[0]:.4g}"]
    labels += [f"({lo:.4g}, {hi:.4g}]" for lo, hi in itertools.pairwise(edges)]
    return [*labels, f"> {edges[-1]:.4g}", NULL_LABEL]


def histogram_shares(
    labels: Sequence[str], reference_counts: np.ndarray, current_counts: np.ndarray
) -> tuple[list[str], list[float], list[float]]:
    """Bin labels and shares of both histograms, without bins empty on both sides."""
    keep = (reference_counts + current_counts) > 0
    ref = reference_counts[keep] / max(reference_counts.sum(), 1)
    cur = current_counts[keep] / max(current_counts.sum(), 1)
    kept = [label for label, k in zip(labels, keep, strict=True) if k]
    return kept, [float(v) for v in ref], [float(v) for v in cur]


# ------------------------------------------------------------------ the checks


def _profile_features(
    reference: DriftReference, enc_ref: np.ndarray, enc_cur: np.ndarray, current: pd.DataFrame
) -> list[FeatureDrift]:
    """Null shares, unseen categories, notes, histograms and PSI for every feature."""
    out = []
    n_cat = len(reference.categorical_columns)
    for j, name in enumerate(reference.feature_columns):
        ref_col, cur_col = enc_ref[:, j], enc_cur[:, j]
        if j < n_cat:
            vocab = reference.vocabulary(name)
            null_code = len(vocab)
            ref_counts = np.bincount(ref_col.astype(int), minlength=null_code + 2)
            cur_counts = np.bincount(cur_col.astype(int), minlength=null_code + 2)
            labels = [*vocab, NULL_LABEL, UNSEEN_LABEL]
            ref_null, cur_null = ref_col == null_code, cur_col == null_code
            unseen_mask = cur_col == null_code + 1
            unseen = (
                current.loc[unseen_mask, name].astype(str).value_counts().head(20).to_dict()
                if unseen_mask.any()
                else {}
            )
            feat = FeatureDrift(name, "categorical", "chi2", unseen_categories=unseen)
        else:
            edges = reference.psi_edges[name]
            ref_counts = numeric_histogram(ref_col, edges)
            cur_counts = numeric_histogram(cur_col, edges)
            labels = numeric_bin_labels(edges)
            ref_null, cur_null = np.isnan(ref_col), np.isnan(cur_col)
            feat = FeatureDrift(name, "numeric", "ks")
            feat.distance = scaled_wasserstein(ref_col, cur_col)
        feat.null_share_reference = float(ref_null.mean())
        feat.null_share_current = float(cur_null.mean())
        feat.psi = psi(ref_counts, cur_counts)
        feat.alarm_psi = feat.psi if j < n_cat else null_share_psi(ref_null, cur_null)
        feat.bins, feat.reference_share, feat.current_share = histogram_shares(
            labels, ref_counts, cur_counts
        )
        feat.notes = _column_notes(ref_col[~ref_null], cur_col[~cur_null], "reference", "window")
        if feat.unseen_categories:
            feat.notes.append(
                f"{int(unseen_mask.sum())} rows with categories unseen in training: "
                f"{sorted(feat.unseen_categories)}"
            )
        out.append(feat)
    return out


def _column_notes(ref_values: np.ndarray, cur_values: np.ndarray, *names: str) -> list[str]:
    notes = []
    for label, values in zip(names, (ref_values, cur_values), strict=True):
        if values.size == 0:
            notes.append(f"all null in {label}")
        elif np.unique(values).size == 1:
            notes.append(f"constant in {label}")
    return notes


def adjusted_p_values(p_values: Sequence[float], correction: str) -> np.ndarray:
    """Returns p-values adjusted across features: BH q-values (``fdr``) or Bonferroni.

    A feature is significant at level alpha when its adjusted value is below alpha;
    for ``fdr`` that is exactly Benjamini-Hochberg's step-up rule (what alibi-detect's
    ``correction="fdr"`` decides for the batch), computed per feature by scipy.

    Raises:
        ValueError: For an unknown correction.
    """
    from scipy.stats import false_discovery_control

    p = np.asarray(p_values, dtype=float)
    if correction == "fdr":
        return false_discovery_control(p, method="bh") if p.size else p
    if correction == "bonferroni":
        return np.minimum(p * p.size, 1.0)
    raise ValueError(f"correction must be one of {CORRECTIONS}, got {correction!r}")


def scaled_wasserstein(reference: np.ndarray, current: np.ndarray) -> float:
    """Wasserstein-1 distance between two samples in reference standard deviations.

    Nulls (NaN) are left out (their share is PSI's null bin). NaN when either side
    has no values or the reference is constant.
    """
    from scipy.stats import wasserstein_distance

    ref, cur = reference[~np.isnan(reference)], current[~np.isnan(current)]
    if ref.size == 0 or cur.size == 0:
        return math.nan
    sd = float(np.std(ref))
    if not sd > 0:
        return math.nan
    return float(wasserstein_distance(ref, cur) / sd)


def null_share_psi(reference_null: np.ndarray, current_null: np.ndarray) -> float:
    """PSI of a column's null share: the two-bin histogram (not null, null)."""
    ref = [float((~reference_null).sum()), float(reference_null.sum())]
    cur = [float((~current_null).sum()), float(current_null.sum())]
    return psi(ref, cur)


def effect_reason(psi_value: float, distance: float, params: DriftParams) -> str | None:
    """Says which effect size reaches its floor (PSI, or distance in SDs), or None.

    Args:
        psi_value: The alarm PSI (NaN when the check has none, e.g. the scores).
        distance: Wasserstein distance in reference SDs (NaN for categoricals).
        params: ``min_psi`` and ``min_distance``.
    """
    if math.isfinite(psi_value) and psi_value >= params.min_psi:
        return f"PSI {psi_value:.3f} >= {params.min_psi:g}"
    if math.isfinite(distance) and distance >= params.min_distance:
        return f"distance {distance:.3f} SD >= {params.min_distance:g}"
    return None


def _effect_shortfall(psi_value: float, distance: float, params: DriftParams) -> str:
    parts = []
    if math.isfinite(psi_value):
        parts.append(f"PSI {psi_value:.3f} < {params.min_psi:g}")
    if math.isfinite(distance):
        parts.append(f"distance {distance:.3f} SD < {params.min_distance:g}")
    return ", ".join(parts)


def _feature_tests(
    reference: DriftReference,
    enc_cur: np.ndarray,
    features: list[FeatureDrift],
    alpha: float,
    params: DriftParams,
) -> float:
    """Runs TabularDrift's KS / Chi2 tests, adjusts across features, gates by effect size.

    Returns:
        The p-value cutoff of the correction: alpha / n for Bonferroni; for BH the
        largest p-value found significant, else alpha / n (what the smallest p-value
        would have needed).
    """
    detector = reference.tabular_detector
    # The saved detector carries the reference data and categories; the level and
    # correction are parameters of this run.
    detector.p_val = alpha
    detector.correction = params.correction
    result = detector.predict(
        nulls_as_lowest(enc_cur), drift_type="batch", return_p_val=True, return_distance=True
    )["data"]
    p_values = np.asarray(result["p_val"], dtype=float)
    q_values = adjusted_p_values(p_values, params.correction)
    significant = q_values < alpha
    cutoff = float(p_values[significant].max()) if significant.any() else alpha / len(p_values)
    for feat, p, stat, q in zip(features, p_values, result["distance"], q_values, strict=True):
        feat.p_value, feat.statistic, feat.q_value = float(p), float(stat), float(q)
        feat.significant = bool(q < alpha)
        if not feat.significant:
            continue
        test = f"{feat.test.upper()} p={feat.p_value:.3g}, q={feat.q_value:.3g} < {alpha:.3g} "
        test += f"({params.correction})"
        effect = effect_reason(feat.alarm_psi, feat.distance, params)
        if effect is None:
            feat.notes.append(
                f"{test} but the effect is too small for an alarm: "
                f"{_effect_shortfall(feat.alarm_psi, feat.distance, params)}"
            )
            continue
        feat.drifted = True
        feat.reasons += [test, effect]
        if abs(feat.null_share_current - feat.null_share_reference) >= NULL_SHARE_NOTE:
            feat.reasons.append(
                f"null share {feat.null_share_reference:.1%} -> {feat.null_share_current:.1%}"
            )
        if feat.unseen_categories:
            feat.reasons.append(f"unseen categories {sorted(feat.unseen_categories)}")
    return cutoff


def _psi_rule(features: list[FeatureDrift], threshold: float) -> None:
    for feat in features:
        if feat.alarm_psi >= threshold:
            feat.drifted = True
            what = "PSI" if feat.kind == "categorical" else "null-share PSI"
            feat.reasons.append(f"{what} {feat.alarm_psi:.3f} >= {threshold:g}")


def _prediction_drift(
    reference: DriftReference, scores: np.ndarray, alpha: float, params: DriftParams
) -> PredictionDrift:
    from scipy.stats import ks_2samp

    result = ks_2samp(reference.scores, scores, method="asymp")
    ref_counts = numeric_histogram(reference.scores, reference.score_edges)
    cur_counts = numeric_histogram(scores, reference.score_edges)
    bins, ref_share, cur_share = histogram_shares(
        numeric_bin_labels(reference.score_edges), ref_counts, cur_counts
    )
    score_psi = psi(ref_counts, cur_counts)
    distance = scaled_wasserstein(reference.scores, scores)
    significant = bool(result.pvalue < alpha)
    return PredictionDrift(
        statistic=float(result.statistic),
        p_value=float(result.pvalue),
        threshold=alpha,
        psi=score_psi,
        drifted=significant and effect_reason(math.nan, distance, params) is not None,
        reference_mean=float(np.mean(reference.scores)),
        current_mean=float(np.mean(scores)),
        significant=significant,
        distance=distance,
        bins=bins,
        reference_share=ref_share,
        current_share=cur_share,
    )


def _multivariate_drift(
    reference: DriftReference, enc_cur: np.ndarray, alpha: float
) -> MultivariateDrift:
    # The decision uses this run's level, not the one saved with the detector.
    result = reference.classifier_detector.predict(enc_cur, return_probs=False, return_model=True)[
        "data"
    ]
    importances = getattr(result["model"], "feature_importances_", None)
    ranked = (
        dict(
            sorted(
                zip(reference.feature_columns, map(float, importances), strict=True),
                key=lambda kv: -kv[1],
            )
        )
        if importances is not None
        else {}
    )
    return MultivariateDrift(
        p_value=float(result["p_val"]),
        distance=float(result["distance"]),
        threshold=alpha,
        drifted=bool(result["p_val"] < alpha),
        feature_importances=ranked,
    )


def auc_std_error(auc: float, n_pos: int, n_neg: int) -> float:
    """Hanley & McNeil (1982) standard error of a ROC AUC."""
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    var = (auc * (1 - auc) + (n_pos - 1) * (q1 - auc**2) + (n_neg - 1) * (q2 - auc**2)) / (
        n_pos * n_neg
    )
    return float(math.sqrt(max(var, 0.0)))


def _performance(
    current: pd.DataFrame,
    scores: np.ndarray,
    params: DriftParams,
    reference_auc: float | None,
    reference_label_rate: float | None,
    alpha: float,
) -> PerformanceCheck:
    from sklearn.metrics import roc_auc_score

    check = PerformanceCheck(
        tolerance=params.performance_tolerance,
        reference_roc_auc=reference_auc,
        label_rate_reference=reference_label_rate,
    )
    if not params.label_column:
        check.note = "no label column configured (label_column is empty): not checked"
        return check
    if params.label_column not in current.columns:
        check.note = (
            f"label column {params.label_column!r} is not in the window (columns "
            f"{list(current.columns)}): not checked"
        )
        return check
    labels = pd.to_numeric(current[params.label_column], errors="coerce").to_numpy(dtype=float)
    keep = ~np.isnan(labels)
    y, s = labels[keep], scores[keep]
    check.n_labelled = int(keep.sum())
    if check.n_labelled == 0:
        check.note = "window labels are all null: not checked"
        return check
    check.label_rate_current = float(y.mean())
    n_pos = int((y == 1).sum())
    n_neg = check.n_labelled - n_pos
    if n_pos == 0 or n_neg == 0:
        check.note = "window labels have a single class: ROC AUC undefined, not checked"
        return check
    check.current_roc_auc = float(roc_auc_score(y, s))
    check.std_error = auc_std_error(check.current_roc_auc, n_pos, n_neg)
    if reference_auc is None:
        check.note = "no holdout ROC AUC in the reference or the run's metrics: not compared"
        return check
    check.upper_bound = check.current_roc_auc + NormalDist().inv_cdf(1 - alpha) * check.std_error
    floor = reference_auc - params.performance_tolerance
    check.degraded = check.upper_bound < floor
    check.note = (
        f"ROC AUC {check.current_roc_auc:.3f}, one-sided {1 - alpha:.2%} upper bound "
        f"{check.upper_bound:.3f} vs holdout {reference_auc:.3f} - tolerance "
        f"{params.performance_tolerance:g} = {floor:.3f}"
    )
    return check


def _window_scores(predict_fn: Callable[[pd.DataFrame], Any], current: pd.DataFrame) -> np.ndarray:
    scores = positive_probability(predict_fn(current))
    if len(scores) != len(current):
        raise ValueError(f"predict_fn returned {len(scores)} scores for {len(current)} rows")
    return scores


def check_drift(
    current: pd.DataFrame,
    reference: DriftReference,
    params: DriftParams | None = None,
    predict_fn: Callable[[pd.DataFrame], Any] | None = None,
    *,
    holdout_roc_auc: float | None = None,
    model_uri: str | None = None,
    history: AlarmHistory | None = None,
) -> DriftReport:
    """Compares a window of rows with a model's drift reference, then governs the alarm.

    Args:
        current: The window: feature columns (extra columns such as ids,
            timestamps and the label are allowed).
        reference: From `load_reference` / `load_reference_dir`.
        params: Check parameters; defaults if None.
        predict_fn: The champion's scoring function (frame -> positive-class
            probability); needed by the ``prediction`` and ``performance`` checks.
        holdout_roc_auc: Overrides the manifest's holdout ROC AUC.
        model_uri: Recorded in the report.
        history: Earlier windows of this champion version (persistence, cooldown);
            None = this window alone decides.

    Returns:
        The report. ``status`` is ``insufficient_data`` (and nothing is flagged)
        when the window has fewer than ``min_sample_size`` rows (one per entity).
        ``drift_detected`` is the governed alarm (see `govern`).

    Raises:
        ValueError: If the window lacks reference columns (all are named), a
            numeric column is not numeric, or a check needs a missing `predict_fn`.
    """
    params = params or DriftParams()
    missing = [c for c in reference.feature_columns if c not in current.columns]
    if missing:
        raise ValueError(
            f"current window is missing feature columns {missing} that the drift reference "
            f"expects (it has {sorted(map(str, current.columns))})"
        )
    needs_scores = [c for c in ("prediction", "performance") if c in params.checks]
    if needs_scores and predict_fn is None:
        raise ValueError(f"checks {needs_scores} need the champion's predict_fn")
    n_window_rows = len(current)
    current = current.iloc[
        latest_row_per_entity(current, params.entity_column, params.timestamp_column)
    ]
    report = DriftReport(
        status=STATUS_NO_DRIFT,
        drift_detected=False,
        n_current=len(current),
        n_reference=len(reference.features),
        params={**asdict(params), "alpha_per_test": params.alpha_per_test},
        n_window_rows=n_window_rows,
        model_uri=model_uri,
        run_id=reference.run_id,
    )
    if len(current) < n_window_rows:
        report.messages.append(
            f"checked the latest row of each {params.entity_column}: {n_window_rows} rows -> "
            f"{len(current)}"
        )
    if len(current) < params.min_sample_size:
        report.status = STATUS_INSUFFICIENT
        report.messages.append(
            f"window has {len(current)} rows (one per entity), fewer than min_sample_size="
            f"{params.min_sample_size}: no drift decision"
        )
        return report

    enc_cur = reference.encode(current)
    report.features = _profile_features(
        reference, reference.encode(reference.features), enc_cur, current
    )
    alpha = params.alpha_per_test
    if "feature" in params.checks:
        report.feature_threshold = _feature_tests(
            reference, enc_cur, report.features, alpha, params
        )
    if "psi" in params.checks:
        _psi_rule(report.features, params.psi_threshold)
    scores = _window_scores(predict_fn, current) if needs_scores else None
    if "prediction" in params.checks:
        report.prediction = _prediction_drift(reference, scores, alpha, params)
    if "multivariate" in params.checks:
        report.multivariate = _multivariate_drift(reference, enc_cur, alpha)
    if "performance" in params.checks:
        auc = holdout_roc_auc if holdout_roc_auc is not None else reference.holdout_roc_auc
        report.performance = _performance(
            current, scores, params, auc, reference.manifest.get("holdout_label_rate"), alpha
        )
        report.messages.append(f"performance: {report.performance.note}")
    report.messages.extend(f"{f.name}: {note}" for f in report.features for note in f.notes)

    if report.drifted_features:
        report.reasons.append(
            f"{len(report.drifted_features)} of {len(report.features)} features drifted: "
            f"{report.drifted_features}"
        )
    if report.prediction and report.prediction.drifted:
        p = report.prediction
        effect = effect_reason(math.nan, p.distance, params)
        report.reasons.append(f"prediction drift: KS p={p.p_value:.3g} < {alpha:.3g}, {effect}")
    elif report.prediction and report.prediction.significant:
        p = report.prediction
        report.messages.append(
            f"prediction: KS p={p.p_value:.3g} < {alpha:.3g} but the effect is too small for "
            f"an alarm: {_effect_shortfall(math.nan, p.distance, params)}"
        )
    if report.multivariate and report.multivariate.drifted:
        top = list(report.multivariate.feature_importances)[:3]
        report.reasons.append(
            f"multivariate drift: domain classifier p={report.multivariate.p_value:.3g} "
            f"< {alpha:.3g}, relying most on {top}"
        )
    if report.performance and report.performance.degraded:
        report.reasons.append(f"performance degraded: {report.performance.note}")
    raw_alarm = bool(report.reasons) or any(f.significant for f in report.features)
    raw_alarm = raw_alarm or bool(report.prediction and report.prediction.significant)
    report.governance = govern(raw_alarm, bool(report.reasons), params, history)
    report.messages.append(f"governance: {report.governance.rule}")
    if report.reasons and not report.governance.governed_alarm:
        report.messages.extend(f"window alarm held by governance: {r}" for r in report.reasons)
        report.reasons = []
    report.drift_detected = report.governance.governed_alarm
    report.status = STATUS_DRIFT if report.drift_detected else STATUS_NO_DRIFT
    return report


# ------------------------------------------------------- champion and the task


@dataclass
class Champion:
    """The model whose drift is checked, with its reference."""

    model_uri: str
    run_id: str
    predict: Callable[[pd.DataFrame], Any]
    reference: DriftReference
    holdout_roc_auc: float | None


def champion_uri(model_name: str = "", model_uri: str = "", alias: str = ALIAS_CHAMPION) -> str:
    """Returns `model_uri` if given, else ``models:/<model_name>@<alias>``.

    Raises:
        ValueError: If neither is given.
    """
    if model_uri:
        return model_uri
    if not model_name:
        raise ValueError("give model_uri or model_name (whose @champion alias is checked)")
    return models_uri(model_name, alias=alias)


def load_champion(client: Any, model_uri: str, work_dir: str | Path | None = None) -> Champion:
    """Loads a model (pyfunc) and the drift reference logged on its run.

    Args:
        client: ``mlflow.MlflowClient`` of the tracking server and registry.
        model_uri: Any MLflow model URI (see `champion_uri`).
        work_dir: Download directory; a new temporary directory if None.

    Raises:
        ValueError: If the model was logged outside a run.
        FileNotFoundError: If its run has no drift reference.
    """
    import mlflow

    work = Path(work_dir) if work_dir is not None else Path(tempfile.mkdtemp(prefix="drift_"))
    local = mlflow.artifacts.download_artifacts(
        artifact_uri=model_uri, dst_path=str(work / "model"), **client_uris(client)
    )
    model = mlflow.pyfunc.load_model(local)
    run_id = model.metadata.run_id
    if not run_id:
        raise ValueError(f"model {model_uri} has no source run to hold a drift reference")
    reference = load_reference(run_id, client, work / "reference")
    schema = model.metadata.get_input_schema()
    inputs = schema.input_names() if schema is not None else reference.feature_columns

    def predict(frame: pd.DataFrame) -> Any:
        return model.predict(frame[inputs])

    auc = reference.holdout_roc_auc
    if auc is None:
        metrics = client.get_run(run_id).data.metrics
        auc = metrics.get(HOLDOUT_AUC_METRIC)
    return Champion(model_uri, run_id, predict, reference, auc)


def registry_version(client: Any, model_uri: str) -> tuple[str, str] | None:
    """Returns (registered name, version) of a ``models:/<name>/<v>`` or ``@alias`` URI, else None.

    Args:
        client: MLflow client.
        model_uri: The checked model's URI.
    """
    from components._mlflow import registered_name

    if not model_uri.startswith("models:/"):
        return None
    try:
        name = registered_name(model_uri)
    except ValueError:
        return None
    rest = model_uri.removeprefix(f"models:/{name}")
    if rest.startswith("@"):
        return name, str(client.get_model_version_by_alias(name, rest[1:]).version)
    version = rest.strip("/")
    return (name, version) if version.isdigit() else None


@dataclass(frozen=True)
class DriftCheckConfig:
    """What `run` checks against which model.

    Attributes:
        current: The window (feature columns; the label enables the performance check).
        params: Check parameters.
        tracking_uri: MLflow tracking (and registry) URI; "" = the suite default
            (``MLFLOW_TRACKING_URI``, else ``mlruns/mlflow.db`` under the working directory).
        model_name: Registered model whose ``@champion`` is checked (if no `model_uri`).
        model_uri: Explicit model URI; wins over `model_name`.
        pushgateway_url: Pushgateway for the step's gauges ("" = environment or off).
        pipeline_run: KFP run name for the ``pipeline_run`` label.
        feature_service: Feature service of the window (metric label).
        report_url: Where the HTML report will be (linked from notifications).
    """

    current: pd.DataFrame
    params: DriftParams
    tracking_uri: str = ""
    model_name: str = ""
    model_uri: str = ""
    pushgateway_url: str = ""
    pipeline_run: str = ""
    feature_service: str = ""
    report_url: str = ""


def run(config: DriftCheckConfig, *, client: Any = None) -> DriftReport:
    """The component's work: load the champion and its reference, check, push gauges.

    Args:
        config: Window, parameters and model.
        client: ``mlflow.MlflowClient``; None = one for ``config.tracking_uri``.

    Raises:
        ValueError: If neither model_uri nor model_name is given, or a parameter is invalid.
        FileNotFoundError: If the model has no drift reference.
    """
    from components._mlflow import mlflow_client
    from components._observability.steps import publish_drift
    from components.check_drift.history import load_history, record_window

    params = config.params
    uri = champion_uri(config.model_name, config.model_uri)
    client = client or mlflow_client(config.tracking_uri)
    champion = load_champion(client, uri)
    registered = registry_version(client, uri)
    history = None
    if registered is not None:
        lookback = max(params.persistence_m - 1, params.cooldown_windows)
        history = load_history(client, *registered, lookback, skip_status=STATUS_INSUFFICIENT)
    report = check_drift(
        config.current,
        champion.reference,
        config.params,
        champion.predict,
        holdout_roc_auc=champion.holdout_roc_auc,
        model_uri=uri,
        history=history,
    )
    if registered is not None and report.governance is not None:
        history_run = record_window(client, *registered, report, config.pipeline_run)
        report.messages.append(
            f"window recorded in the drift history: {report.governance.history}, run {history_run}"
        )
    elif registered is None:
        report.messages.append(
            f"{uri} is not a registry version: no alarm history, this window alone decides"
        )
    publish_drift(
        report, gateway_url=config.pushgateway_url, pipeline_run=config.pipeline_run,
        feature_service=config.feature_service, tracking_uri=config.tracking_uri,
        report_url=config.report_url,
    )  # fmt: skip
    print(f"[suite] check_drift: {report.status} {report.reasons}", flush=True)
    return report
