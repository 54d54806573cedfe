"""MLServer settings files for the suite: server ``settings.json`` and ``model-settings.json``.

The same runtime class is named everywhere a model is served: here for the
local MLServer and ``validate_serving``, and in the cluster ServingRuntime
through ``MLSERVER_MODEL_IMPLEMENTATION``.
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from pathlib import Path

RUNTIME_IMPLEMENTATION = "components._serving.runtime.SuiteMLflowRuntime"
"""Dotted path of the suite runtime class (model-settings ``implementation``)."""

PREDICTION_LOG_ENV = "SUITE_PREDICTION_LOG"
"""Environment variable naming the prediction log root (a folder or ``s3://...``) for
every model the suite runtime serves in that process; unset means no log."""
PREDICTION_LOG_FLUSH_ENV = "SUITE_PREDICTION_LOG_FLUSH_S"
"""Longest time (seconds) an answered request waits in memory before it is written (default 2)."""
PREDICTION_LOG_PARAMETER = "prediction_log"
"""model-settings ``parameters`` key that sets the log root for one model (wins over the env)."""
SHADOW_URI_PARAMETER = "shadow_uri"
"""model-settings ``parameters`` key naming a challenger's MLflow model folder to serve in
shadow beside the model (scored on every request, logged with ``model_role`` shadow)."""
SHADOW_VERSION_PARAMETER = "shadow_version"
"""model-settings ``parameters`` key: the shadow challenger's registry version (for the log)."""

LOCAL_PARALLEL_WORKERS = 0
"""``parallel_workers`` of the local MLServer (``make serve``), chosen by ``bench/serving.py``.

On this 2-core machine kind, inference in the server process (0) had lower p50 and
higher throughput than one worker process (1, MLServer's default) for 256-row
batches at every concurrency in every run, and for single rows in two of three
runs (within noise in the most loaded one); 2 workers gave no consistent gain. A worker
process costs a pickle round trip through a queue per request and competes for
the same two cores. Figures in bench/README.md. ``validate_serving`` keeps 1,
what the cluster runs."""

LOOPBACK = "127.0.0.1"
SETTINGS_FILE = "settings.json"
MODEL_SETTINGS_FILE = "model-settings.json"
ARTIFACTS_DIR = "_artifacts"
"""Folder of a model repository holding MLflow model copies (no model-settings inside)."""


@dataclass(frozen=True)
class ServerPorts:
    """The three ports one MLServer listens on."""

    http: int
    grpc: int
    metrics: int


def free_port(host: str = LOOPBACK) -> int:
    """Returns a TCP port that was free on ``host`` a moment ago.

    The port is released before MLServer binds it, so another process may take
    it in between; :class:`components._serving.server.LocalMLServer` retries
    with new ports when that happens.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def ephemeral_ports(host: str = LOOPBACK) -> ServerPorts:
    """Returns three distinct free ports for HTTP, gRPC and metrics."""
    ports: list[int] = []
    while len(ports) < 3:
        port = free_port(host)
        if port not in ports:
            ports.append(port)
    return ServerPorts(http=ports[0], grpc=ports[1], metrics=ports[2])


def write_server_settings(
    repo_dir: Path,
    ports: ServerPorts,
    *,
    host: str = LOOPBACK,
    parallel_workers: int = 1,
    state_dir: Path | None = None,
) -> Path:
    """Writes MLServer's ``settings.json`` at the root of a model repository.

    MLServer reads ``settings.json`` from the folder given to ``mlserver start``
    and treats that folder as the model repository root, so the settings live
    beside the models. The metrics and environments directories default to the
    current working directory in MLServer; they are pinned under ``state_dir``
    so a server never writes into the caller's checkout.

    Args:
        repo_dir: Model repository root (created if missing).
        ports: HTTP, gRPC and metrics ports.
        host: Interface to listen on; loopback unless serving to other hosts.
        parallel_workers: MLServer inference worker processes (MLServer's own
            default, and what the cluster runs, is 1; 0 runs inference in the
            server process).
        state_dir: Where MLServer keeps metrics and environments; defaults to
            ``repo_dir/.mlserver``.

    Returns:
        The path of the written file.
    """
    repo_dir.mkdir(parents=True, exist_ok=True)
    state = state_dir or repo_dir / ".mlserver"
    state.mkdir(parents=True, exist_ok=True)
    settings = {
        "host": host,
        "http_port": ports.http,
        "grpc_port": ports.grpc,
        "metrics_port": ports.metrics,
        "metrics_endpoint": "/metrics",
        "metrics_dir": str(state / "metrics"),
        "environments_dir": str(state / "envs"),
        "parallel_workers": parallel_workers,
        "load_models_at_startup": True,
        "debug": False,
    }
    path = repo_dir / SETTINGS_FILE
    path.write_text(json.dumps(settings, indent=2) + "\n", encoding="utf-8")
    return path


def model_settings(
    name: str,
    uri: Path | str,
    version: str | None = None,
    *,
    shadow_uri: Path | str | None = None,
    shadow_version: str | None = None,
) -> dict:
    """Returns the ``model-settings.json`` content for one suite model.

    MLServer resolves a relative ``uri`` against the folder holding
    ``model-settings.json``, not against the working directory, so a local
    path is written absolute: a repository under a relative data dir
    (``make serve`` with ``DATA_DIR=data``) would otherwise point at
    ``data/serving/churn/data/serving/...``.

    Args:
        name: Model name in the V2 API (``/v2/models/<name>``).
        uri: Local directory of the MLflow model (holds ``MLmodel``), or a
            URL MLServer can read (``s3://...``), which is kept as given.
        version: Model version reported by MLServer (the MLflow registry
            version); None for an unversioned model.
        shadow_uri: A challenger's MLflow model folder to serve in shadow (its
            answers are only logged); None for no shadow.
        shadow_version: The shadow's registry version, as logged.
    """
    parameters: dict[str, str] = {"uri": absolute_model_uri(uri)}
    if version is not None:
        parameters["version"] = str(version)
    if shadow_uri is not None:
        parameters[SHADOW_URI_PARAMETER] = absolute_model_uri(shadow_uri)
        parameters[SHADOW_VERSION_PARAMETER] = str(shadow_version or "")
    return {"name": name, "implementation": RUNTIME_IMPLEMENTATION, "parameters": parameters}


def absolute_model_uri(uri: Path | str) -> str:
    """Returns ``uri`` with a local path made absolute; URLs (``scheme://``) unchanged."""
    text = str(uri)
    if "://" in text:
        return text
    return str(Path(text).resolve())


def write_model_settings(
    model_dir: Path,
    name: str,
    uri: Path | str,
    version: str | None = None,
    *,
    shadow_uri: Path | str | None = None,
    shadow_version: str | None = None,
) -> Path:
    """Writes ``model-settings.json`` into ``model_dir`` (created if missing).

    Args:
        model_dir: Folder inside the model repository for this model.
        name: Model name in the V2 API.
        uri: Local directory of the MLflow model.
        version: Model version reported by MLServer, or None.
        shadow_uri: A challenger's MLflow model folder served in shadow, or None.
        shadow_version: The shadow's registry version.

    Returns:
        The path of the written file.
    """
    model_dir.mkdir(parents=True, exist_ok=True)
    path = model_dir / MODEL_SETTINGS_FILE
    settings = model_settings(
        name, uri, version, shadow_uri=shadow_uri, shadow_version=shadow_version
    )
    content = json.dumps(settings, indent=2) + "\n"
    path.write_text(content, encoding="utf-8")
    return path


def artifact_dir(repo_dir: Path, served_name: str, version: str) -> Path:
    """Where a model repository keeps the copy of one version: ``_artifacts/<name>/v<version>``."""
    return repo_dir / ARTIFACTS_DIR / served_name / f"v{version}"
