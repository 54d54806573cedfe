"""Start and stop a real MLServer process (``mlserver start <repo>``) on loopback.

Used by ``validate_serving`` (a throwaway server inside the task), by
``python -m components._serving serve`` (``make serve``) and by the tests. The
server runs in its own process group so :meth:`LocalMLServer.stop` can end it
together with its inference workers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from components._serving.settings import (
    LOOPBACK,
    PREDICTION_LOG_ENV,
    ServerPorts,
    ephemeral_ports,
    write_server_settings,
)

_ADDRESS_IN_USE = ("address already in use", "errno 98")
_POLL_S = 0.25


class ServingError(RuntimeError):
    """MLServer did not start, did not load a model, or answered wrongly."""


@dataclass
class LocalMLServer:
    """A running MLServer process and where to reach it."""

    repo_dir: Path
    host: str
    ports: ServerPorts
    process: subprocess.Popen
    log_path: Path
    _log_file: IO[bytes]

    @property
    def http_url(self) -> str:
        """Base URL of the V2 REST API, e.g. ``http://127.0.0.1:40123``."""
        return f"http://{self.host}:{self.ports.http}"

    @property
    def metrics_url(self) -> str:
        """URL of the Prometheus metrics endpoint."""
        return f"http://{self.host}:{self.ports.metrics}/metrics"

    def running(self) -> bool:
        """Returns whether the server process is still alive."""
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        """Returns the last ``lines`` lines of the server's stdout and stderr."""
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout_s: float = 20.0) -> None:
        """Stops the server and every process in its group; safe to call twice.

        Sends SIGTERM to the process group (MLServer shuts its workers down
        gracefully), waits up to ``timeout_s``, then SIGKILLs whatever is left
        of the group.
        """
        if self._log_file.closed:
            return  # already stopped; the pid may belong to someone else by now
        pgid = self.process.pid  # start_new_session=True: the leader's pid is the group id
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout_s)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        self.process.wait()
        self._log_file.close()
        # Workers orphaned by the SIGKILL are reaped by init a moment later.
        deadline = time.monotonic() + timeout_s
        while group_alive(pgid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def __enter__(self) -> LocalMLServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def group_alive(pgid: int) -> bool:
    """Whether any process of the group still exists (zombies included)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _child_env(prediction_log: Path | str | None = None) -> dict[str, str]:
    """The caller's environment without ``MLSERVER_*`` overrides, plus the prediction log root.

    MLServer reads ``MLSERVER_*`` variables as settings (and
    ``MLSERVER_MODEL_*`` as a default model); the files written here must be
    the whole truth. The suite runtime reads :data:`PREDICTION_LOG_ENV`; it is
    set only when a log is asked for, so a throwaway server
    (``validate_serving``) never writes one.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MLSERVER_") and k != PREDICTION_LOG_ENV
    }
    env["PYTHONUNBUFFERED"] = "1"
    if prediction_log:
        text = str(prediction_log)
        env[PREDICTION_LOG_ENV] = text if "://" in text else str(Path(text).resolve())
    return env


def _http_ok(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _wait_ready(server: LocalMLServer, models: Sequence[str], deadline: float) -> None:
    urls = [
        f"{server.http_url}/v2/health/ready",
        *(f"{server.http_url}/v2/models/{name}/ready" for name in models),
        server.metrics_url,
    ]
    pending = list(urls)
    while pending:
        if not server.running():
            raise ServingError(
                f"MLServer exited with code {server.process.returncode} before it was ready.\n"
                f"--- server log (tail) ---\n{server.log_tail()}"
            )
        if time.monotonic() > deadline:
            raise ServingError(
                f"MLServer was not ready in time; still waiting for {pending}.\n"
                f"--- server log (tail) ---\n{server.log_tail()}"
            )
        pending = [url for url in pending if not _http_ok(url)]
        if pending:
            time.sleep(_POLL_S)


def _launch(
    repo_dir: Path,
    host: str,
    ports: ServerPorts,
    log_path: Path,
    prediction_log: Path | str | None = None,
) -> LocalMLServer:
    log_file = log_path.open("ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlserver.cli.main", "start", str(repo_dir)],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        cwd=log_path.parent,
        env=_child_env(prediction_log),
        start_new_session=True,
    )
    return LocalMLServer(repo_dir, host, ports, process, log_path, log_file)


def start_mlserver(
    repo_dir: Path,
    *,
    host: str = LOOPBACK,
    ports: ServerPorts | None = None,
    parallel_workers: int = 1,
    ready_models: Sequence[str] = (),
    timeout_s: float = 180.0,
    attempts: int = 3,
    prediction_log: Path | str | None = None,
) -> LocalMLServer:
    """Starts ``mlserver start repo_dir`` and waits until it is ready.

    Writes ``settings.json`` into ``repo_dir`` (the model repository root), then
    waits for ``/v2/health/ready``, each of ``ready_models`` and the metrics
    endpoint. With ``ports`` unset, free ports are picked and, if another
    process grabs one first, the start is retried with new ports.

    Args:
        repo_dir: Model repository root; every ``**/model-settings.json`` below
            it is loaded at startup.
        host: Interface to bind; loopback by default.
        ports: Fixed ports, or None for ephemeral ones.
        parallel_workers: MLServer inference worker processes.
        ready_models: Model names that must report ready before returning.
        timeout_s: How long one start may take before it counts as failed.
        attempts: Starts to try when a port turns out to be taken.
        prediction_log: Root of the prediction log every served model writes
            (a folder or ``s3://...``), or None for no log.

    Returns:
        The running server; the caller must :meth:`LocalMLServer.stop` it
        (or use it as a context manager).

    Raises:
        ServingError: If the server exits early (e.g. a model cannot load) or is
            not ready within ``timeout_s``; the message has the log tail.
    """
    repo_dir = repo_dir.resolve()
    state_dir = repo_dir / ".mlserver"
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "mlserver.log"
    for attempt in range(1, attempts + 1):
        chosen = ports or ephemeral_ports(host)
        write_server_settings(
            repo_dir, chosen, host=host, parallel_workers=parallel_workers, state_dir=state_dir
        )
        server = _launch(repo_dir, host, chosen, log_path, prediction_log)
        try:
            _wait_ready(server, ready_models, time.monotonic() + timeout_s)
        except ServingError as exc:
            server.stop()
            port_clash = any(marker in str(exc).lower() for marker in _ADDRESS_IN_USE)
            if ports is None and port_clash and attempt < attempts:
                continue
            raise
        except BaseException:
            server.stop()
            raise
        return server
    raise AssertionError("unreachable: the loop returns or raises")
