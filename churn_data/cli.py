"""``python -m churn_data generate ...``: write (or append) a window of churn data."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

from churn_data.config import DriftScenario, GeneratorConfig
from churn_data.generator import generate
from churn_data.io import append_sources, read_periods, write_sources


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m churn_data``."""
    parser = argparse.ArgumentParser(prog="python -m churn_data", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="generate a window and write or append it")
    gen.add_argument("--out", required=True, type=Path, help="output directory")
    gen.add_argument("--customers", type=int, default=10_000, help="size of the customer base")
    gen.add_argument("--start", default="2024-01-01", help="window start (inclusive, UTC)")
    gen.add_argument("--end", default="2024-07-01", help="window end (exclusive, UTC)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument(
        "--origin",
        default=None,
        help="anchor of the customer base (default: --start, or the first period's when appending)",
    )
    gen.add_argument("--labels-per-customer", type=float, default=2.0)
    gen.add_argument("--cadence-days", type=float, default=7.0, help="activity snapshot spacing")
    gen.add_argument("--warmup-days", type=float, default=30.0)
    gen.add_argument(
        "--scenario",
        default="none",
        help="'none' or scenarios joined by '+': covariate_shift, new_category, concept_drift,"
        " missingness_surge, label_shift",
    )
    gen.add_argument("--drift-start", default=None, help="drift start (required with drift)")
    gen.add_argument("--shift-features", nargs="+", default=None)
    gen.add_argument("--magnitude", type=float, default=None, help="covariate shift in SDs")
    gen.add_argument("--new-category-feature", default=None, choices=["plan", "region", "channel"])
    gen.add_argument("--new-category-value", default=None)
    gen.add_argument("--new-category-rate", type=float, default=None)
    gen.add_argument("--missing-features", nargs="+", default=None)
    gen.add_argument("--missing-rate", type=float, default=None)
    gen.add_argument("--churn-odds-factor", type=float, default=None, help="label shift")
    gen.add_argument("--concept-strength", type=float, default=None)
    gen.add_argument("--append", action="store_true", help="append to the data already in --out")
    return parser


_SCENARIO_OPTIONS = {
    "shift_features": "shift_features",
    "magnitude": "magnitude",
    "new_category_feature": "new_category_feature",
    "new_category_value": "new_category_value",
    "new_category_rate": "new_category_rate",
    "missing_features": "missing_features",
    "missing_rate": "missing_rate",
    "churn_odds_factor": "churn_odds_factor",
    "concept_strength": "concept_strength",
}


def config_from_args(args: argparse.Namespace) -> GeneratorConfig:
    """The config the command line asks for (the origin comes from --out when appending).

    Args:
        args: Parsed ``generate`` arguments.

    Returns:
        The generator config.
    """
    params = {
        field: tuple(value) if isinstance(value, list) else value
        for option, field in _SCENARIO_OPTIONS.items()
        if (value := getattr(args, option)) is not None
    }
    scenario = DriftScenario.parse(args.scenario, start=args.drift_start, **params)
    origin = args.origin
    if args.append and origin is None:
        origin = read_periods(args.out)[0]["config"]["origin"]
    return GeneratorConfig(
        n_customers=args.customers,
        start=args.start,
        end=args.end,
        seed=args.seed,
        labels_per_customer=args.labels_per_customer,
        cadence_days=args.cadence_days,
        origin=origin,
        warmup_days=args.warmup_days,
        scenario=scenario,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
        began = time.perf_counter()
        data = generate(config)
        generated = time.perf_counter()
        (append_sources if args.append else write_sources)(data, args.out)
        written = time.perf_counter()
    except (ValueError, FileNotFoundError) as error:
        parser.error(str(error))  # exits with status 2 and the reason, no traceback
    summary = data.summary
    report = {
        "out": str(args.out),
        "mode": "append" if args.append else "write",
        "scenario": config.scenario.name,
        "rows": summary["rows"],
        "churn_rate": summary["churn_rate"],
        "ceiling_auc": summary["ceiling_auc"],
        "activity_ttl_null_rate": summary["activity_ttl_null_rate"],
        **{key: summary[key] for key in ("before_drift", "after_drift") if key in summary},
        "seconds": {
            "generate": round(generated - began, 3),
            "write": round(written - generated, 3),
        },
    }
    print(json.dumps(report, indent=2))
    return 0
