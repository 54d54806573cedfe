"""Benchmark of the churn_data generator: time and peak memory by activity rows.

``python -m bench.generator`` runs each size in its own subprocess (so peak RSS,
``ru_maxrss``, is that size's alone), generating a one-year first period and writing it to a
temporary directory, then times a run of small appended windows (what the drift benchmark
does). It prints markdown tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from churn_data import DriftScenario, GeneratorConfig, append_sources, generate, write_sources

START, END = "2024-01-01", "2025-01-01"
PILOT_CUSTOMERS = 2_000


def _config(n_customers: int, seed: int) -> GeneratorConfig:
    return GeneratorConfig(n_customers=n_customers, start=START, end=END, seed=seed)


def customers_for(activity_rows: int, seed: int) -> int:
    """Customers needed for about ``activity_rows`` activity rows in the one-year window.

    Args:
        activity_rows: Target number of activity rows.
        seed: The seed of the run.

    Returns:
        The customer count, from a small pilot run's rows per customer.
    """
    pilot = generate(_config(PILOT_CUSTOMERS, seed))
    per_customer = len(pilot.activity) / PILOT_CUSTOMERS
    return max(1, round(activity_rows / per_customer))


def run_one(n_customers: int, seed: int) -> dict[str, float | int]:
    """Generate and write one size in this process; report timings and peak RSS.

    Args:
        n_customers: Customer count.
        seed: The seed.

    Returns:
        Row counts, seconds for generate and write, and peak RSS in MiB.
    """
    began = time.perf_counter()
    data = generate(_config(n_customers, seed))
    generated = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        write_sources(data, out)
        written = time.perf_counter()
        size = sum(path.stat().st_size for path in Path(out).iterdir())
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "customers": n_customers,
        **data.summary["rows"],
        "generate_s": round(generated - began, 2),
        "write_s": round(written - generated, 2),
        "peak_rss_mib": round(peak_kib / 1024),
        "files_mib": round(size / 2**20, 1),
    }


def run_windows(n_customers: int, windows: int, seed: int) -> dict[str, float | int]:
    """Write a first period, then append ``windows`` weekly drifted windows; time them.

    Args:
        n_customers: Customer count.
        windows: Number of weekly windows to append.
        seed: The seed.

    Returns:
        Seconds per window for generate and for append_sources (mean, max), and final rows.
    """
    first = GeneratorConfig(n_customers=n_customers, start=START, end="2024-07-01", seed=seed)
    drift_start = pd.Timestamp("2024-07-01", tz="UTC") + pd.Timedelta(days=7 * (windows // 2))
    scenario = DriftScenario.parse("covariate_shift+concept_drift", start=drift_start)
    generate_s, append_s = [], []
    with tempfile.TemporaryDirectory() as out:
        write_sources(generate(first), out)
        for week in range(windows):
            start = pd.Timestamp("2024-07-01", tz="UTC") + pd.Timedelta(days=7 * week)
            # 0.1 labels per customer-week keeps the first period's density (2 per 6 months).
            config = dataclasses.replace(
                first.later_period(start, start + pd.Timedelta(days=7), scenario),
                labels_per_customer=0.1,
            )
            began = time.perf_counter()
            data = generate(config)
            generated = time.perf_counter()
            append_sources(data, out)
            generate_s.append(generated - began)
            append_s.append(time.perf_counter() - generated)
        rows = {p.stem: len(pd.read_parquet(p)) for p in sorted(Path(out).glob("*.parquet"))}
    return {
        "customers": n_customers,
        "windows": windows,
        "generate_mean_s": round(sum(generate_s) / windows, 3),
        "generate_max_s": round(max(generate_s), 3),
        "append_mean_s": round(sum(append_s) / windows, 3),
        "append_max_s": round(max(append_s), 3),
        "activity_rows_after": rows["activity"],
    }


def _child(mode: str, *args: int) -> dict[str, float | int]:
    """Run ``python -m bench.generator --child mode args`` and parse its JSON line."""
    command = [sys.executable, "-m", "bench.generator", "--child", mode, *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cell(value: object) -> str:
    return f"{value:,}" if isinstance(value, int | float) else str(value)


def markdown(rows: list[dict[str, float | int]]) -> str:
    """A markdown table of dicts sharing keys."""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(_cell(row[k]) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print markdown tables.

    Args:
        argv: Arguments (default: ``sys.argv[1:]``).

    Returns:
        The exit code.
    """
    parser = argparse.ArgumentParser(prog="python -m bench.generator", description=__doc__)
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6, 1e7])
    parser.add_argument("--windows", type=int, default=50, help="weekly windows to append")
    parser.add_argument("--window-customers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        mode, *numbers = args.child
        run = run_one if mode == "one" else run_windows
        print(json.dumps(run(*map(int, numbers))))
        return 0
    results = []
    for target in args.sizes:
        n_customers = customers_for(int(target), args.seed)
        results.append(
            {"target_activity_rows": f"{target:.0e}", **_child("one", n_customers, args.seed)}
        )
        print(f"done {target:.0e}", file=sys.stderr)
    print("One-year first period (2024), generate + write_sources, one subprocess per size:\n")
    print(markdown(results))
    if args.windows:
        windows = _child("windows", args.window_customers, args.windows, args.seed)
        print(f"\n{args.windows} weekly windows appended (generate + append_sources each):\n")
        print(markdown([windows]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
