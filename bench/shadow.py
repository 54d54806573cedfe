"""One shadow comparison on churn_data: champion vs a challenger retrained after the drift.

``python -m bench.shadow`` builds a churn_data world whose concept drifts at
``DRIFT_START``; trains the champion (train_model's pipeline, default model type) on
the rows before the drift and a challenger on the first weeks after it; then both score
the same later rows (what a shadow deployment logs) and `compare_shadow`'s paired test
decides on the labelled ones. A second comparison without drift (challenger trained on
later undrifted rows) shows the test keeping a champion that is as good. Prints one
markdown table.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence

import pandas as pd

from churn_data import DriftScenario, GeneratorConfig, generate, schema
from churn_data.schema import TRAIN_ROLES
from components.compare_shadow.core import ShadowConfig, compare_paired

ORIGIN, END = "2024-01-01", "2024-08-01"
DRIFT_START = "2024-04-01"
CHALLENGER_END = "2024-05-15"


def _fit(frame: pd.DataFrame):
    from components.train_model.core import TrainConfig, fit_model

    config = TrainConfig(**TRAIN_ROLES).with_features_of(frame)
    model = fit_model(frame, config).model
    return lambda rows: model.predict(rows[config.feature_columns])


def comparison(customers: int, scenario: str, seed: int, config: ShadowConfig) -> list[str]:
    """Trains both models on one world and returns the table row of their comparison."""
    drift = DriftScenario.parse(scenario, start=DRIFT_START if scenario != "none" else None)
    generated = generate(
        GeneratorConfig(customers, ORIGIN, END, seed=seed, scenario=drift)
    ).snapshot.drop(columns=schema.PROBABILITY)
    when = generated[schema.TIMESTAMP]
    before = generated[when < pd.Timestamp(DRIFT_START, tz="UTC")]
    recent = generated[
        (when >= pd.Timestamp(DRIFT_START, tz="UTC"))
        & (when < pd.Timestamp(CHALLENGER_END, tz="UTC"))
    ]
    shadow = generated[when >= pd.Timestamp(CHALLENGER_END, tz="UTC")]
    champion, challenger = _fit(before), _fit(recent)
    result = compare_paired(
        shadow[schema.LABEL].to_numpy(), champion(shadow), challenger(shadow), config
    )
    ll, auc = result.log_loss_improvement, result.roc_auc_difference
    return [
        f"| {scenario} | {len(before):,} / {len(recent):,} | {result.labelled_rows:,} "
        f"| {result.champion_log_loss:.4f} / {result.challenger_log_loss:.4f} "
        f"| {ll['value']:+.4f} [{ll['low']:+.4f}, {ll['high']:+.4f}] "
        f"| {result.champion_roc_auc:.4f} / {result.challenger_roc_auc:.4f} "
        f"| {auc['value']:+.4f} [{auc['low']:+.4f}, {auc['high']:+.4f}] "
        f"| **{result.decision}** |"
    ]


def main(argv: Sequence[str] | None = None) -> None:
    """Runs the comparisons and prints the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=6_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--bootstrap-samples", type=int, default=1_000)
    args = parser.parse_args(argv)
    config = ShadowConfig(bootstrap_samples=args.bootstrap_samples, seed=args.seed)
    began = time.perf_counter()
    lines = [
        f"Champion trained on {ORIGIN}..{DRIFT_START}, challenger on {DRIFT_START}.."
        f"{CHALLENGER_END}; both score the rows from {CHALLENGER_END} to {END} "
        f"({args.customers:,} customers, seed {args.seed}); paired bootstrap "
        f"{config.bootstrap_samples}, {config.confidence:.0%} intervals, ROC AUC tolerance "
        f"{config.auc_tolerance}.",
        "",
        "| drift from DRIFT_START | training rows champion / challenger | paired labelled rows "
        "| log loss champion / challenger | log-loss improvement [95% CI] "
        "| ROC AUC champion / challenger | ROC AUC difference [95% CI] | decision |",
        "|---|---|---:|---|---|---|---|---|",
    ]
    for scenario in ("concept_drift", "none"):
        lines += comparison(args.customers, scenario, args.seed, config)
        print(lines[-1], flush=True)
    print("\n".join(lines))
    print(f"\nTotal time {time.perf_counter() - began:.0f} s.")


if __name__ == "__main__":
    main()
