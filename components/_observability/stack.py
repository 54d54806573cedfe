"""A local Prometheus + Pushgateway + Alertmanager on loopback, and a webhook receiver.

What ``make observe`` runs and what ``tests/observability`` start: the Debian binaries
``prometheus``, ``prometheus-pushgateway`` and ``prometheus-alertmanager`` (installed by
``make observability-deps``) as child processes on 127.0.0.1 with free ports, fed the
repository's own files:

- ``observability/prometheus/rules.yml`` as the rule file;
- a scrape config for the Pushgateway (``honor_labels: true``, so the steps' ``job``,
  ``model``... labels survive) and for any MLServer metrics endpoints given;
- ``observability/alertmanager/alertmanager.yml`` with its ``api_url_file`` pointed at a
  file holding the webhook URL (the URL is a credential; it is never put in the config).

``fast=True`` shortens scrape/evaluation intervals and Alertmanager's group timings to a
second, so an alert goes from a push to the webhook in seconds (tests); the shipped files
keep their production timings.

Nothing is started as a system service; :meth:`LocalStack.stop` ends the processes this
module started (by their own process group) and nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
OBSERVABILITY_DIR = REPO / "observability"
RULES_FILE = OBSERVABILITY_DIR / "prometheus" / "rules.yml"
RULES_TEST_FILE = OBSERVABILITY_DIR / "prometheus" / "rules.test.yml"
ALERTMANAGER_FILE = OBSERVABILITY_DIR / "alertmanager" / "alertmanager.yml"
DASHBOARD_FILE = OBSERVABILITY_DIR / "grafana" / "kfp-mlops-suite.json"
LOOPBACK = "127.0.0.1"

BINARIES = {
    "prometheus": "prometheus",
    "pushgateway": "prometheus-pushgateway",
    "alertmanager": "prometheus-alertmanager",
}
"""Component -> Debian binary name (``make observability-deps`` installs them)."""


class StackError(RuntimeError):
    """A binary is missing, or a process exited or was not ready in time (log tail inside)."""


def free_port(host: str = LOOPBACK) -> int:
    """Returns a port that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def binary(name: str) -> str:
    """Returns the path of a component's binary.

    Raises:
        StackError: If it is not installed (names the make target that installs it).
    """
    path = shutil.which(BINARIES[name])
    if path is None:
        raise StackError(f"{BINARIES[name]} not found: run `make observability-deps` (Debian)")
    return path


@dataclass
class _Process:
    name: str
    process: subprocess.Popen
    url: str
    log_path: Path

    def log_tail(self, lines: int = 30) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def prometheus_config(
    pushgateway: str,
    alertmanager: str,
    rules_file: Path,
    mlserver_targets: Sequence[str] = (),
    interval: str = "15s",
) -> dict[str, Any]:
    """Returns the Prometheus configuration of the local stack.

    Args:
        pushgateway: ``host:port`` of the Pushgateway.
        alertmanager: ``host:port`` of Alertmanager.
        rules_file: The alerting rules.
        mlserver_targets: ``host:port`` of MLServer metrics endpoints (``/metrics``).
        interval: Scrape and rule evaluation interval.
    """
    scrape = [
        {
            "job_name": "pushgateway",
            "honor_labels": True,
            "static_configs": [{"targets": [pushgateway]}],
        }
    ]
    if mlserver_targets:
        scrape.append(
            {"job_name": "mlserver", "static_configs": [{"targets": list(mlserver_targets)}]}
        )
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(rules_file)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": scrape,
    }


def alertmanager_config(url_file: Path, fast: bool = False) -> dict[str, Any]:
    """Returns the repository's Alertmanager config with the webhook URL read from `url_file`.

    Args:
        url_file: File holding the webhook URL.
        fast: Group timings of one second (tests), instead of the shipped ones.
    """
    import yaml

    config = yaml.safe_load(ALERTMANAGER_FILE.read_text(encoding="utf-8"))
    for receiver in config["receivers"]:
        for slack in receiver.get("slack_configs", []):
            slack["api_url_file"] = str(url_file)
    if fast:
        for route in (config["route"], *config["route"].get("routes", [])):
            route.update({"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1m"})
    return config


@dataclass
class LocalStack:
    """Running Prometheus, Pushgateway and Alertmanager (see the module docstring).

    Attributes:
        work_dir: Configs, data and logs.
        processes: Name -> the running process.
    """

    work_dir: Path
    processes: dict[str, _Process] = field(default_factory=dict)

    @property
    def prometheus_url(self) -> str:
        """Base URL of Prometheus."""
        return self.processes["prometheus"].url

    @property
    def pushgateway_url(self) -> str:
        """Base URL of the Pushgateway (what steps get as ``pushgateway_url``)."""
        return self.processes["pushgateway"].url

    @property
    def alertmanager_url(self) -> str:
        """Base URL of Alertmanager."""
        return self.processes["alertmanager"].url

    def query(self, promql: str, timeout_s: float = 10.0) -> list[dict[str, Any]]:
        """Evaluates an instant query; returns the result vector (or scalar as one item).

        Raises:
            StackError: If Prometheus answers with an error (e.g. a bad query).
        """
        import requests

        response = requests.get(
            f"{self.prometheus_url}/api/v1/query", params={"query": promql}, timeout=timeout_s
        )
        body = response.json()
        if body.get("status") != "success":
            raise StackError(f"query {promql!r} failed: {body.get('error')}")
        result = body["data"]["result"]
        if body["data"]["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": result}]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        """Returns Alertmanager's alerts (API v2), inhibited and silenced ones included."""
        import requests

        response = requests.get(f"{self.alertmanager_url}/api/v2/alerts", timeout=10)
        response.raise_for_status()
        return response.json()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stops the processes this stack started (SIGTERM, then SIGKILL), newest first."""
        for proc in reversed(list(self.processes.values())):
            _stop(proc.process, timeout_s)
        self.processes.clear()

    def __enter__(self) -> LocalStack:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _stop(process: subprocess.Popen, timeout_s: float) -> None:
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=timeout_s)
    except ProcessLookupError:
        return


def _launch(name: str, args: list[str], url: str, work_dir: Path) -> _Process:
    log_path = work_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [binary(name), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=work_dir,
            start_new_session=True,
        )
    return _Process(name, process, url, log_path)


def _wait_ready(proc: _Process, deadline: float) -> None:
    import requests

    while time.monotonic() < deadline:
        if proc.process.poll() is not None:
            raise StackError(f"{proc.name} exited ({proc.process.returncode}):\n{proc.log_tail()}")
        try:
            if requests.get(f"{proc.url}/-/ready", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise StackError(f"{proc.name} not ready at {proc.url}:\n{proc.log_tail()}")


def start_stack(
    work_dir: Path,
    webhook_url: str,
    *,
    mlserver_targets: Sequence[str] = (),
    fast: bool = False,
    ports: dict[str, int] | None = None,
    timeout_s: float = 60.0,
) -> LocalStack:
    """Starts Pushgateway, Alertmanager and Prometheus on loopback and waits until ready.

    Args:
        work_dir: Where configs, data and logs go (created).
        webhook_url: Where Alertmanager posts (written to a 0600 file, not the config).
        mlserver_targets: ``host:port`` of MLServer metrics endpoints to scrape.
        fast: One-second intervals everywhere (tests).
        ports: Fixed ports per component (``make observe``); None = free ports.
        timeout_s: How long the three may take to become ready.

    Returns:
        The running stack; call :meth:`LocalStack.stop` (or use ``with``).

    Raises:
        StackError: A binary is missing, or a process failed or was not ready in time.
    """
    import yaml

    work_dir.mkdir(parents=True, exist_ok=True)
    chosen = {name: (ports or {}).get(name) or free_port() for name in BINARIES}
    addr = {name: f"{LOOPBACK}:{port}" for name, port in chosen.items()}
    url_file = work_dir / "webhook-url"
    url_file.write_text(webhook_url, encoding="utf-8")
    url_file.chmod(0o600)
    am_config = work_dir / "alertmanager.yml"
    am_config.write_text(yaml.safe_dump(alertmanager_config(url_file, fast)), encoding="utf-8")
    prom_config = work_dir / "prometheus.yml"
    interval = "1s" if fast else "15s"
    prom_config.write_text(
        yaml.safe_dump(
            prometheus_config(
                addr["pushgateway"], addr["alertmanager"], RULES_FILE, mlserver_targets, interval
            )
        ),
        encoding="utf-8",
    )
    stack = LocalStack(work_dir)
    try:
        stack.processes["pushgateway"] = _launch(
            "pushgateway",
            # Debian's build persists to /var/lib/prometheus by default: keep it in memory.
            [f"--web.listen-address={addr['pushgateway']}", "--persistence.file="],
            f"http://{addr['pushgateway']}", work_dir,
        )  # fmt: skip
        stack.processes["alertmanager"] = _launch(
            "alertmanager",
            [
                f"--config.file={am_config}",
                f"--storage.path={work_dir / 'alertmanager-data'}",
                f"--web.listen-address={addr['alertmanager']}",
                f"--web.external-url=http://{addr['alertmanager']}",
                "--cluster.listen-address=",
            ],
            f"http://{addr['alertmanager']}",
            work_dir,
        )
        stack.processes["prometheus"] = _launch(
            "prometheus",
            [
                f"--config.file={prom_config}",
                f"--storage.tsdb.path={work_dir / 'prometheus-data'}",
                f"--web.listen-address={addr['prometheus']}",
                f"--web.external-url=http://{addr['prometheus']}",
                *(["--rules.alert.resend-delay=1s"] if fast else []),
            ],
            f"http://{addr['prometheus']}",
            work_dir,
        )
        deadline = time.monotonic() + timeout_s
        for proc in stack.processes.values():
            _wait_ready(proc, deadline)
    except BaseException:
        stack.stop()
        raise
    return stack


@dataclass(frozen=True)
class Delivery:
    """One POST the receiver got: arrival time (``time.time()``), path and JSON body."""

    received_at: float
    path: str
    body: Any


class WebhookReceiver:
    """An HTTP server on loopback that records every JSON POST (a stand-in for Slack).

    Use as a context manager; :attr:`url` is what Alertmanager or the notifier posts to.
    ``fail_first`` answers that many requests with HTTP 503 first (to see retries).
    """

    def __init__(self, fail_first: int = 0, echo: bool = False):
        self.deliveries: list[Delivery] = []
        self.refused = 0
        self._fail_first = fail_first
        self._echo = echo
        self._lock = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with receiver._lock:
                    if receiver.refused < receiver._fail_first:
                        receiver.refused += 1
                        self.send_response(503)
                        self.end_headers()
                        return
                    body = json.loads(raw or b"null")
                    receiver.deliveries.append(Delivery(time.time(), self.path, body))
                    receiver._lock.notify_all()
                if receiver._echo:
                    print(json.dumps(body, indent=2), flush=True)
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                return

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The receiver's URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hooks/suite"

    def wait_for(self, predicate: Any, timeout_s: float) -> Delivery | None:
        """Returns the first delivery whose body satisfies `predicate`; None after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while True:
                for delivery in self.deliveries:
                    if predicate(delivery.body):
                        return delivery
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._lock.wait(remaining)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
