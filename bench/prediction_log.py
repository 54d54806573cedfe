"""Benchmark: what the prediction log costs an answer (p50/p99 with and without, one run).

``python -m bench.prediction_log [--requests 400] [--rows 1]`` logs the demo churn model
to a temporary MLflow store, starts two MLServers with the suite runtime on loopback
(one writing the prediction log, one not; same model, one inference worker each), then
alternates single requests between them (who goes first swaps each time), so both see
the same machine load, and prints a markdown table of client-side latency plus how many
log rows were written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import requests

from components._mlflow import mlflow_client
from components._serving.models import download_model
from components._serving.prediction_log import read_prediction_log
from components._serving.server import start_mlserver
from components._serving.settings import write_model_settings
from components._serving.v2 import build_v2_request
from tests._helpers.demo_model import FEATURES, demo_frame, log_demo_model

MODEL = "churn"


def _percentiles(seconds: list[float]) -> tuple[float, float]:
    ms = np.asarray(seconds) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def _quiet_mlflow() -> None:
    """No MLflow progress bars or store/pickle notices in the report a person reads."""
    import mlflow  # configures its loggers on import: set the level after that

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger(mlflow.__name__).setLevel(logging.ERROR)


def run(requests_per_server: int, rows: int, warmup: int = 30) -> str:
    """Runs the benchmark and returns the markdown report."""
    _quiet_mlflow()
    with tempfile.TemporaryDirectory(prefix="bench-prediction-log-") as tmp:
        root = Path(tmp)
        client = mlflow_client(f"sqlite:///{root / 'mlflow' / 'mlflow.db'}")
        log_demo_model(client, MODEL)
        model_dir = download_model(client, f"models:/{MODEL}/1", root / "model")
        log_root = root / "predictions"
        servers = {}
        for name, log in (("without log", None), ("with log", log_root)):
            repo = root / name.replace(" ", "-")
            write_model_settings(repo / MODEL, MODEL, model_dir, "1")
            servers[name] = start_mlserver(repo, ready_models=[MODEL], prediction_log=log)
        try:
            frame = demo_frame(requests_per_server + warmup, seed=3)[list(FEATURES)]
            bodies = [build_v2_request(frame.iloc[i : i + rows]) for i in range(len(frame))]
            timings: dict[str, list[float]] = {name: [] for name in servers}
            started = dt.datetime.now(dt.UTC)
            with requests.Session() as session:
                order = list(servers.items())
                for i, body in enumerate(bodies):
                    # Swap who goes first each time: the first of a pair pays for any
                    # pause since the last request.
                    for name, server in order if i % 2 == 0 else order[::-1]:
                        url = f"{server.http_url}/v2/models/{MODEL}/infer"
                        t0 = time.perf_counter()
                        answer = session.post(url, json=body, timeout=30)
                        elapsed = time.perf_counter() - t0
                        answer.raise_for_status()
                        if i >= warmup:
                            timings[name].append(elapsed)
        finally:
            for server in servers.values():
                server.stop()
        logged = read_prediction_log(log_root, started, dt.datetime.now(dt.UTC))
    lines = [
        f"{requests_per_server} requests of {rows} row(s) per server, alternating, "
        f"after {warmup} warm-up requests each; MLServer 1.7.1, 1 inference worker",
        "",
        "| server | p50 ms | p99 ms | mean ms |",
        "|---|---|---|---|",
    ]
    for name, seconds in timings.items():
        p50, p99 = _percentiles(seconds)
        lines.append(f"| {name} | {p50:.2f} | {p99:.2f} | {statistics.mean(seconds) * 1000:.2f} |")
    expected = (requests_per_server + warmup) * rows
    lines += ["", f"log rows written: {len(logged)} of {expected} answered"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m bench.prediction_log")
    parser.add_argument("--requests", type=int, default=400, help="timed requests per server")
    parser.add_argument("--rows", type=int, default=1, help="rows per request")
    args = parser.parse_args(argv)
    print(run(args.requests, args.rows), flush=True)


if __name__ == "__main__":
    main()
