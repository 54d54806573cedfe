"""Benchmark of check_drift: false alarms without drift, power with each drift scenario.

``python -m bench.drift`` fits one champion (train_model's pipeline, default model type)
on a churn_data world, builds its drift reference from the time-split holdout once, and
then checks many seeded windows, each from a *different* world (other customers) over
the holdout's calendar range, so that calendar effects (ageing tenure, seasonality) are
not counted as drift. Drifted windows use the generator's scenarios with the drift
starting at the world's origin, so every event in the window is drifted.

It prints markdown tables:

1. false alarms on no-drift windows (share flagged, Clopper-Pearson 95 % CI),
2. detection rate per scenario at a stated setting and window size,
3. covariate-shift detection rate by magnitude, and the smallest magnitude detected in at
   least 95 % of windows, at 1,000 and 10,000 window rows (the generator's default pair of
   shifted features, and days_since_last_login alone).

Window size is in rows, as a pipeline passes them; check_drift tests one row per customer
(about 47 % of the rows here), which the tables show as "rows checked".

Checks are the component's defaults (feature, PSI, prediction, performance); windows carry
labels (the generator's snapshot), so the performance check runs.

Governance tables (the default run; ``--legacy-tables`` adds the three above): every window
is checked twice, *before* governance (Bonferroni, any significant test alarms: the check as
it was) and *after* (the defaults: BH-FDR and the effect-size floors ``min_psi`` /
``min_distance``), and "after + persistence" replays the after-alarms of consecutive seeds
as one stream through `govern` with k of m (``--persistence``). The ROC AUC cost of each
drift setting is measured on its own: the champion's ROC AUC on paired 100,000-row windows
(same world seed with and without the drift), mean drop with a 95 % t-interval; "costs
ROC AUC" means the interval's lower end is at least the gate tolerance (0.005).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from churn_data import DriftScenario, GeneratorConfig, generate, schema
from churn_data.schema import DRIFT_ROLES, TRAIN_ROLES
from components._drift_reference import DriftReference, build_reference, load_reference_dir
from components.check_drift.core import (
    AlarmHistory,
    DriftParams,
    DriftReport,
    check_drift,
    govern,
)
from components.evaluate_model.core import GateConfig

ORIGIN, END = "2024-01-01", "2024-07-01"
REFERENCE_CUSTOMERS = 20_000
REFERENCE_SAMPLE = 5_000
WORLD_SEED_OFFSET = 1_000  # window worlds never reuse the champion's world (seed 0)
TARGET = 0.95
WINDOW_ROWS = (1_000, 10_000)
# Covariate-shift sweeps: shifted features -> magnitudes (reference SDs) per window size.
# The generator's default pair moves spend_30d's atom at 0 (customers without orders) with
# any positive shift, which a KS test sees at once. days_since_last_login is continuous
# without an atom (its nulls are not shifted), so it shows the KS test's own resolution.
# (Profile features such as age shift only on profile rows written after the drift start,
# so most customers keep unshifted values: not a clean magnitude scale.)
SWEEPS: dict[tuple[str, ...], dict[int, tuple[float, ...]]] = {
    ("sessions_7d", "spend_30d"): {1_000: (0.01, 0.02, 0.05), 10_000: (0.01, 0.02, 0.05)},
    ("days_since_last_login",): {
        1_000: (0.005, 0.01, 0.015, 0.02, 0.03, 0.05),
        10_000: (0.002, 0.004, 0.006, 0.008, 0.01, 0.02),
    },
}
# Scenario settings: the generator's defaults, and a weaker one closer to the detection edge.
SCENARIOS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "covariate_shift": [("magnitude=1.0 SD", {}), ("magnitude=0.15 SD", {"magnitude": 0.15})],
    "new_category": [
        ("channel=marketplace, rate=0.3", {}),
        ("rate=0.05", {"new_category_rate": 0.05}),
    ],
    "concept_drift": [("strength=1.0", {}), ("strength=0.5", {"concept_strength": 0.5})],
    "missingness_surge": [("rate=0.3", {}), ("rate=0.05", {"missing_rate": 0.05})],
    "label_shift": [("odds x2.5", {}), ("odds x1.5", {"churn_odds_factor": 1.5})],
}
CHECK_NAMES = ("feature", "psi", "prediction", "performance")


@dataclass
class Champion:
    """The benchmark's champion: a fitted model, its reference and the holdout's time range."""

    predict: Callable[[pd.DataFrame], np.ndarray]
    reference: DriftReference
    holdout_start: pd.Timestamp
    model_type: str
    holdout_rows: int


@dataclass
class Tally:
    """Detections over seeded windows, and which checks fired."""

    detected: int = 0
    windows: int = 0
    fired: Counter = field(default_factory=Counter)
    features: Counter = field(default_factory=Counter)
    checked_rows: list[int] = field(default_factory=list)

    def add(self, report: DriftReport) -> None:
        """Counts one report."""
        self.windows += 1
        self.checked_rows.append(report.n_current)
        self.detected += int(report.drift_detected)
        self.features.update(report.drifted_features)
        if any(f.reasons and f.reasons[0].startswith(("KS", "CHI2")) for f in report.features):
            self.fired["feature"] += 1
        if any(r.startswith("PSI") for f in report.features for r in f.reasons):
            self.fired["psi"] += 1
        if report.prediction and report.prediction.drifted:
            self.fired["prediction"] += 1
        if report.performance and report.performance.degraded:
            self.fired["performance"] += 1

    @property
    def rate(self) -> float:
        """Share of windows flagged."""
        return self.detected / self.windows if self.windows else math.nan


def clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Exact binomial confidence interval for k successes in n trials."""
    from scipy.stats import binomtest

    ci = binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


def fit_champion(seed: int = 0) -> Champion:
    """Trains the champion on world `seed` and builds its reference from the holdout."""
    from components.train_model.core import TrainConfig, fit_model, split_training_frame

    frame = generate(GeneratorConfig(REFERENCE_CUSTOMERS, ORIGIN, END, seed=seed)).snapshot
    frame = frame.drop(columns=schema.PROBABILITY)
    config = TrainConfig(**TRAIN_ROLES).with_features_of(frame)
    split = split_training_frame(frame, config)
    model = fit_model(split.train, config).model
    holdout = split.holdout
    ref_dir = build_reference(
        holdout,
        model.predict(holdout[config.feature_columns]),
        config.categorical_features,
        config.numeric_features,
        sample_size=REFERENCE_SAMPLE,
        seed=seed,
        out_dir=tempfile.mkdtemp(prefix="bench_drift_"),
        labels=holdout[config.label_column],
    )
    columns = config.feature_columns
    return Champion(
        predict=lambda window: model.predict(window[columns]),
        reference=load_reference_dir(ref_dir),
        holdout_start=holdout[config.timestamp_column].min(),
        model_type=config.model_type,
        holdout_rows=len(holdout),
    )


class WindowMaker:
    """Seeded windows of exactly n rows over the holdout's calendar range."""

    def __init__(self, holdout_start: pd.Timestamp) -> None:
        self.start = holdout_start
        pilot = self._generate(2_000, 0, DriftScenario())
        self.rows_per_customer = len(pilot) / 2_000

    def _generate(self, n_customers: int, seed: int, scenario: DriftScenario) -> pd.DataFrame:
        config = GeneratorConfig(
            n_customers,
            self.start,
            END,
            seed=WORLD_SEED_OFFSET + seed,
            origin=ORIGIN,
            scenario=scenario,
        )
        return generate(config).snapshot

    def window(self, n: int, seed: int, scenario: DriftScenario) -> pd.DataFrame:
        """A window of n label rows from world `seed` under `scenario`."""
        customers = math.ceil(1.15 * n / self.rows_per_customer)
        snapshot = self._generate(customers, seed, scenario)
        while len(snapshot) < n:
            customers = math.ceil(customers * 1.3)
            snapshot = self._generate(customers, seed, scenario)
        return snapshot.sample(n=n, random_state=seed).reset_index(drop=True)


def scenario_for(kind: str, **params: Any) -> DriftScenario:
    """A scenario starting at the world's origin (every generated event drifted)."""
    return DriftScenario.parse(kind, start=ORIGIN, **params)


def run_windows(
    champion: Champion,
    maker: WindowMaker,
    n: int,
    seeds: Sequence[int],
    scenario: DriftScenario,
    params: DriftParams,
    stop_after_misses: int | None = None,
) -> Tally:
    """Checks one window per seed; stops early once `stop_after_misses` is exceeded."""
    tally = Tally()
    for seed in seeds:
        window = maker.window(n, seed, scenario)
        tally.add(check_drift(window, champion.reference, params, champion.predict))
        if stop_after_misses is not None and tally.windows - tally.detected > stop_after_misses:
            break
    return tally


def _ci(t: Tally) -> str:
    low, high = clopper_pearson(t.detected, t.windows)
    return f"[{low:.3f}, {high:.3f}]"


def _fired(t: Tally) -> str:
    return ", ".join(f"{c} {t.fired[c]}" for c in CHECK_NAMES if t.fired[c]) or "none"


def false_alarm_table(champion, maker, sizes, seeds, params) -> list[str]:
    """Markdown table of no-drift false alarms per window size, with and without dedup."""
    lines = [
        f"### False alarms without drift (alpha = {params.alpha}, {params.correction})",
        "",
        "| window rows | rows checked (median) | windows | flagged | share flagged "
        "| 95% CI (Clopper-Pearson) | checks that fired | features flagged |",
        "|---:|---|---:|---:|---:|---|---|---|",
    ]
    variants = [(n, params) for n in sizes]
    variants.append((sizes[0], dataclasses.replace(params, entity_column="")))
    for n, variant in variants:
        t = run_windows(champion, maker, n, seeds, DriftScenario(), variant)
        top = ", ".join(f"{k} {v}" for k, v in t.features.most_common(4)) or "none"
        checked = f"{int(np.median(t.checked_rows)):,}" + (
            " (every row, no dedup)" if not variant.entity_column else " (one per customer)"
        )
        lines.append(
            f"| {n:,} | {checked} | {t.windows} | {t.detected} | {t.rate:.3f} | {_ci(t)} "
            f"| {_fired(t)} | {top} |"
        )
    return lines


def power_table(champion, maker, n, seeds, params) -> list[str]:
    """Markdown table of detection rate per scenario and setting."""
    lines = [
        f"### Detection rate by scenario ({n:,} window rows)",
        "",
        "| scenario | setting | windows | rows checked (median) | detected | rate | 95% CI "
        "| checks that fired | most flagged features |",
        "|---|---|---:|---:|---:|---:|---|---|---|",
    ]
    for kind, settings in SCENARIOS.items():
        for label, kwargs in settings:
            t = run_windows(champion, maker, n, seeds, scenario_for(kind, **kwargs), params)
            top = ", ".join(f"{k} {v}" for k, v in t.features.most_common(3)) or "none"
            lines.append(
                f"| {kind} | {label} | {t.windows} | {int(np.median(t.checked_rows)):,} "
                f"| {t.detected} | {t.rate:.2f} | {_ci(t)} | {_fired(t)} | {top} |"
            )
    return lines


def sweep_table(champion, maker, seeds, params) -> list[str]:
    """Covariate-shift detection rate by magnitude and the smallest one detected >= 95 %."""
    allowed_misses = math.floor(len(seeds) * (1 - TARGET))
    lines = [
        "### Covariate shift by magnitude",
        "",
        f"Magnitude in reference SDs of each shifted feature (churn_data.drift.REFERENCE_SD). "
        f"A magnitude stops after {allowed_misses + 1} misses (it can no longer reach "
        f"{TARGET:.0%} of {len(seeds)}); the sweep stops at the first magnitude that does.",
        "",
        "| shifted features | window rows | rows checked (median) | magnitude (SD) | windows "
        "| detected | rate | 95% CI | checks that fired |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    smallest: dict[tuple[str, int], str] = {}
    for features, grids in SWEEPS.items():
        name = " + ".join(features)
        for n, grid in grids.items():
            smallest[(name, n)] = f"> {grid[-1]:g} SD"
            for magnitude in grid:
                scenario = scenario_for(
                    "covariate_shift", magnitude=magnitude, shift_features=features
                )
                t = run_windows(champion, maker, n, seeds, scenario, params, allowed_misses)
                done = "" if t.windows == len(seeds) else " (stopped)"
                lines.append(
                    f"| {name} | {n:,} | {int(np.median(t.checked_rows)):,} | {magnitude:g} "
                    f"| {t.windows}{done} | {t.detected} | {t.rate:.2f} | {_ci(t)} | {_fired(t)} |"
                )
                if t.windows == len(seeds) and t.rate >= TARGET:
                    smallest[(name, n)] = f"{magnitude:g} SD"
                    break
    lines += [
        "",
        f"| shifted features | window rows | smallest magnitude detected in >= {TARGET:.0%} |",
        "|---|---:|---:|",
    ]
    lines += [f"| {name} | {n:,} | {shown} |" for (name, n), shown in smallest.items()]
    return lines


GOVERNANCE_SIZES = (1_000, 10_000, 100_000)
# Before governance: the check as it was (Bonferroni, no effect-size floor).
BEFORE = {"correction": "bonferroni", "min_psi": 0.0, "min_distance": 0.0}
AUC_WINDOW_ROWS = 100_000
# A drop whose 95 % interval lies above evaluate_model's gate tolerance (0.005 ROC AUC: a
# challenger this much worse is not blessed) "costs ROC AUC"; a smaller one still above 0 is
# reported as measurable but immaterial.
MATERIAL_AUC_DROP = GateConfig().tolerance
PAIR = ("sessions_7d", "spend_30d")
# (scenario, setting label, kwargs, window sizes): the nuisance shifts first, then
# magnitudes expected to cost ROC AUC.
GOVERNANCE_SETTINGS: list[tuple[str, str, dict[str, Any], tuple[int, ...]]] = [
    *(
        ("covariate_shift", f"{m:g} SD spend+sessions", {"magnitude": m}, GOVERNANCE_SIZES)
        for m in (0.01, 0.02, 0.05)
    ),
    *(
        ("covariate_shift", f"{m:g} SD spend+sessions", {"magnitude": m}, (1_000, 10_000))
        for m in (0.2, 0.5, 1.0)
    ),
    ("concept_drift", "strength 0.5", {"concept_strength": 0.5}, (1_000, 10_000)),
    ("concept_drift", "strength 1.0", {}, (1_000, 10_000)),
    ("missingness_surge", "rate 0.3", {}, (1_000, 10_000)),
    ("new_category", "rate 0.3", {}, (1_000, 10_000)),
]


@dataclass
class Governed:
    """Alarms before and after governance over a stream of seeded windows."""

    before: list[bool] = field(default_factory=list)
    after: list[bool] = field(default_factory=list)
    effects: list[float] = field(default_factory=list)
    fired: Counter = field(default_factory=Counter)

    def fired_text(self) -> str:
        """What raised the after-governance alarms (features, prediction, performance)."""
        return ", ".join(f"{k} {v}" for k, v in self.fired.most_common(4)) or "none"

    def persistent(self, k: int, m: int) -> list[bool]:
        """The after-alarms replayed as one stream through `govern` with k of m."""
        params = DriftParams(persistence_k=k, persistence_m=m)
        out: list[bool] = []
        for i, alarm in enumerate(self.after):
            prior = tuple(reversed(self.after[max(0, i - m + 1) : i]))
            out.append(govern(alarm, alarm, params, AlarmHistory(prior)).governed_alarm)
        return out


def _largest_effect(report: DriftReport) -> float:
    """The largest alarm effect in the window: max over features of alarm PSI and distance."""
    values = [
        max(f.alarm_psi, f.distance if math.isfinite(f.distance) else 0.0) for f in report.features
    ]
    return max(values, default=math.nan)


def _what_fired(report: DriftReport) -> list[str]:
    out = list(report.drifted_features)
    if report.prediction and report.prediction.drifted:
        out.append("prediction")
    if report.performance and report.performance.degraded:
        out.append("performance")
    return out


def governed_windows(champion, maker, n, seeds, scenario, after: DriftParams) -> Governed:
    """Checks each seeded window before and after governance."""
    before = dataclasses.replace(after, **BEFORE)
    out = Governed()
    for seed in seeds:
        window = maker.window(n, seed, scenario)
        out.before.append(
            check_drift(window, champion.reference, before, champion.predict).drift_detected
        )
        report = check_drift(window, champion.reference, after, champion.predict)
        out.after.append(report.governance.window_alarm)
        out.effects.append(_largest_effect(report))
        out.fired.update(_what_fired(report))
    return out


def _rate(alarms: list[bool]) -> str:
    k, n = sum(alarms), len(alarms)
    low, high = clopper_pearson(k, n)
    return f"{k}/{n} = {k / n:.3f} [{low:.3f}, {high:.3f}]"


def auc_cost(champion, maker, scenario, seeds, baseline: dict[int, float]) -> str:
    """Mean ROC AUC drop of the champion on paired large windows, with a 95 % t-interval."""
    from scipy.stats import t as student_t
    from sklearn.metrics import roc_auc_score

    drops = []
    for seed in seeds:
        if seed not in baseline:
            none = maker.window(AUC_WINDOW_ROWS, seed, DriftScenario())
            baseline[seed] = roc_auc_score(none[schema.LABEL], champion.predict(none))
        window = maker.window(AUC_WINDOW_ROWS, seed, scenario)
        drops.append(baseline[seed] - roc_auc_score(window[schema.LABEL], champion.predict(window)))
    mean, sd = float(np.mean(drops)), float(np.std(drops, ddof=1))
    half = student_t.ppf(0.975, len(drops) - 1) * sd / math.sqrt(len(drops))
    if mean - half >= MATERIAL_AUC_DROP:
        verdict = "costs ROC AUC"
    elif mean - half > 0:
        verdict = f"measurable, < {MATERIAL_AUC_DROP}"
    else:
        verdict = "no measurable cost"
    return f"{mean:+.4f} [{mean - half:+.4f}, {mean + half:+.4f}] {verdict}"


def governance_tables(champion, maker, args) -> list[str]:
    """False alarms, nuisance alarms and power, before and after governance."""
    after = DriftParams(**DRIFT_ROLES)
    k, m = args.persistence
    lines = [
        f"### False alarms without drift, before / after governance (alpha {after.alpha})",
        "",
        f"Before: Bonferroni, any significant test alarms. After: {after.correction}, "
        f"min_psi {after.min_psi}, min_distance {after.min_distance} SD. "
        f"Persistence: {k} of the last {m} windows (consecutive seeds as one stream).",
        "",
        "| window rows | before: flagged [95% CI] | after: flagged [95% CI] "
        f"| after + persistence {k}/{m} | median largest effect | after: what fired |",
        "|---:|---|---|---|---:|---|",
    ]
    for n in GOVERNANCE_SIZES:
        seeds = range(args.null_seeds if n < 100_000 else args.null_seeds_large)
        g = governed_windows(champion, maker, n, seeds, DriftScenario(), after)
        lines.append(
            f"| {n:,} | {_rate(g.before)} | {_rate(g.after)} | {_rate(g.persistent(k, m))} "
            f"| {np.nanmedian(g.effects):.3f} | {g.fired_text()} |"
        )
        print(lines[-1], flush=True)
    lines += [
        "",
        "### Nuisance alarms and detection power, before / after governance",
        "",
        f"ROC AUC cost: champion's ROC AUC without minus with the drift on {args.auc_seeds} "
        f"paired {AUC_WINDOW_ROWS:,}-row windows, mean [95% t-interval]. Rates: alarmed "
        "windows [Clopper-Pearson 95% CI].",
        "",
        "| scenario | setting | ROC AUC cost | window rows | before | after "
        f"| after + persistence {k}/{m} | median largest effect | after: what fired |",
        "|---|---|---|---:|---|---|---|---:|---|",
    ]
    baseline: dict[int, float] = {}
    for kind, label, kwargs, sizes in GOVERNANCE_SETTINGS:
        extra = {"shift_features": PAIR} if kind == "covariate_shift" else {}
        scenario = scenario_for(kind, **kwargs, **extra)
        cost = auc_cost(champion, maker, scenario, range(args.auc_seeds), baseline)
        for n in sizes:
            seeds = range(args.seeds if n < 100_000 else args.seeds_large)
            g = governed_windows(champion, maker, n, seeds, scenario, after)
            lines.append(
                f"| {kind} | {label} | {cost} | {n:,} | {_rate(g.before)} | {_rate(g.after)} "
                f"| {_rate(g.persistent(k, m))} | {np.nanmedian(g.effects):.3f} "
                f"| {g.fired_text()} |"
            )
            print(lines[-1], flush=True)
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    """Runs the benchmark and prints markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50, help="windows per cell (>= 50)")
    parser.add_argument("--null-seeds", type=int, default=100, help="no-drift windows per size")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--correction", default="bonferroni", choices=("bonferroni", "fdr"))
    parser.add_argument("--scenario-n", type=int, default=1_000, help="window size of table 2")
    parser.add_argument("--null-seeds-large", type=int, default=60, help="1e5-row null windows")
    parser.add_argument("--seeds-large", type=int, default=20, help="1e5-row drifted windows")
    parser.add_argument("--auc-seeds", type=int, default=8, help="paired windows per AUC cost")
    parser.add_argument("--persistence", type=int, nargs=2, default=(2, 3), metavar=("K", "M"))
    parser.add_argument(
        "--legacy-tables", action="store_true", help="also the single-setting tables"
    )
    args = parser.parse_args(argv)

    began = time.perf_counter()
    params = DriftParams(**DRIFT_ROLES, alpha=args.alpha, correction=args.correction)
    champion = fit_champion()
    maker = WindowMaker(champion.holdout_start)
    ref = champion.reference
    sizes = list(WINDOW_ROWS)
    print("## check_drift benchmark\n")
    print(
        f"Champion: train_model `{champion.model_type}` on churn_data world 0 "
        f"({REFERENCE_CUSTOMERS:,} customers, {ORIGIN} to {END}); holdout ROC AUC "
        f"{ref.holdout_roc_auc:.3f}; reference sample {len(ref.features):,} of "
        f"{champion.holdout_rows:,} holdout rows. Windows: other worlds, label rows from "
        f"{champion.holdout_start.date()} to {END}; checks {', '.join(params.checks)}, "
        f"alpha {params.alpha} split over {len(params.test_checks)} test-based checks, "
        f"PSI threshold {params.psi_threshold}, ROC AUC tolerance "
        f"{params.performance_tolerance}.\n"
    )
    tables = [governance_tables(champion, maker, args)]
    if args.legacy_tables:
        tables += [
            false_alarm_table(champion, maker, sizes, range(args.null_seeds), params),
            power_table(champion, maker, args.scenario_n, range(args.seeds), params),
            sweep_table(champion, maker, range(args.seeds), params),
        ]
    for table in tables:
        print("\n".join(table) + "\n", flush=True)
    print(f"Total time {time.perf_counter() - began:.0f} s.")


if __name__ == "__main__":
    main()
