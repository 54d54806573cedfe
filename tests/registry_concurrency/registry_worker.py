"""A separate process that moves registry aliases with the suite's own code.

Run as a script by the tests (``python registry_worker.py COMMAND ...``), so every
worker is a real OS process with its own MLflow client, as a pipeline task is:

- ``cycle``: registers `count` new versions one after another, promoting each
  (`register_model.core.register` then `promote`), and prints one JSON line per
  version with its number and how long the two calls took;
- ``promote``: promotes one version and, with ``--kill-at STEP``, kills itself with
  SIGKILL right after that step's registry write (no clean-up runs, as when a pod is
  evicted or OOM-killed).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

from components import _mlflow as mlf
from components._registry_lock import DEFAULT_LEASE_SECONDS
from components.register_model import core


def _kill_at(step: str):
    def checkpoint(reached: str) -> None:
        if reached == step:
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    return checkpoint


def _cycle(args: argparse.Namespace) -> None:
    client = mlf.mlflow_client(args.tracking_uri)
    for i in range(args.count):
        run = client.create_run(args.experiment_id, run_name=f"worker{args.worker}-{i}")
        client.set_terminated(run.info.run_id)
        t0 = time.monotonic()
        registration = core.register(
            client,
            args.name,
            f"runs:/{run.info.run_id}/model",
            run.info.run_id,
            {"suite.test.worker": str(args.worker)},
        )
        t1 = time.monotonic()
        change = core.promote(client, args.name, registration.version)
        t2 = time.monotonic()
        record = {
            "worker": args.worker,
            "version": registration.version,
            "register_s": round(t1 - t0, 3),
            "promote_s": round(t2 - t1, 3),
            "changed": change.changed,
        }
        print(json.dumps(record), flush=True)


def _promote(args: argparse.Namespace) -> None:
    client = mlf.mlflow_client(args.tracking_uri)
    extra = {"checkpoint": _kill_at(args.kill_at)} if args.kill_at else {}
    change = core.promote(client, args.name, args.version, lease_seconds=args.lease, **extra)
    print(json.dumps({"champion": change.champion, "previous": change.previous}), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Parses the command line and runs one command."""
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    cycle = sub.add_parser("cycle")
    cycle.add_argument("--tracking-uri", required=True)
    cycle.add_argument("--name", required=True)
    cycle.add_argument("--experiment-id", required=True)
    cycle.add_argument("--worker", type=int, required=True)
    cycle.add_argument("--count", type=int, default=1)
    promote = sub.add_parser("promote")
    promote.add_argument("--tracking-uri", required=True)
    promote.add_argument("--name", required=True)
    promote.add_argument("--version", required=True)
    promote.add_argument("--lease", type=float, default=DEFAULT_LEASE_SECONDS)
    promote.add_argument("--kill-at", default="")
    args = parser.parse_args(argv)
    {"cycle": _cycle, "promote": _promote}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
