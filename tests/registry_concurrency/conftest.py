"""A real PostgreSQL and a real MLflow tracking server in front of it, for the session.

PostgreSQL comes from Debian's packages (``apt-get install postgresql``; `.ci/run` and
``make postgres-up`` install it): a throwaway cluster is initialised in a temp dir and
started on 127.0.0.1 on an ephemeral port, with password (scram-sha-256) auth on TCP.
As root, ``initdb`` and ``postgres`` refuse to run, so they run as the ``postgres``
user that the Debian package creates. MLflow starts the way ``manifests/suite/mlflow.yaml``
starts it: ``mlflow db upgrade`` first, then ``mlflow server`` with the backend URI
``postgresql://`` and the connection in libpq's ``PG*`` variables (no credential in a
URI or on a command line), and ready only once a registry query answers. Both are
stopped at the end of the session; nothing here is a mock.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

# The readiness probe of manifests/suite/mlflow.yaml: a registry query, so it needs the DB.
READY_PATH = "/api/2.0/mlflow/registered-models/search?max_results=1"
PG_USER = "suite"
PG_DATABASE = "mlflow"


def _pg_bindir() -> Path:
    """Debian's PostgreSQL server binaries (the newest major installed), or fail with a fix."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: p.parts[-3])
    if not found:
        pytest.fail(
            "PostgreSQL server binaries not found under /usr/lib/postgresql: install Debian's "
            "package (`apt-get install -y postgresql`, or `make postgres-up`)."
        )
    return found[-1].parent


def free_port() -> int:
    """An ephemeral TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Postgres:
    """A running PostgreSQL cluster on loopback."""

    bindir: Path
    datadir: Path
    port: int
    password: str
    run_as: str | None

    def env(self) -> dict[str, str]:
        """The libpq variables that reach the `mlflow` database as the suite user."""
        return {
            "PGHOST": "127.0.0.1",
            "PGPORT": str(self.port),
            "PGUSER": PG_USER,
            "PGPASSWORD": self.password,
            "PGDATABASE": PG_DATABASE,
        }

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess:
        """Runs pg_ctl on the cluster (as the postgres user when this process is root)."""
        return subprocess.run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.datadir / "data"), *args],
            user=self.run_as,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def _start_postgres() -> Postgres:
    bindir = _pg_bindir()
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.fail("running as root and no `postgres` user to run PostgreSQL as")
        run_as = "postgres"
    # Not under pytest's tmp_path: as root that is 0700 and the postgres user cannot enter.
    datadir = Path(tempfile.mkdtemp(prefix="suite-pg-"))
    password = secrets.token_urlsafe(18)
    (datadir / "pwfile").write_text(password + "\n", encoding="utf-8")
    if run_as:
        entry = pwd.getpwnam(run_as)
        for path in (datadir, datadir / "pwfile"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    init = subprocess.run(
        [
            str(bindir / "initdb"),
            "-D",
            str(datadir / "data"),
            "-U",
            PG_USER,
            f"--pwfile={datadir / 'pwfile'}",
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
            "--encoding=UTF8",
            "--no-instructions",
        ],
        user=run_as,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if init.returncode != 0:
        shutil.rmtree(datadir, ignore_errors=True)
        pytest.fail(f"initdb failed:\n{init.stdout}\n{init.stderr}")
    port = free_port()
    pg = Postgres(bindir, datadir, port, password, run_as)
    started = pg.pg_ctl(
        "-w",
        "-t",
        "60",
        "-l",
        str(datadir / "postgres.log"),
        "-o",
        f"-h 127.0.0.1 -p {port} -k {datadir} -c max_connections=200",
        "start",
    )
    if started.returncode != 0:
        log = (datadir / "postgres.log").read_text(encoding="utf-8", errors="replace")
        shutil.rmtree(datadir, ignore_errors=True)
        pytest.fail(f"pg_ctl start failed:\n{started.stderr}\n{log[-3000:]}")
    created = subprocess.run(
        [str(bindir / "createdb"), PG_DATABASE],
        env={**os.environ, **pg.env(), "PGDATABASE": "postgres"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if created.returncode != 0:
        _stop_postgres(pg)
        pytest.fail(f"createdb failed: {created.stderr}")
    return pg


def _stop_postgres(pg: Postgres) -> None:
    pg.pg_ctl("-m", "fast", "-w", "stop")
    shutil.rmtree(pg.datadir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """PostgreSQL on 127.0.0.1:<ephemeral>, database `mlflow`, stopped and deleted at the end."""
    pg = _start_postgres()
    try:
        yield pg
    finally:
        _stop_postgres(pg)


def _mlflow_bin() -> str:
    return str(Path(sys.executable).parent / "mlflow")


@dataclass
class TrackingServer:
    """A running `mlflow server` process."""

    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        """Stops the server and its workers (its own process group)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)


def start_tracking_server(
    backend_uri: str, env: dict[str, str], workdir: Path, workers: int = 2
) -> TrackingServer:
    """Runs ``mlflow db upgrade`` then ``mlflow server`` on 127.0.0.1, as the manifest does.

    Args:
        backend_uri: Backend store URI (``postgresql://`` takes the connection from `env`).
        env: Extra environment (libpq ``PG*`` variables).
        workdir: Where the artifacts and the server log go.
        workers: Server worker processes (more than one, as on the cluster).

    Returns:
        The server, answering registry queries.
    """
    full_env = {**os.environ, **env}
    upgrade = subprocess.run(
        [_mlflow_bin(), "db", "upgrade", backend_uri],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert upgrade.returncode == 0, f"mlflow db upgrade failed:\n{upgrade.stderr[-3000:]}"
    port = free_port()
    log = workdir / "mlflow-server.log"
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [
                _mlflow_bin(),
                "server",
                "--host=127.0.0.1",
                f"--port={port}",
                f"--workers={workers}",
                f"--backend-store-uri={backend_uri}",
                "--serve-artifacts",
                f"--artifacts-destination={workdir / 'artifacts'}",
            ],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = TrackingServer(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if requests.get(server.url + READY_PATH, timeout=5).status_code == 200:
                return server
        except requests.RequestException:
            pass
        time.sleep(0.5)
    server.stop()
    pytest.fail(f"mlflow server did not become ready:\n{log.read_text(encoding='utf-8')[-3000:]}")


@pytest.fixture(scope="session")
def postgres_tracking_uri(postgres: Postgres, tmp_path_factory) -> Iterator[str]:
    """An MLflow tracking server on 127.0.0.1 backed by the session's PostgreSQL."""
    server = start_tracking_server(
        "postgresql://", postgres.env(), tmp_path_factory.mktemp("mlflow-pg")
    )
    try:
        yield server.url
    finally:
        server.stop()
