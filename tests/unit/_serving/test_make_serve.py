"""`make serve` itself, run the way the README says, against a tiny registered model."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from components._mlflow import mlflow_client
from components._serving.prediction_log import read_prediction_log
from components._serving.settings import free_port
from components._serving.v2 import build_v2_request, infer
from tests._helpers.demo_model import FEATURES, LABEL, demo_frame, log_demo_model

REPO_ROOT = Path(__file__).resolve().parents[3]
MODEL = "churn"
OUTPUT = f"{LABEL}_probability"


def _three_free_ports() -> int:
    """Returns a port p such that p, p+1 and p+2 were free a moment ago."""
    for _ in range(50):
        port = free_port()
        if port + 2 > 65535:
            continue
        try:
            for offset in (1, 2):
                import socket

                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port + offset))
        except OSError:
            continue
        return port
    raise RuntimeError("no three consecutive free ports found")


def _mlserver_pids(repo: Path) -> list[int]:
    """Pids of live processes whose command line starts MLServer on ``repo``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().split()[2]
        except OSError:
            continue
        if state != "Z" and str(repo).encode() in cmdline and b"mlserver.cli.main" in cmdline:
            pids.append(int(entry.name))
    return pids


@pytest.mark.parametrize("form", ["relative", "absolute"])
def test_make_serve_serves_the_champion_from_any_data_dir_form(tmp_path: Path, form: str):
    """`make serve` serves the registry's champion with a relative or an absolute DATA_DIR.

    Proves: the Makefile target itself (not the Python entry point) seeds
    `<DATA_DIR>/serving` from `models:/churn@champion` in `<DATA_DIR>/mlflow/mlflow.db`,
    answers a V2 request on SERVE_PORT, and on Ctrl-C (SIGINT to the process group, as a
    terminal sends it) stops MLServer with no process left, and the answered rows are
    in `<DATA_DIR>/predictions`. The relative form is the one that failed (model URI
    joined twice).

    Cannot prove: the README's default ports 8080-8082 are free on a user's machine, or
    a DATA_DIR produced by a full `make run` (a demo model stands in for the champion).
    """
    data_dir = tmp_path / "data"
    client = mlflow_client(f"sqlite:///{data_dir / 'mlflow' / 'mlflow.db'}")
    version = log_demo_model(client, MODEL, rows=300)
    client.set_registered_model_alias(MODEL, "champion", version.version)
    given = os.path.relpath(data_dir, REPO_ROOT) if form == "relative" else str(data_dir)
    port = _three_free_ports()
    started = dt.datetime.now(dt.UTC)
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"DATA_DIR={given}", f"SERVE_PORT={port}"],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 300
        while not any("Stop with Ctrl-C" in line for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "".join(lines)
            lines.append(line)
        text = "".join(lines)
        assert f"seeded {MODEL} with models:/{MODEL}@champion (version 1)" in text, text
        with requests.Session() as session:
            rows = demo_frame(2, seed=1)[list(FEATURES)]
            answer = infer(session, f"http://127.0.0.1:{port}", MODEL, build_v2_request(rows))
        assert answer.status == 200, answer.error
        assert answer.body["model_version"] == "1"
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=60)
        deadline = time.monotonic() + 30
        while _mlserver_pids(data_dir / "serving") and time.monotonic() < deadline:
            time.sleep(0.2)
    assert _mlserver_pids(data_dir / "serving") == []
    log = read_prediction_log(data_dir / "predictions", started, dt.datetime.now(dt.UTC))
    assert len(log) == 2
    assert log[OUTPUT].notna().all()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/v2/health/live", timeout=2)
