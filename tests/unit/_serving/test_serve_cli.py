"""`python -m components._serving serve`: the `make serve` entry point, run for real."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from components._serving.server import group_alive
from components._serving.v2 import build_v2_request, infer
from tests._helpers.demo_model import FEATURES, demo_frame

MODEL = "churn"


def test_serve_seeds_a_model_prints_endpoints_and_stops_on_sigterm(registry, tmp_path: Path):
    """Serve seeds a model prints endpoints and stops on sigterm.

    Proves the CLI seeds the repository from models:/churn/1, starts MLServer on free
    ports, prints the V2 and metrics URLs (which answer), and on SIGTERM exits 0 with no
    process left in its group.

    Cannot prove the fixed default ports 8080-8082 are free on a user's machine.
    """
    repo = tmp_path / "serving"
    proc = subprocess.Popen(
        [sys.executable, "-m", "components._serving", "serve", "--repo", str(repo),
         "--port", "0", "--model-uri", f"models:/{MODEL}/1",
         "--tracking-uri", registry.tracking_uri],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 300
        while not any("metrics" in line for line in lines):
            assert time.monotonic() < deadline, "".join(lines)
            line = proc.stdout.readline()
            assert line or proc.poll() is None, "".join(lines)
            lines.append(line)
        text = "".join(lines)
        infer_url = next(w for w in text.split() if w.endswith(f"/v2/models/{MODEL}/infer"))
        metrics_url = next(w for w in text.split() if w.endswith("/metrics"))
        base = infer_url.removesuffix(f"/v2/models/{MODEL}/infer")
        with requests.Session() as session:
            rows = demo_frame(3, seed=3)[list(FEATURES)]
            answer = infer(session, base, MODEL, build_v2_request(rows))
        assert answer.status == 200
        assert answer.body["model_version"] == "1"
        assert "model_infer_request_success_total" in requests.get(metrics_url, timeout=5).text
        assert (repo / MODEL / "model-settings.json").is_file()
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(timeout=60)
        deadline = time.monotonic() + 10
        while group_alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    assert code == 0
    assert not group_alive(proc.pid)
