"""Benchmark `get_features` against a hand-written DuckDB ASOF JOIN and Feast's dask store.

``python -m bench.features`` generates a churn world with churn_data (by default 1e5
customers, ~2M activity rows, ~1e6 labels), samples 1e5 and 1e6 label rows, and times
on the same parquet files, in one process, methods interleaved, best of N:

- get_features: `get_training_frame` on the repo as shipped (ASOF-join DuckDB offline
  store), including validation, sort and fingerprint; and Feast's retrieval alone;
- the same point-in-time join written directly as a DuckDB ``ASOF JOIN`` (TTL applied);
- Feast's stock DuckDB offline store and its default dask file store.

Each result is checked: get_features must equal the plain join and churn_data's
ground-truth snapshot row for row; dask's lost rows are counted. Prints a markdown table.
Everything is written to a temp directory and removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ACTIVITY_TTL_DAYS = 30
PROFILE_TTL_DAYS = 3650

PROFILE_FEATURES = ("plan", "region", "channel", "tenure_months", "age")
ACTIVITY_FEATURES = (
    "sessions_7d",
    "spend_30d",
    "support_tickets_30d",
    "avg_order_value",
    "days_since_last_login",
)


def _fresh(alias: str, ttl_days: int, features: Sequence[str]) -> str:
    """Feature columns of one ASOF-joined view, null when older than the TTL."""
    ttl_us = ttl_days * 86_400 * 1_000_000
    fresh = f"epoch_us({alias}.event_timestamp) >= epoch_us(l.event_timestamp) - {ttl_us}"
    return ", ".join(f"CASE WHEN {fresh} THEN {alias}.{f} END AS {f}" for f in features)


# The churn_v1 join written by hand, independently of components._feast: per view the
# latest row at or before the label time, nulled when older than the view's TTL.
PLAIN_ASOF_SQL = f"""
SELECT l.customer_id, l.event_timestamp, l.churned,
  {_fresh("p", PROFILE_TTL_DAYS, PROFILE_FEATURES)},
  {_fresh("a", ACTIVITY_TTL_DAYS, ACTIVITY_FEATURES)}
FROM labels l
ASOF LEFT JOIN read_parquet('{{profiles}}') p
  ON l.customer_id = p.customer_id AND l.event_timestamp >= p.event_timestamp
ASOF LEFT JOIN read_parquet('{{activity}}') a
  ON l.customer_id = a.customer_id AND l.event_timestamp >= a.event_timestamp
"""


@dataclass
class Result:
    """Best time and output of one method at one size."""

    seconds: float = float("inf")
    rows: int = 0
    frame: pd.DataFrame | None = field(default=None, repr=False)


def plain_asof_join(sources: Path, labels: pd.DataFrame) -> pd.DataFrame:
    """The point-in-time join as one DuckDB query over the source parquet files.

    Args:
        sources: Directory with profiles.parquet and activity.parquet.
        labels: The entity dataframe (customer_id, event_timestamp, churned).
    """
    import duckdb

    sql = PLAIN_ASOF_SQL.format(
        profiles=sources / "profiles.parquet", activity=sources / "activity.parquet"
    )
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.register("labels", labels)
        return con.execute(sql).arrow().to_pandas()


def generate_sources(directory: Path, customers: int, days: int, labels: int, seed: int):
    """Writes a churn world to `directory`; returns its labels and ground-truth snapshot."""
    from churn_data import GeneratorConfig, generate, write_sources

    start = pd.Timestamp("2024-01-01", tz="UTC")
    span = days / (days + ACTIVITY_TTL_DAYS)  # labels only fall in the window
    config = GeneratorConfig(
        n_customers=customers,
        start=start,
        end=start + pd.Timedelta(days=days),
        labels_per_customer=labels / customers / span * 1.1,
        seed=seed,
    )
    data = generate(config)
    write_sources(data, directory)
    return data.labels, data.snapshot.drop(columns="churn_probability"), data.summary["rows"]


def prepare_repo(base: Path, name: str, offline_type: str | None, sources: Path):
    """An applied copy of the feature repo using `offline_type` (None: as shipped)."""
    from components._feast import (
        apply_repo,
        copy_repo,
        open_store,
        set_offline_store,
    )
    from components._suite import load_suite_config

    repo = copy_repo(base / name)
    if offline_type:
        set_offline_store(repo, offline_type)
    apply_repo(repo, source_dir=str(sources))
    return open_store(repo), load_suite_config(repo)


def _canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Sorted, ns-precision, fresh index: for comparing results of different methods."""
    out = frame.copy()
    out["event_timestamp"] = out["event_timestamp"].astype("datetime64[ns, UTC]")
    return out.sort_values(["customer_id", "event_timestamp"], kind="mergesort").reset_index(
        drop=True
    )


def _timed(function: Callable[[], pd.DataFrame], result: Result) -> None:
    """Runs `function`, keeping the best time and the output in `result`."""
    start = time.perf_counter()
    frame = function()
    elapsed = time.perf_counter() - start
    if elapsed < result.seconds:
        result.seconds = elapsed
    result.rows, result.frame = len(frame), frame


def run(args: argparse.Namespace) -> str:
    """Runs the benchmark and returns the markdown report."""
    from components.get_features.core import get_training_frame

    with tempfile.TemporaryDirectory(prefix="bench-features-") as tmp:
        base = Path(tmp)
        sources = base / "sources"
        t0 = time.perf_counter()
        all_labels, snapshot, source_rows = generate_sources(
            sources, args.customers, args.days, max(args.sizes), args.seed
        )
        generation = time.perf_counter() - t0
        stores = {
            "asof": prepare_repo(base, "asof", None, sources),
            "duckdb": prepare_repo(base, "duckdb", "duckdb", sources),
            "dask": prepare_repo(base, "dask", "file", sources),
        }
        suite = stores["asof"][1]
        rng = np.random.default_rng(args.seed)
        # Warm-up: DuckDB, ibis and dask pay one-off costs on their first query.
        warm = all_labels.iloc[:1000]
        for store, _ in stores.values():
            store.get_historical_features(
                entity_df=warm, features=["customer_profile:plan"]
            ).to_df()
        plain_asof_join(sources, warm)

        rows = []
        for size in args.sizes:
            if size > len(all_labels):
                raise ValueError(f"asked for {size} labels, the world has {len(all_labels)}")
            pick = np.sort(rng.choice(len(all_labels), size=size, replace=False))
            labels = all_labels.iloc[pick].reset_index(drop=True)
            results = {
                name: Result() for name in ("get_features", "retrieval", "plain", "duckdb", "dask")
            }

            def retrieval(store=stores["asof"][0], labels=labels):
                service = store.get_feature_service("churn_v1")
                return store.get_historical_features(entity_df=labels, features=service).to_df()

            def dask_retrieval(store=stores["dask"][0], labels=labels):
                service = store.get_feature_service("churn_v1")
                return store.get_historical_features(entity_df=labels, features=service).to_df()

            methods: list[tuple[str, Callable[[], pd.DataFrame], int]] = [
                (
                    "get_features",
                    lambda labels=labels: (
                        get_training_frame(stores["asof"][0], labels, "churn_v1", suite).frame
                    ),
                    args.repeats,
                ),
                ("retrieval", retrieval, args.repeats),
                ("plain", lambda labels=labels: plain_asof_join(sources, labels), args.repeats),
                (
                    "duckdb",
                    lambda labels=labels: (
                        get_training_frame(stores["duckdb"][0], labels, "churn_v1", suite).frame
                    ),
                    args.repeats,
                ),
            ]
            if not args.skip_dask:
                methods.append(("dask", dask_retrieval, args.dask_repeats))
            for attempt in range(max(repeats for *_, repeats in methods)):
                for name, function, repeats in methods:
                    if attempt < repeats:
                        _timed(function, results[name])
                    print(
                        f"  {size:>9,} labels  {name:<12} {results[name].seconds:7.2f} s",
                        flush=True,
                    )

            ours = results["get_features"].frame
            truth = snapshot.merge(labels[["customer_id", "event_timestamp"]], how="inner")
            checks = {
                "equals plain ASOF": _canonical(ours).equals(
                    _canonical(results["plain"].frame)[list(ours.columns)]
                ),
                "equals ground truth": _canonical(ours).equals(_canonical(truth)),
                "equals stock duckdb": _canonical(ours).equals(_canonical(results["duckdb"].frame)),
            }
            rows.append((size, results, checks))

    return _report(rows, args, generation, source_rows)


def _fmt(result: Result) -> str:
    return "-" if result.seconds == float("inf") else f"{result.seconds:.2f} s"


def _report(
    rows: Sequence[tuple[int, dict[str, Result], dict[str, bool]]],
    args: Any,
    generation: float,
    source_rows: dict[str, int],
) -> str:
    """The markdown table and the context needed to read it."""
    lines = [
        f"Feast offline retrieval, churn_v1 (2 views, 10 features); {args.customers:,} "
        f"customers, {source_rows['activity']:,} activity + {source_rows['profiles']:,} "
        f"profile rows (churn_data, seed {args.seed}, generated in {generation:.1f} s). "
        f"Best of {args.repeats} (dask: {args.dask_repeats}); "
        f"{platform.python_version()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at the end.",
        "",
        "| label rows | get_features (ASOF store, whole step) | Feast retrieval only | "
        "plain DuckDB ASOF JOIN | get_features / plain | Feast stock DuckDB store | "
        "dask file store | dask / get_features | rows lost by dask | checks |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size, r, checks in rows:
        ours, plain, dask = r["get_features"], r["plain"], r["dask"]
        lost = f"{size - dask.rows:,}" if dask.frame is not None else "-"
        speedup = f"{dask.seconds / ours.seconds:.1f}x" if dask.frame is not None else "-"
        passed = ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in checks.items())
        lines.append(
            f"| {size:,} | {_fmt(ours)}, {ours.rows:,} rows | {_fmt(r['retrieval'])} | "
            f"{_fmt(plain)}, {plain.rows:,} rows | {ours.seconds / plain.seconds:.2f}x | "
            f"{_fmt(r['duckdb'])}, {r['duckdb'].rows:,} rows | {_fmt(dask)} | {speedup} | "
            f"{lost} | {passed} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Command line entry point (``python -m bench.features --help``)."""
    parser = argparse.ArgumentParser(prog="python -m bench.features", description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=166, help="window length (~2M activity rows)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dask-repeats", type=int, default=1)
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    print(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
