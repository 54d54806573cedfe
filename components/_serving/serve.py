"""``python -m components._serving serve``: a local MLServer for ``make serve``.

Starts MLServer on a model repository folder (created if missing; its
``settings.json`` is rewritten with the chosen ports), optionally seeds it with
a registered model, prints where the V2 endpoint and the Prometheus metrics
are, and runs until SIGINT/SIGTERM. ``deploy_model`` with ``target=local``
then rolls new versions into the same repository through MLServer's
repository API.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from components._serving.server import LocalMLServer, start_mlserver
from components._serving.settings import (
    LOCAL_PARALLEL_WORKERS,
    LOOPBACK,
    ServerPorts,
    artifact_dir,
    write_model_settings,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient


def seed_repository(
    repo_dir: Path,
    client: MlflowClient,
    model_uri: str,
    served_name: str = "",
    shadow_uri: str = "",
) -> str:
    """Puts a registered model into the repository as the served default.

    Args:
        repo_dir: Model repository folder.
        client: MLflow client.
        model_uri: ``models:/<name>/<version>`` or ``models:/<name>@<alias>``.
        served_name: V2 model name clients call; "" = the registered model's name.
        shadow_uri: A registered challenger (e.g. ``models:/<name>@challenger``) to serve
            in shadow beside it: scored on every request, logged, never answered;
            "" = none.

    Returns:
        The registry version now declared for ``served_name``.

    Raises:
        ValueError: If the URI does not name a registered version.
    """
    from components._mlflow import registered_name
    from components._serving.models import download_model, resolve_model

    ref = resolve_model(client, model_uri)
    if ref.version is None:
        raise ValueError(f"{model_uri!r} does not name a registered model version")
    served_name = served_name or registered_name(model_uri)
    model_dir = artifact_dir(repo_dir, served_name, ref.version)
    if not model_dir.is_dir():
        download_model(client, model_uri, model_dir)
    shadow_dir, shadow_version = None, None
    if shadow_uri:
        shadow = resolve_model(client, shadow_uri)
        if shadow.version is None:
            raise ValueError(f"{shadow_uri!r} does not name a registered model version")
        shadow_version = shadow.version
        shadow_dir = artifact_dir(repo_dir, served_name, shadow_version)
        if not shadow_dir.is_dir():
            download_model(client, shadow_uri, shadow_dir)
    write_model_settings(
        repo_dir / served_name, served_name, model_dir, ref.version,
        shadow_uri=shadow_dir, shadow_version=shadow_version,
    )  # fmt: skip
    return ref.version


def describe(server: LocalMLServer, served_name: str, prediction_log: str = "") -> str:
    """Says where the server's endpoints (and the prediction log) are, one per line."""
    base = server.http_url
    log = f"  predictions  : {prediction_log}/date=YYYY-MM-DD/*.parquet" if prediction_log else ""
    return "\n".join(
        line
        for line in [
            f"MLServer (suite runtime) serving {server.repo_dir}",
            f"  V2 inference : POST {base}/v2/models/{served_name}/infer",
            f"  readiness    : GET  {base}/v2/health/ready",
            f"  repository   : POST {base}/v2/repository/index",
            f"  metrics      : GET  {server.metrics_url}  (Prometheus)",
            f"  gRPC         : {server.host}:{server.ports.grpc}",
            log,
            "Stop with Ctrl-C.",
        ]
        if line
    )


def run_until_signalled(server: LocalMLServer, out: TextIO) -> int:
    """Blocks until SIGINT/SIGTERM or the server dies; always stops it.

    Returns:
        0 after a signal, 1 if the server died by itself.
    """
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        while not stop.wait(1.0):
            if not server.running():
                print(f"MLServer exited unexpectedly:\n{server.log_tail()}", file=out, flush=True)
                return 1
        return 0
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Command line: ``serve --repo DIR [--port 8080] ...`` or ``log-sink --root URI``."""
    parser = argparse.ArgumentParser(prog="python -m components._serving")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run a local MLServer on a model repository")
    serve.add_argument("--repo", type=Path, required=True, help="model repository folder")
    serve.add_argument("--host", default=LOOPBACK)
    serve.add_argument("--port", type=int, default=8080, help="HTTP port; 0 = any free ports")
    serve.add_argument("--grpc-port", type=int, default=8081)
    serve.add_argument("--metrics-port", type=int, default=8082)
    serve.add_argument(
        "--parallel-workers",
        type=int,
        default=LOCAL_PARALLEL_WORKERS,
        help="MLServer inference worker processes (0 = in the server process)",
    )
    serve.add_argument(
        "--served-name", default="", help="V2 model name (default: the registered model's)"
    )
    serve.add_argument("--model-uri", default="", help="seed with e.g. models:/<name>@champion")
    serve.add_argument("--tracking-uri", default="", help="MLflow URI (for --model-uri)")
    serve.add_argument(
        "--shadow-uri",
        default="",
        help="serve e.g. models:/<name>@challenger in shadow (needs --prediction-log)",
    )
    serve.add_argument(
        "--prediction-log",
        default="",
        help="record every answered request as parquet under this folder (or s3://...)",
    )
    sink = sub.add_parser("log-sink", help="KServe logger CloudEvents -> prediction log parquet")
    sink.add_argument("--root", required=True, help="log root: a folder or s3://bucket/prefix")
    sink.add_argument("--host", default="0.0.0.0")
    sink.add_argument("--port", type=int, default=8080, help="0 = any free port")
    sink.add_argument("--flush-interval", type=float, default=5.0, help="seconds")
    args = parser.parse_args(argv)
    if args.command == "log-sink":
        from components._serving.logger_service import serve as serve_sink

        return serve_sink(
            args.root, host=args.host, port=args.port, flush_interval_s=args.flush_interval, out=out
        )

    if args.model_uri:
        from components._mlflow import mlflow_client, registered_name

        args.served_name = args.served_name or registered_name(args.model_uri)
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # one line, not 7

        if args.shadow_uri and not args.prediction_log:
            parser.error("--shadow-uri needs --prediction-log: a shadow's answers are only logged")
        version = seed_repository(
            args.repo, mlflow_client(args.tracking_uri or None), args.model_uri, args.served_name,
            shadow_uri=args.shadow_uri,
        )  # fmt: skip
        print(f"seeded {args.served_name} with {args.model_uri} (version {version})", file=out)
        if args.shadow_uri:
            print(f"  shadow       : {args.shadow_uri} (logged with model_role=shadow)", file=out)
    ports = (
        None
        if args.port == 0
        else ServerPorts(http=args.port, grpc=args.grpc_port, metrics=args.metrics_port)
    )
    # A seeded model must load, or `make serve` says why instead of serving nothing.
    server = start_mlserver(
        args.repo,
        host=args.host,
        ports=ports,
        parallel_workers=args.parallel_workers,
        ready_models=[args.served_name] if args.model_uri else [],
        prediction_log=args.prediction_log or None,
    )
    print(describe(server, args.served_name, args.prediction_log), file=out, flush=True)
    return run_until_signalled(server, out)
