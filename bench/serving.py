"""Serving latency: the trained churn model over V2 REST on a local MLServer, driven by wrk.

One invocation trains the churn model (XGBoost, the pipeline's default) into a
throwaway MLflow store, exports it, measures in-process prediction (the model
object, MLflow pyfunc, and the suite runtime's ``predict`` without HTTP), then
starts MLServer with the suite runtime once per ``parallel_workers`` setting and
drives ``POST /v2/models/churn/infer`` with wrk (Debian package ``wrk``) at each
concurrency, for a single row and a 256-row batch. Every figure in the printed
table comes from this one run, under the same machine load (printed too).

    python -m bench.serving [--duration 10] [--workers 0 1 2] [--before-workers 1]
                            [--concurrency 1 8 32]

The model is served twice: as trained (with its fast path, under each
``--workers`` setting) and as a copy without the fast path (what every model
did before it, under ``--before-workers``).

Latency is wrk's (closed loop: each connection sends its next request when the
answer arrives), so p50 at concurrency 1 is the round trip of one request. wrk
runs on the same machine as the server and takes CPU from it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

MODEL = "churn"
BATCHES = (1, 256)
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run measured."""

    p50_ms: float
    p99_ms: float
    requests_per_s: float
    requests: int
    errors: int


def _ms(text: str) -> float:
    """Returns wrk's latency text (``812.00us``, ``1.20ms``, ``2.01s``) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unreadable wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    """Returns p50/p99, throughput, request and error counts from ``wrk --latency`` output.

    Errors are non-2xx/3xx answers plus socket errors (connect, read, write, timeout).

    Raises:
        ValueError: If the output lacks the latency distribution or the totals.
    """
    p50 = re.search(r"^\s*50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s*99%\s+(\S+)", output, re.M)
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    total = re.search(r"^\s*(\d+) requests in", output, re.M)
    if not (p50 and p99 and rate and total):
        raise ValueError(f"unexpected wrk output:\n{output}")
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    return WrkResult(
        _ms(p50.group(1)), _ms(p99.group(1)), float(rate.group(1)), int(total.group(1)), errors
    )


def run_wrk(url: str, body_path: Path, concurrency: int, duration_s: int) -> WrkResult:
    """Drives ``url`` with POSTs of the JSON in `body_path` from `concurrency` connections."""
    script = body_path.with_suffix(".lua")
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f'local f = io.open("{body_path}", "r")\n'
        "wrk.body = f:read('*a')\n"
        "f:close()\n",
        encoding="utf-8",
    )
    threads = min(concurrency, 2)
    command = [
        "wrk", f"-t{threads}", f"-c{concurrency}", f"-d{duration_s}s",
        "--timeout", "10s", "--latency", "-s", str(script), url,
    ]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return parse_wrk(out)


def median_ms(call: Callable[[], object], seconds: float = 2.0) -> float:
    """Returns the median wall time of `call` in ms, over repeated calls for about `seconds`."""
    call()
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 20:
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def train_and_export(
    tmp: Path, customers: int, model_type: str = "xgboost"
) -> tuple[Path, pd.DataFrame]:
    """Trains the churn model into a sqlite MLflow under `tmp`; returns its copy and holdout."""
    from churn_data import GeneratorConfig, generate
    from churn_data.schema import TRAIN_ROLES
    from components import _mlflow as mlf
    from components.train_model import core

    frame = generate(GeneratorConfig(n_customers=customers, seed=7)).snapshot
    frame = frame.drop(columns=["churn_probability"])
    client = mlf.mlflow_client(f"sqlite:///{tmp / 'mlflow.db'}")
    config = core.TrainConfig(**TRAIN_ROLES, model_type=model_type, drift_reference_rows=0)
    result = core.run(core.TrainJob(frame, config), client=client)
    model_dir = tmp / "model"
    core.export_model(result.model_uri, str(model_dir))
    return model_dir, result.holdout[result.feature_columns].reset_index(drop=True)


def without_fast_path(model_dir: Path, dst: Path) -> Path:
    """Copies the exported model to `dst` with its fast path removed (the model as before it).

    The copy predicts through the scikit-learn pipeline only, i.e. as models
    logged before the fast path existed do; serving both in one run gives the
    before/after figures under the same machine load.
    """
    import skops.io
    import yaml

    shutil.copytree(model_dir, dst)
    flavor = yaml.safe_load((dst / "MLmodel").read_text(encoding="utf-8"))["flavors"]["sklearn"]
    path = dst / flavor["pickled_model"]
    model = skops.io.load(path, trusted=flavor["skops_trusted_types"])
    model.fast_path = None
    skops.io.dump(model, path)
    return dst


def in_process(model_dir: Path, batches: dict[int, pd.DataFrame]) -> dict[str, dict[int, float]]:
    """Returns median in-process ms per batch size: model object, pyfunc, suite runtime."""
    import mlflow.pyfunc
    from mlserver.settings import ModelParameters, ModelSettings
    from mlserver.types import InferenceRequest

    from components._serving.runtime import SuiteMLflowRuntime
    from components._serving.v2 import build_v2_request

    pyfunc = mlflow.pyfunc.load_model(str(model_dir))
    native = pyfunc._model_impl.sklearn_model  # the PositiveClassModel MLflow loaded
    settings = ModelSettings(
        name=MODEL,
        implementation=SuiteMLflowRuntime,
        parameters=ModelParameters(uri=str(model_dir)),
    )
    runtime = SuiteMLflowRuntime(settings)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(runtime.load())
    figures: dict[str, dict[int, float]] = {
        "model predict (fast path)": {},
        "model predict (sklearn pipeline)": {},
        "MLflow pyfunc predict": {},
        "suite runtime predict (parsed request, no HTTP)": {},
    }
    for size, rows in batches.items():
        request = InferenceRequest.model_validate(build_v2_request(rows))
        figures["model predict (fast path)"][size] = median_ms(lambda r=rows: native.predict(r))
        figures["model predict (sklearn pipeline)"][size] = median_ms(
            lambda r=rows: native.reference_predict_proba(r)[:, 1]
        )
        figures["MLflow pyfunc predict"][size] = median_ms(lambda r=rows: pyfunc.predict(r))
        figures["suite runtime predict (parsed request, no HTTP)"][size] = median_ms(
            lambda q=request: loop.run_until_complete(runtime.predict(q))
        )
    loop.run_until_complete(runtime.unload())
    loop.close()
    return figures


def check_answers(url: str, rows: pd.DataFrame, expected: np.ndarray) -> float:
    """Posts `rows` once and returns the largest difference from the in-process answer."""
    import requests

    from components._serving.v2 import build_v2_request, decode_v2_outputs

    answer = requests.post(url, json=build_v2_request(rows), timeout=30)
    answer.raise_for_status()
    return float(np.max(np.abs(decode_v2_outputs(answer.json()) - expected)))


def main(argv: list[str] | None = None) -> int:
    """Runs the in-process and HTTP measurements once and prints markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument(
        "--before-workers",
        type=int,
        nargs="*",
        default=[1],
        help="parallel_workers settings to serve the model without its fast path with",
    )
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--model-type", default="xgboost", help="what train_model fits")
    parser.add_argument("--no-http", action="store_true", help="in-process figures only")
    args = parser.parse_args(argv)
    if args.no_http:
        args.workers, args.before_workers = [], []
    elif shutil.which("wrk") is None:
        print("wrk not found: apt-get install -y wrk", file=sys.stderr)
        return 2

    from components._serving.server import start_mlserver
    from components._serving.settings import write_model_settings
    from components._serving.v2 import build_v2_request

    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        model_dir, holdout = train_and_export(tmp, args.customers, args.model_type)
        batches = {size: holdout.head(size) for size in BATCHES}
        local = in_process(model_dir, batches)
        import mlflow.pyfunc

        pyfunc = mlflow.pyfunc.load_model(str(model_dir))
        before_dir = without_fast_path(model_dir, tmp / "model-before")
        before = mlflow.pyfunc.load_model(str(before_dir))
        local["MLflow pyfunc predict, model without fast path"] = {
            size: median_ms(lambda r=rows: before.predict(r)) for size, rows in batches.items()
        }
        pyfunc_ms = {
            str(model_dir): local["MLflow pyfunc predict"],
            str(before_dir): local["MLflow pyfunc predict, model without fast path"],
        }
        bodies = {}
        for size, rows in batches.items():
            bodies[size] = tmp / f"body-{size}.json"
            bodies[size].write_text(json.dumps(build_v2_request(rows)), encoding="utf-8")

        setups = [("before (sklearn pipeline)", before_dir, w) for w in args.before_workers]
        setups += [("after (fast path)", model_dir, w) for w in args.workers]
        http: dict[tuple[str, int, int, int], tuple[WrkResult, float]] = {}
        max_diff = 0.0
        for index, (label, served_dir, workers) in enumerate(setups):
            repo = tmp / f"repo-{index}"
            write_model_settings(repo / MODEL, MODEL, served_dir, "1")
            with start_mlserver(repo, parallel_workers=workers, ready_models=[MODEL]) as server:
                url = f"{server.http_url}/v2/models/{MODEL}/infer"
                for size, rows in batches.items():
                    expected = np.asarray(pyfunc.predict(rows), dtype="float64")
                    max_diff = max(max_diff, check_answers(url, rows, expected))
                    for concurrency in args.concurrency:
                        result = run_wrk(url, bodies[size], concurrency, args.duration)
                        ratio = result.p50_ms / pyfunc_ms[str(served_dir)][size]
                        http[(label, workers, size, concurrency)] = (result, ratio)
    load_end = os.getloadavg()

    print(f"\nmachine: {os.cpu_count()} cores; load average (1/5/15 min) at start "
          f"{load_start[0]:.2f}/{load_start[1]:.2f}/{load_start[2]:.2f}, at end "
          f"{load_end[0]:.2f}/{load_end[1]:.2f}/{load_end[2]:.2f}")  # fmt: skip
    print(f"model type: {args.model_type}")
    if http:
        print(f"largest |served - in-process| over V2 REST: {max_diff:.3g}")
    print()
    print("| in process (median ms) | " + " | ".join(f"{s} row(s)" for s in BATCHES) + " |")
    print("|---|" + "---|" * len(BATCHES))
    for name, per_size in local.items():
        print(f"| {name} | " + " | ".join(f"{per_size[s]:.3f}" for s in BATCHES) + " |")
    if not http:
        return 0
    print()
    print("| model | parallel_workers | rows | concurrency | p50 ms | p99 ms | req/s | rows/s "
          "| requests | errors | p50 / in-process pyfunc of that model |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (label, workers, size, concurrency), (r, ratio) in http.items():
        print(f"| {label} | {workers} | {size} | {concurrency} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
              f"| {r.requests_per_s:.0f} | {r.requests_per_s * size:.0f} | {r.requests} "
              f"| {r.errors} | {ratio:.1f}x |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
