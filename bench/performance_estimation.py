"""Benchmark of estimate_performance (CBPE): estimated vs realized performance per drift scenario.

``python -m bench.performance_estimation`` fits one champion (train_model's pipeline,
default model type) on churn_data world 0, measures its holdout ROC AUC and ECE, then,
for each scenario (none, covariate_shift, missingness_surge, label_shift,
concept_drift), draws seeded windows from *other* worlds over the holdout's calendar
range (the windows of ``bench/drift.py``), scores them with the champion and compares
the label-free estimate (`components.estimate_performance.core.cbpe`) with the realized
metric on the generator's sampled labels.

It prints one markdown table per window size: per scenario, the mean estimated and
realized ROC AUC and log loss, the mean absolute estimation error, the mean signed
error (estimated - realized), and the coverage of the 90 % intervals (share of windows
whose realized value lies inside the estimate's interval).

CBPE assumes P(y | score) is what it was on the holdout. Covariate shift and a
missingness surge move the scores, so their cost is seen; label (prior) shift and
concept drift change P(y | score) itself, so the estimate stays near the holdout while
the realized metric moves: those rows are where it cannot see the change.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bench.drift import END, ORIGIN, REFERENCE_CUSTOMERS, WindowMaker, scenario_for
from churn_data import DriftScenario, GeneratorConfig, generate, schema
from churn_data.schema import TRAIN_ROLES
from components._performance import calibration_summary
from components.estimate_performance.core import cbpe

SCENARIOS = ("none", "covariate_shift", "missingness_surge", "label_shift", "concept_drift")
SIZES = (1_000, 5_000)


@dataclass
class Cell:
    """Estimated vs realized values over the windows of one scenario and size."""

    estimated_auc: list[float] = field(default_factory=list)
    realized_auc: list[float] = field(default_factory=list)
    auc_covered: list[bool] = field(default_factory=list)
    estimated_loss: list[float] = field(default_factory=list)
    realized_loss: list[float] = field(default_factory=list)
    loss_covered: list[bool] = field(default_factory=list)

    def add(self, estimate: dict, realized_auc: float, realized_loss: float) -> None:
        """Adds one window."""
        auc, loss = estimate["metrics"]["roc_auc"], estimate["metrics"]["log_loss"]
        self.estimated_auc.append(auc["value"])
        self.realized_auc.append(realized_auc)
        self.auc_covered.append(auc["low"] <= realized_auc <= auc["high"])
        self.estimated_loss.append(loss["value"])
        self.realized_loss.append(realized_loss)
        self.loss_covered.append(loss["low"] <= realized_loss <= loss["high"])

    def row(self, name: str) -> str:
        """One markdown table row."""
        est_a, real_a = np.array(self.estimated_auc), np.array(self.realized_auc)
        est_l, real_l = np.array(self.estimated_loss), np.array(self.realized_loss)
        return (
            f"| {name} | {len(est_a)} | {est_a.mean():.4f} | {real_a.mean():.4f} | "
            f"{np.abs(est_a - real_a).mean():.4f} | {(est_a - real_a).mean():+.4f} | "
            f"{np.mean(self.auc_covered):.0%} | {est_l.mean():.4f} | {real_l.mean():.4f} | "
            f"{np.abs(est_l - real_l).mean():.4f} | {(est_l - real_l).mean():+.4f} | "
            f"{np.mean(self.loss_covered):.0%} |"
        )


def fit_champion(seed: int = 0):
    """Trains the champion on world `seed`; returns (predict, holdout metrics, holdout start)."""
    from sklearn.metrics import roc_auc_score

    from components.train_model.core import TrainConfig, fit_model, split_training_frame

    frame = generate(GeneratorConfig(REFERENCE_CUSTOMERS, ORIGIN, END, seed=seed)).snapshot
    frame = frame.drop(columns=schema.PROBABILITY)
    config = TrainConfig(**TRAIN_ROLES).with_features_of(frame)
    split = split_training_frame(frame, config)
    model = fit_model(split.train, config).model
    columns = config.feature_columns
    holdout = split.holdout
    scores = np.asarray(model.predict(holdout[columns]), dtype="float64")
    label = holdout[config.label_column].to_numpy()
    metrics = {
        "roc_auc": float(roc_auc_score(label, scores)),
        "ece": calibration_summary(label, scores)["ece"],
        "rows": len(holdout),
        "model_type": config.model_type,
    }
    start = holdout[config.timestamp_column].min()
    return (
        (lambda window: np.asarray(model.predict(window[columns]), dtype="float64")),
        metrics,
        start,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Runs the benchmark and prints markdown tables."""
    from sklearn.metrics import log_loss, roc_auc_score

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=20, help="windows per scenario and size")
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--samples", type=int, default=500, help="CBPE label draws")
    args = parser.parse_args(argv)

    began = time.perf_counter()
    predict, holdout, holdout_start = fit_champion()
    maker = WindowMaker(holdout_start)
    print("## estimate_performance (CBPE) benchmark\n")
    print(
        f"Champion: train_model `{holdout['model_type']}` on churn_data world 0 "
        f"({REFERENCE_CUSTOMERS:,} customers, {ORIGIN} to {END}); holdout ({holdout['rows']:,} "
        f"rows) ROC AUC {holdout['roc_auc']:.4f}, ECE {holdout['ece']:.4f}. Windows: other "
        f"worlds, label rows from {holdout_start.date()} to {END}, each scenario at the "
        f"generator's default setting from the world's origin; {args.samples} label draws "
        "per estimate, 90 % intervals.\n"
    )
    for n in args.sizes:
        lines = [
            f"### {n:,}-row windows, {args.windows} per scenario\n",
            "| scenario | windows | est. ROC AUC | realized | mean abs err | mean err | "
            "coverage | est. log loss | realized | mean abs err | mean err | coverage |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for name in SCENARIOS:
            scenario = DriftScenario() if name == "none" else scenario_for(name)
            cell = Cell()
            for seed in range(args.windows):
                window = maker.window(n, seed, scenario)
                scores = predict(window)
                label = window["churned"].to_numpy()
                estimate = cbpe(scores, samples=args.samples, seed=seed)
                cell.add(estimate, roc_auc_score(label, scores), log_loss(label, scores))
            lines.append(cell.row(name))
            print(
                f"[suite] {n} rows, {name}: done ({time.perf_counter() - began:.0f} s)", flush=True
            )
        print("\n".join(lines) + "\n", flush=True)
    print(f"Total time {time.perf_counter() - began:.0f} s.")


if __name__ == "__main__":
    main()
