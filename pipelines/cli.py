"""Command line: `python -m pipelines <command>`.

Local, on any feature repo: `draft-contract`, `train`, `monitor` (`make train`,
`make monitor`); the synthetic churn story: `run-local` (`make run`); releases and the cluster:
`compile`, `submit`, `schedule`, `unschedule`, `runs` (`make compile`, `make submit`, ...);
governance on a registry: `approve`, `reject`, `promote`, `model-card`, `reproduce`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import fields
from pathlib import Path

from components._version import suite_version
from pipelines.compile import compiled_path
from pipelines.local import LocalRunConfig


def _pipeline_names() -> dict[str, str]:
    """Pipeline short name -> KFP pipeline name, from the default feature repo."""
    from pipelines.config import PipelineConfig

    config = PipelineConfig.from_repo()
    return {"training": config.training_name, "monitoring": config.monitoring_name}


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
    submit.add_argument("--pipeline", choices=["monitoring", "training"], default="training")
    submit.add_argument("--experiment", default="", help="default: the model name")
    submit.add_argument("--params", default=None, help="YAML/JSON file of parameters")
    submit.add_argument("--param", action="append", default=[], help="NAME=VALUE (repeatable)")

    schedule = sub.add_parser("schedule", help="create or replace the monitoring schedule")
    _add_kfp_options(schedule)
    schedule.add_argument("--cron", default="0 0 6 * * *", help="six fields, seconds first")
    schedule.add_argument("--experiment", default="", help="default: <model>-monitoring")
    schedule.add_argument("--params", default=None)
    schedule.add_argument("--param", action="append", default=[])

    unschedule = sub.add_parser("unschedule", help="delete the monitoring schedule")
    _add_kfp_options(unschedule)

    runs = sub.add_parser("runs", help="list recent runs and recurring runs")
    _add_kfp_options(runs)

    draft = sub.add_parser(
        "draft-contract", help="draft a data contract from a repo's point-in-time frame"
    )
    _add_repo_options(draft)
    draft.add_argument("--out", type=Path, required=True, help="contract YAML to write")

    train = sub.add_parser("train", help="run the compiled training pipeline on a feature repo")
    _add_repo_options(train)
    train.add_argument("--start", default="", help="training window start (ISO, inclusive)")
    train.add_argument("--end", default="", help="training window end (ISO, exclusive)")

    monitor = sub.add_parser(
        "monitor", help="run the compiled monitoring pipeline against a repo's champion"
    )
    _add_repo_options(monitor)
    monitor.add_argument("--window-start", required=True, help="monitored window start (ISO)")
    monitor.add_argument("--window-end", required=True, help="monitored window end (ISO)")
    monitor.add_argument("--retrain-start", default="", help="retrain window start (ISO)")

    for command, text in (
        ("approve", "approve a registered version for promotion (records who, when, why)"),
        ("reject", "reject a registered version (it can no longer be promoted)"),
        ("promote", "make an approved version the champion (audited alias move)"),
    ):
        gov = sub.add_parser(command, help=text)
        gov.add_argument("--model", required=True, help="registered model name")
        gov.add_argument("--version", required=True, help="model version number")
        gov.add_argument("--reason", required=command != "promote", default="", help="why")
        gov.add_argument(
            "--tracking-uri", default="", help="MLflow registry (default: $MLFLOW_TRACKING_URI)"
        )
        if command == "promote":
            gov.add_argument(
                "--no-approval-needed",
                action="store_true",
                help="promote without an approval record (for repos that do not require one)",
            )
    card = sub.add_parser("model-card", help="regenerate a version's model card (HTML + Markdown)")
    card.add_argument("--model", required=True, help="registered model name")
    card.add_argument("--version", required=True, help="model version number")
    card.add_argument("--out", type=Path, default=None, help="write the HTML here too")
    card.add_argument("--markdown", type=Path, default=None, help="write the Markdown here")
    card.add_argument("--tracking-uri", default="", help="MLflow registry")

    again = sub.add_parser(
        "reproduce", help="retrain a version from what it recorded and compare its predictions"
    )
    again.add_argument("--model", required=True, help="registered model name")
    again.add_argument("--version", required=True, help="model version number")
    again.add_argument("--tracking-uri", default="", help="MLflow registry")
    again.add_argument("--feature-repo", default=None, help="instead of the recorded repo")
    again.add_argument("--labels", default=None, help="instead of the recorded labels file")
    return parser


def _card_command(args: argparse.Namespace) -> int:
    from mlflow.exceptions import MlflowException

    from components import _mlflow as mlf
    from components._model_card import publish_card

    try:
        card = publish_card(mlf.mlflow_client(args.tracking_uri), args.model, args.version)
    except MlflowException as error:
        print(f"error: {error.message}", file=sys.stderr)
        return 2
    for path, text in ((args.out, card.html()), (args.markdown, card.markdown())):
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    logged = f"runs:/{card.run_id}/{card.artifact_stem}.html" if card.run_id else "-"
    print(f"{args.model} v{card.version}: model card logged at {logged}")
    return 0


def _reproduce_command(args: argparse.Namespace) -> int:
    """Exit codes: 0 reproduced, 1 rebuilt but different, 4 data changed, 2 cannot start."""
    from mlflow.exceptions import MlflowException

    from components import _mlflow as mlf
    from pipelines import reproduce

    # The scratch store's table creation and the holdout's extra columns make MLflow log
    # INFO/WARNING lines that say nothing to the person reading the result.
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    client = mlf.mlflow_client(args.tracking_uri)
    try:
        result = reproduce.reproduce(
            client, args.model, args.version, args.feature_repo, args.labels
        )
    except reproduce.DataChanged as error:
        print(f"refused: {error}", file=sys.stderr)
        return 4
    except (reproduce.NotReproducible, FileNotFoundError, MlflowException) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(reproduce.summary_lines(result)))
    return 0 if result.reproduced else 1


def _governance_command(args: argparse.Namespace) -> int:
    from mlflow.exceptions import MlflowException

    from components import _aliases
    from components import _governance as gov
    from components import _mlflow as mlf

    client = mlf.mlflow_client(args.tracking_uri)
    try:
        if args.command in ("approve", "reject"):
            decide = gov.approve if args.command == "approve" else gov.reject
            record = decide(client, args.model, args.version, args.reason)
            print(
                f"{args.model} v{args.version}: {record['decision']} by {record['by']} at "
                f"{record['at']}: {record['reason']}"
            )
        else:
            change = _aliases.promote(
                client,
                args.model,
                args.version,
                require_approval=not args.no_approval_needed,
                why=args.reason,
            )
            state = "promoted" if change.changed else "already champion"
            print(
                f"{args.model} v{change.champion}: {state}; previous = "
                f"{'v' + change.previous if change.previous else 'none'}"
            )
    except gov.ApprovalRequired as error:
        print(f"refused: {error}", file=sys.stderr)
        return 3
    except (ValueError, MlflowException) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _add_repo_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--feature-repo", type=Path, required=True, help="feature repo directory")
    parser.add_argument("--labels", type=Path, required=True, help="labels parquet file")
    parser.add_argument("--data-dir", type=Path, default=None, help="default: data/<model name>")
    parser.add_argument(
        "--source-dir", default="", help="parquet sources (default: the labels file's directory)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--model-type", default="xgboost")
    parser.add_argument(
        "--tracking-uri", default="", help="MLflow server (default: sqlite in the data dir)"
    )


def _repo_command(args: argparse.Namespace) -> int:
    from components._suite import SuiteConfigError, load_suite_config
    from pipelines import repo_runs
    from pipelines.local_runner import PipelineRunError
    from pipelines.summary import print_repo_summary

    try:
        suite = load_suite_config(args.feature_repo)
        data_dir = args.data_dir or Path("data") / suite.model_name
        if args.command == "draft-contract":
            repo_runs.draft_repo_contract(
                args.feature_repo, args.labels, args.out, data_dir, args.source_dir
            )
            return 0
        run = repo_runs.RepoRun(
            args.feature_repo,
            args.labels,
            data_dir,
            args.source_dir,
            args.seed,
            args.model_type,
            args.tracking_uri,
        )
        if args.command == "train":
            facts = repo_runs.train(run, args.start, args.end)
        else:
            facts = repo_runs.monitor(run, args.window_start, args.window_end, args.retrain_start)
    except (FileNotFoundError, SuiteConfigError, repo_runs.PreflightError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except PipelineRunError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print_repo_summary(facts)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Runs one subcommand; returns the process exit code."""
    import warnings

    # Feast's pydantic models shadow a field name; nothing a user can act on.
    warnings.filterwarnings("ignore", message="Field name .* shadows", category=UserWarning)
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
    if args.command in ("draft-contract", "train", "monitor"):
        return _repo_command(args)
    if args.command in ("approve", "reject", "promote"):
        return _governance_command(args)
    if args.command == "model-card":
        return _card_command(args)
    if args.command == "reproduce":
        return _reproduce_command(args)
    return _kfp_command(args)


def _kfp_command(args: argparse.Namespace) -> int:
    from pipelines import kfp_client

    names = _pipeline_names()
    schedule_name = f"{names['monitoring']}-schedule"
    try:
        if args.command == "submit":
            params = kfp_client.parse_params(args.param, args.params)
            url = kfp_client.submit(
                args.host,
                compiled_path(args.dist, args.pipeline),
                names[args.pipeline],
                suite_version(),
                args.experiment or names["training"].removesuffix("-training"),
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
                    names["monitoring"],
                    suite_version(),
                    args.experiment or names["monitoring"],
                    schedule_name,
                    args.cron,
                    params,
                    namespace=args.namespace,
                    token=args.token,
                )
            )
        elif args.command == "unschedule":
            deleted = kfp_client.unschedule(
                args.host, schedule_name, namespace=args.namespace, token=args.token
            )
            print(f"deleted {deleted} recurring run(s) named {schedule_name}")
        elif args.command == "runs":
            for run in kfp_client.list_runs(args.host, namespace=args.namespace, token=args.token):
                print(run)
    except (FileNotFoundError, ValueError, kfp_client.KfpClientError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
