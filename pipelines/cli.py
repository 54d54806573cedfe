"""Command line: `python -m pipelines compile|run-local|submit|schedule|unschedule|runs`.

The Makefile wraps each: `make compile`, `make run`, `make submit`, `make schedule`,
`make unschedule`, `make runs`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from components._version import suite_version
from pipelines.compile import compiled_path
from pipelines.local import LocalRunConfig

PIPELINE_NAMES = {"training": "churn-training", "monitoring": "churn-monitoring"}
SCHEDULE_NAME = "churn-monitoring-schedule"


def _add_local_options(parser: argparse.ArgumentParser) -> None:
    for f in fields(LocalRunConfig):
        default = f.default  # the declared default, not one derived in __post_init__
        flag = "--" + f.name.replace("_", "-")
        if isinstance(default, tuple):
            parser.add_argument(flag, nargs="+", default=list(default))
        else:
            parser.add_argument(flag, type=type(default), default=default)


def _add_kfp_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=None, help="KFP host (default: $KFP_HOST or :8080)")
    parser.add_argument("--token", default=None, help="bearer token (default: $KFP_TOKEN)")
    parser.add_argument("--namespace", default=None, help="Kubeflow profile namespace")
    parser.add_argument("--dist", type=Path, default=Path("dist"))


def build_parser() -> argparse.ArgumentParser:
    """Returns the argument parser of every subcommand."""
    parser = argparse.ArgumentParser(prog="python -m pipelines", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    comp = sub.add_parser("compile", help="compile every pipeline to dist/")
    comp.add_argument("--dist", type=Path, default=Path("dist"))

    run = sub.add_parser("run-local", help="the whole lifecycle locally (make run)")
    _add_local_options(run)
    run.add_argument("--dist", type=Path, default=Path("dist"))

    submit = sub.add_parser("submit", help="upload a pipeline version and start a run")
    _add_kfp_options(submit)
    submit.add_argument("--pipeline", choices=sorted(PIPELINE_NAMES), default="training")
    submit.add_argument("--experiment", default="churn")
    submit.add_argument("--params", default=None, help="YAML/JSON file of parameters")
    submit.add_argument("--param", action="append", default=[], help="NAME=VALUE (repeatable)")

    schedule = sub.add_parser("schedule", help="create or replace the monitoring schedule")
    _add_kfp_options(schedule)
    schedule.add_argument("--cron", default="0 0 6 * * *", help="six fields, seconds first")
    schedule.add_argument("--experiment", default="churn-monitoring")
    schedule.add_argument("--params", default=None)
    schedule.add_argument("--param", action="append", default=[])

    unschedule = sub.add_parser("unschedule", help="delete the monitoring schedule")
    _add_kfp_options(unschedule)

    runs = sub.add_parser("runs", help="list recent runs and recurring runs")
    _add_kfp_options(runs)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Runs one subcommand; returns the process exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "compile":
        from pipelines.compile import compile_all

        for name, path in compile_all(args.dist).items():
            print(f"{name}: {path}")
        return 0
    if args.command == "run-local":
        from pipelines.local import run_lifecycle
        from pipelines.summary import print_summary

        values = {f.name: getattr(args, f.name) for f in fields(LocalRunConfig)}
        values["data_dir"] = Path(values["data_dir"])
        values["drift_checks"] = tuple(values["drift_checks"])
        print_summary(run_lifecycle(LocalRunConfig(**values), dist=args.dist))
        return 0
    return _kfp_command(args)


def _kfp_command(args: argparse.Namespace) -> int:
    from pipelines import kfp_client

    try:
        if args.command == "submit":
            params = kfp_client.parse_params(args.param, args.params)
            url = kfp_client.submit(
                args.host,
                compiled_path(args.dist, args.pipeline),
                PIPELINE_NAMES[args.pipeline],
                suite_version(),
                args.experiment,
                params,
                namespace=args.namespace,
                token=args.token,
            )
            print(f"run started: {url}")
        elif args.command == "schedule":
            params = kfp_client.parse_params(args.param, args.params)
            print(
                kfp_client.schedule(
                    args.host,
                    compiled_path(args.dist, "monitoring"),
                    PIPELINE_NAMES["monitoring"],
                    suite_version(),
                    args.experiment,
                    SCHEDULE_NAME,
                    args.cron,
                    params,
                    namespace=args.namespace,
                    token=args.token,
                )
            )
        elif args.command == "unschedule":
            deleted = kfp_client.unschedule(
                args.host, SCHEDULE_NAME, namespace=args.namespace, token=args.token
            )
            print(f"deleted {deleted} recurring run(s) named {SCHEDULE_NAME}")
        elif args.command == "runs":
            for run in kfp_client.list_runs(args.host, namespace=args.namespace, token=args.token):
                print(run)
    except (FileNotFoundError, ValueError, kfp_client.KfpClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
