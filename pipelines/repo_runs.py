"""Local runs on any feature repo: draft a contract, train, monitor.

`python -m pipelines draft-contract|train|monitor` (and `make train` / `make monitor`)
run here, on the same embedded backends as `make run`: kfp.local, MLflow on sqlite,
Feast local, MLServer on loopback. Everything a run writes lives under one data
directory:

    <data-dir>/feature_repo/   a copy of the repo (its registry and online store)
    <data-dir>/mlflow/         MLflow tracking + registry (sqlite) and artifacts
    <data-dir>/serving/        the local MLServer's model repository
    <data-dir>/pipeline_root/  kfp.local task outputs (reports)
    <data-dir>/logs/           full kfp.local logs
    <data-dir>/dist/           the compiled pipelines of this repo
    <data-dir>/predictions/    what the local MLServer answered (parquet by date)

`preflight` checks the configuration before anything runs: `suite.yaml`, the labels
file (label column present and binary), the feature service, and the contract's
columns against what the service returns. `make run` (the churn story in
`pipelines.local`) is built on the same functions.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components._suite import SuiteConfig, load_suite_config

Echo = Callable[[str], None]


class PreflightError(ValueError):
    """The feature repo, labels file or contract cannot be run as configured."""


@dataclass(frozen=True)
class Workspace:
    """Where a local run keeps its state (see the module docstring).

    Attributes:
        data_dir: The run's data directory (relative paths are taken from the cwd).
        tracking_uri: MLflow tracking URI. Empty (the default): sqlite in
            ``<data_dir>/mlflow/mlflow.db``, artifacts next to it. A tracking server,
            e.g. ``http://127.0.0.1:5000`` from ``make mlflow-server`` (PostgreSQL),
            when several runs share the registry.
    """

    data_dir: Path = Path("data")
    tracking_uri: str = ""

    def __post_init__(self) -> None:
        if not self.tracking_uri:
            default = f"sqlite:///{Path(self.data_dir).resolve() / 'mlflow' / 'mlflow.db'}"
            object.__setattr__(self, "tracking_uri", default)

    @property
    def root(self) -> Path:
        """The data directory, absolute."""
        return Path(self.data_dir).resolve()

    @property
    def feature_repo(self) -> Path:
        """The run's copy of the feature repo (its registry and online store live inside)."""
        return self.root / "feature_repo"

    @property
    def serving_repo(self) -> Path:
        """Model repository of the local MLServer."""
        return self.root / "serving"

    @property
    def outputs(self) -> Path:
        """kfp.local pipeline root (task outputs, reports)."""
        return self.root / "pipeline_root"

    @property
    def logs(self) -> Path:
        """Full kfp.local logs, one per pipeline run."""
        return self.root / "logs"

    @property
    def predictions(self) -> Path:
        """The served models' prediction log (parquet, partitioned by date)."""
        return self.root / "predictions"

    @property
    def dist(self) -> Path:
        """Compiled pipelines of this repo."""
        return self.root / "dist"


@dataclass
class StageTimer:
    """Prints stage headers and keeps each stage's duration."""

    echo: Echo = print
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Times one stage and prints its start and end."""
        self.echo(f"==> {name}")
        t0 = time.monotonic()
        yield
        self.seconds[name] = time.monotonic() - t0
        self.echo(f"    done in {self.seconds[name]:.1f}s")


def read_labels(labels: str | Path, suite: SuiteConfig) -> Any:
    """Reads the labels file's entity columns and checks them.

    Args:
        labels: Parquet file with the entity key, label time and label.
        suite: The repo's roles.

    Raises:
        PreflightError: The file is missing, lacks a column, or its label is not
            binary (see `components._suite.binary_label`).
    """
    import pyarrow.parquet as pq

    from components._suite import binary_label

    path = Path(labels)
    if not path.is_file():
        raise PreflightError(f"labels file {path} does not exist")
    present = pq.read_schema(path).names
    missing = [c for c in suite.entity_columns if c not in present]
    if missing:
        raise PreflightError(
            f"labels file {path} lacks columns {missing} named in suite.yaml "
            f"(entity_key / timestamp / label); it has {present}"
        )
    frame = pq.read_table(path, columns=suite.entity_columns).to_pandas()
    try:
        binary_label(frame[suite.label], suite)
    except ValueError as error:
        raise PreflightError(f"labels file {path}: {error}") from None
    return frame


def preflight(
    feature_repo: Path, labels: str | Path, store: Any, *, contract: bool = True
) -> SuiteConfig:
    """Checks a repo, its labels file and its contract before anything runs.

    Args:
        feature_repo: The applied repo copy (its `suite.yaml` and registry are read).
        labels: The labels parquet.
        store: The repo's Feast store (applied).
        contract: Also check the contract file against the service's columns.

    Returns:
        The repo's roles.

    Raises:
        PreflightError: Anything that would make the pipeline fail later, named.
    """
    from components.get_features.core import resolve_feature_service
    from components.validate_data.contract import ContractError, load_contract

    suite = load_suite_config(feature_repo)
    read_labels(labels, suite)
    try:
        service = resolve_feature_service(store, suite.feature_service)
    except ValueError as error:
        raise PreflightError(f"suite.yaml feature_service: {error}") from None
    returned = [*suite.entity_columns, *service_columns(service)]
    for role, names in (
        ("categorical_features", suite.categorical_features),
        ("slice_features", suite.slice_features),
    ):
        unknown = [c for c in names if c not in returned]
        if unknown:
            raise PreflightError(
                f"suite.yaml {role} {unknown} are not returned by feature service "
                f"{suite.feature_service!r} (it returns {returned})"
            )
    if contract:
        if not suite.contract_path.is_file():
            raise PreflightError(
                f"data contract {suite.contract_path} (suite.yaml `contract:`) does not exist; "
                "draft it with `python -m pipelines draft-contract`"
            )
        try:
            columns = [c.name for c in load_contract(suite.contract_path).columns]
        except ContractError as error:
            raise PreflightError(str(error)) from None
        unknown = [c for c in columns if c not in returned]
        if unknown:
            raise PreflightError(
                f"contract {suite.contract_path} names columns {unknown} that feature service "
                f"{suite.feature_service!r} does not return (it returns {returned})"
            )
    return suite


def service_columns(service: Any) -> list[str]:
    """Returns the feature columns a Feast feature service returns, in its order."""
    from components.get_features.core import feature_refs

    return [ref.split(":", 1)[1] for ref in feature_refs(service)]


def prepare_repo(
    workspace: Workspace,
    source_repo: Path,
    source_dir: Path | str,
    materialize_until: str,
    echo: Echo,
) -> Any:
    """Copies (or refreshes) the repo into the workspace, applies it and materializes it.

    Args:
        workspace: The run's workspace.
        source_repo: The user's feature repo.
        source_dir: Where its parquet sources live (``FEAST_SOURCE_DIR``).
        materialize_until: End of the online store's materialization (ISO).
        echo: Progress output.

    Returns:
        The applied repo's Feast store.
    """
    from components._feast import apply_repo, copy_repo, open_store
    from components.materialize_features.core import MaterializeConfig
    from components.materialize_features.core import run as materialize

    copy_repo(workspace.feature_repo, Path(source_repo), refresh=True)
    with contextlib.redirect_stdout(io.StringIO()):  # Feast prints its plan line by line
        applied = apply_repo(workspace.feature_repo, source_dir=str(source_dir))
    echo(
        f"    applied: {', '.join(applied.get('feature_views', []))}; "
        f"services {', '.join(applied.get('feature_services', []))}"
    )
    for view in materialize(MaterializeConfig(workspace.feature_repo, materialize_until)).views:
        echo(
            f"    materialized {view.feature_view}: {view.rows:,} rows "
            f"{view.start:%Y-%m-%d} .. {view.end:%Y-%m-%d}"
        )
    return open_store(workspace.feature_repo)


def labels_end(labels: str | Path, suite: SuiteConfig) -> str:
    """Returns one second past the labels file's latest label time (ISO, UTC)."""
    import pandas as pd

    from components._time import utc_series

    times = utc_series(read_labels(labels, suite)[suite.timestamp])
    return (times.max() + pd.Timedelta(seconds=1)).isoformat()


def compile_repo_pipelines(workspace: Workspace, echo: Echo) -> dict[str, Path]:
    """Compiles the repo's pipelines (its contract, roles and names) into the workspace."""
    from pipelines.compile import compile_all
    from pipelines.config import PipelineConfig

    written = compile_all(workspace.dist, PipelineConfig.from_repo(workspace.feature_repo))
    for path in written.values():
        echo(f"    {path}")
    return written


def local_arguments(workspace: Workspace, labels: str | Path, served_url: str, seed: int) -> dict:
    """Pipeline parameters that point a compiled pipeline at this machine's backends."""
    return {
        "feature_repo": str(workspace.feature_repo),
        "entity_source": str(Path(labels).resolve()),
        "tracking_uri": workspace.tracking_uri,
        "seed": seed,
        "deploy_target": "local",
        "local_serving_url": served_url,
        "local_serving_repo": str(workspace.serving_repo),
        "canary_observe_seconds": 0.0,
    }


def run_pipeline(workspace: Workspace, yaml_path: Path, arguments: dict, label: str, echo: Echo):
    """Runs one compiled pipeline through kfp.local with per-task progress."""
    from pipelines.local_runner import run_compiled

    stamp = time.strftime("%Y%m%d-%H%M%S")
    result = run_compiled(
        yaml_path,
        arguments,
        pipeline_root=workspace.outputs / f"{label}-{stamp}",
        log_path=workspace.logs / f"{label}-{stamp}.log",
        echo=echo,
    )
    echo(f"    full log: {result.log_path}")
    return result


@contextmanager
def local_server(workspace: Workspace, echo: Echo) -> Iterator[Any]:
    """Starts the local MLServer (suite runtime) on the workspace's repository.

    Every request it answers (the local deploy's canary checks, the summary's live
    requests) is written to the workspace's prediction log.
    """
    from components._serving.server import start_mlserver

    workspace.serving_repo.mkdir(parents=True, exist_ok=True)
    server = start_mlserver(workspace.serving_repo, prediction_log=workspace.predictions)
    echo(f"    V2 endpoint {server.http_url}, Prometheus metrics {server.metrics_url}")
    echo(f"    prediction log {workspace.predictions}")
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class RepoRun:
    """One `train` or `monitor` invocation on a feature repo.

    Attributes:
        feature_repo: The user's feature repo.
        labels: Labels parquet (entity key, label time, label).
        data_dir: The run's workspace directory.
        source_dir: Where the repo's parquet sources live; "" = the labels file's directory.
        seed: Seed of every model.
        model_type: Estimator of the training pipeline.
        tracking_uri: MLflow tracking URI ("" = sqlite in the workspace).
    """

    feature_repo: Path
    labels: Path
    data_dir: Path = Path("data")
    source_dir: str = ""
    seed: int = 42
    model_type: str = "xgboost"
    tracking_uri: str = ""

    @property
    def workspace(self) -> Workspace:
        """The run's workspace."""
        return Workspace(self.data_dir, self.tracking_uri)

    @property
    def sources(self) -> str:
        """The parquet sources directory."""
        return self.source_dir or str(Path(self.labels).resolve().parent)


def _run_repo_pipeline(
    run: RepoRun, kind: str, window: dict[str, str], echo: Echo
) -> dict[str, Any]:
    """Applies, checks and compiles the repo, starts MLServer, runs one compiled pipeline."""
    timer = StageTimer(echo)
    ws = run.workspace
    suite = load_suite_config(run.feature_repo)
    read_labels(run.labels, suite)
    with timer.stage(f"apply {run.feature_repo} and materialize (sources {run.sources})"):
        store = prepare_repo(ws, run.feature_repo, run.sources, labels_end(run.labels, suite), echo)
        suite = preflight(ws.feature_repo, run.labels, store)
        echo(
            f"    roles: entity {suite.entity_key}, label {suite.label}, service "
            f"{suite.feature_service}, model {suite.model_name}"
        )
    with timer.stage("compile the repo's pipelines"):
        compiled = compile_repo_pipelines(ws, echo)
    facts: dict[str, Any] = {"suite": suite, "workspace": ws}
    with contextlib.ExitStack() as stack:
        with timer.stage("start the local MLServer (suite runtime)"):
            server = stack.enter_context(local_server(ws, echo))
        arguments = {
            **local_arguments(ws, run.labels, server.http_url, run.seed),
            "model_type": run.model_type,
            **window,
        }
        with timer.stage(f"{kind} pipeline {compiled[kind].name} on kfp.local"):
            facts[kind] = run_pipeline(ws, compiled[kind], arguments, kind, echo)
    facts["stage_seconds"] = timer.seconds
    return facts


def train(run: RepoRun, start: str = "", end: str = "", echo: Echo = print) -> dict[str, Any]:
    """Runs the compiled training pipeline on a feature repo, locally.

    Args:
        run: The repo, labels and workspace.
        start: Training window start on the label time (ISO, inclusive; "" = all).
        end: Training window end (ISO, exclusive; "" = all).
        echo: Progress output.

    Returns:
        The facts `pipelines.summary.print_repo_summary` prints.
    """
    return _run_repo_pipeline(run, "training", {"train_start": start, "train_end": end}, echo)


def monitor(
    run: RepoRun,
    window_start: str,
    window_end: str,
    retrain_start: str = "",
    echo: Echo = print,
) -> dict[str, Any]:
    """Runs the compiled monitoring pipeline on a feature repo against its champion.

    Args:
        run: The repo, labels and workspace (the same data dir as the `train` run).
        window_start: Monitored window start (ISO, inclusive).
        window_end: Monitored window end (ISO, exclusive); also the retrain window's end.
        retrain_start: Retrain window start ("" = all labels before `window_end`).
        echo: Progress output.

    Returns:
        The facts `pipelines.summary.print_repo_summary` prints.
    """
    window = {
        "window_start": window_start,
        "window_end": window_end,
        "retrain_start": retrain_start,
        "retrain_end": window_end,
    }
    return _run_repo_pipeline(run, "monitoring", window, echo)


def draft_repo_contract(
    feature_repo: Path,
    labels: Path,
    out: Path,
    data_dir: Path = Path("data"),
    source_dir: str = "",
    echo: Echo = print,
) -> Path:
    """Drafts a data contract from the frame the point-in-time retrieval returns.

    Runs `get_features`' retrieval for every label row, so the dtypes in the draft are
    the ones validation will see, and writes the draft for a person to review.

    Args:
        feature_repo: The user's feature repo.
        labels: Labels parquet.
        out: Contract file to write.
        data_dir: Workspace for the applied repo copy.
        source_dir: Parquet sources directory; "" = the labels file's directory.
        echo: Progress output.

    Returns:
        The written contract file.
    """
    from components.get_features.core import GetFeaturesConfig
    from components.get_features.core import run as get_features
    from components.validate_data.contract import draft_contract, dump_contract

    run = RepoRun(Path(feature_repo), Path(labels), Path(data_dir), source_dir)
    ws, timer = run.workspace, StageTimer(echo)
    suite = load_suite_config(feature_repo)
    read_labels(labels, suite)
    with timer.stage(f"apply {feature_repo} (sources {run.sources})"):
        store = prepare_repo(ws, run.feature_repo, run.sources, labels_end(labels, suite), echo)
        suite = preflight(ws.feature_repo, labels, store, contract=False)
    with timer.stage(f"point-in-time retrieval of {suite.feature_service} for every label"):
        with contextlib.redirect_stdout(io.StringIO()):  # Feast names the timestamp it uses
            frame = get_features(
                GetFeaturesConfig(ws.feature_repo, "", Path(labels).resolve())
            ).frame
        echo(f"    {len(frame):,} rows x {frame.shape[1]} columns")
    contract = draft_contract(
        frame,
        name=suite.feature_service,
        unique=[(suite.entity_key, suite.timestamp)],
        categorical=suite.categorical_features,
    )
    path = dump_contract(contract, out)
    echo(f"contract drafted: {path} ({len(contract.columns)} columns); review it, then set")
    echo(f"`contract:` in {Path(feature_repo) / 'suite.yaml'} to it")
    return path
