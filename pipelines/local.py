"""`make run`: the whole lifecycle on this machine, through the compiled pipelines.

Stages: generate day-0 data -> apply + materialize the Feast repo -> start the local
MLServer -> compile -> run the compiled training YAML through kfp.local -> append a
later period with a drift scenario -> run the compiled monitoring YAML (drift check,
retrain when drift is found) -> summary, ending with real V2 requests to the served
model. Everything lives under one data directory (git-ignored).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.config import PipelineConfig

Echo = Callable[[str], None]


@dataclass(frozen=True)
class LocalRunConfig:
    """The embedded defaults of `make run`; every field is a command-line option.

    Attributes:
        data_dir: Everything the run writes (sources, Feast state, MLflow, serving, outputs).
        customers: Size of the synthetic customer base.
        seed: Seed of the data and of every model.
        day0_start: Start of the day-0 (training) period.
        day0_end: End of the day-0 period = start of the monitored period = drift start.
        monitor_end: End of the monitored period.
        retrain_start: Start of the retraining window (it ends at `monitor_end`). Close
            to the drift start on purpose: under concept drift, older rows teach the
            relationship that no longer holds.
        scenario: Drift scenario of the monitored period, e.g.
            ``covariate_shift+concept_drift`` or ``none``.
        labels_per_customer: Expected label rows per customer per period.
        model_type: Estimator of the training pipeline.
        drift_checks: Checks the monitoring pipeline runs.
        tracking_uri: MLflow tracking URI. Empty (the default): sqlite in
            ``<data_dir>/mlflow/mlflow.db``, artifacts next to it. A tracking server,
            e.g. ``http://127.0.0.1:5000`` from ``make mlflow-server`` (PostgreSQL),
            when several runs share the registry.
    """

    data_dir: Path = Path("data")
    customers: int = 3000
    seed: int = 7
    day0_start: str = "2024-01-01"
    day0_end: str = "2024-07-01"
    monitor_end: str = "2024-09-01"
    retrain_start: str = "2024-06-15"
    scenario: str = "covariate_shift+concept_drift"
    labels_per_customer: float = 2.0
    model_type: str = "xgboost"
    drift_checks: tuple[str, ...] = ("feature", "psi", "prediction", "performance")
    tracking_uri: str = ""

    def __post_init__(self) -> None:
        if not self.tracking_uri:
            default = f"sqlite:///{self.data_dir.resolve() / 'mlflow' / 'mlflow.db'}"
            object.__setattr__(self, "tracking_uri", default)

    @property
    def sources(self) -> Path:
        """Parquet sources Feast reads."""
        return self.data_dir.resolve() / "sources"

    @property
    def feature_repo(self) -> Path:
        """The run's copy of `feature_repo/` (its registry and online store live inside)."""
        return self.data_dir.resolve() / "feature_repo"

    @property
    def serving_repo(self) -> Path:
        """Model repository of the local MLServer."""
        return self.data_dir.resolve() / "serving"

    @property
    def outputs(self) -> Path:
        """kfp.local pipeline root (task outputs, reports)."""
        return self.data_dir.resolve() / "pipeline_root"

    @property
    def logs(self) -> Path:
        """Full kfp.local logs, one per pipeline run."""
        return self.data_dir.resolve() / "logs"


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


def local_arguments(run: LocalRunConfig, served_url: str) -> dict[str, Any]:
    """Pipeline parameters that point a compiled pipeline at this machine's backends."""
    return {
        "feature_repo": str(run.feature_repo),
        "entity_source": str(run.sources / "labels.parquet"),
        "tracking_uri": run.tracking_uri,
        "seed": run.seed,
        "model_type": run.model_type,
        "deploy_target": "local",
        "local_serving_url": served_url,
        "local_serving_repo": str(run.serving_repo),
        "canary_observe_seconds": 0.0,
    }


def _day0_config(run: LocalRunConfig):
    from churn_data import GeneratorConfig

    return GeneratorConfig(
        n_customers=run.customers,
        start=run.day0_start,
        end=run.day0_end,
        seed=run.seed,
        labels_per_customer=run.labels_per_customer,
    )


def generate_day0(run: LocalRunConfig, echo: Echo) -> dict[str, Any]:
    """Writes the day-0 period's sources; returns the generator summary."""
    from churn_data import generate, write_sources

    data = generate(_day0_config(run))
    write_sources(data, run.sources)
    _echo_rows(data, echo)
    return data.summary


def append_period(
    run: LocalRunConfig, start: str, end: str, scenario: str, echo: Echo
) -> dict[str, Any]:
    """Appends a later period of the same customers; drift (if any) starts at `start`.

    Args:
        run: The run (its sources are appended to).
        start: Period start (inclusive), also the drift start.
        end: Period end (exclusive).
        scenario: ``none`` or scenario names joined by ``+``.
        echo: Progress output.

    Returns:
        The generator summary of the period.
    """
    from churn_data import DriftScenario, append_sources, generate

    kinds = "" if scenario in ("", "none") else scenario
    drift = DriftScenario.parse(kinds, start=start) if kinds else DriftScenario()
    data = generate(_day0_config(run).later_period(start, end, drift))
    append_sources(data, run.sources)
    echo(f"    scenario: {scenario} from {start}")
    _echo_rows(data, echo)
    return data.summary


def _echo_rows(data: Any, echo: Echo) -> None:
    echo(
        f"    rows: profiles {len(data.profiles):,}, activity {len(data.activity):,}, "
        f"labels {len(data.labels):,}; churn rate {data.labels['churned'].mean():.1%}, "
        f"Bayes-ceiling ROC AUC {data.summary.get('ceiling_auc', float('nan')):.3f}"
    )


def prepare_feature_store(run: LocalRunConfig, end_time: str, echo: Echo) -> None:
    """Copies the feature repo (first time), applies it and materializes up to `end_time`."""
    from components._feast import apply_repo, copy_repo
    from components.materialize_features.core import materialize_repo

    if not run.feature_repo.exists():
        copy_repo(run.feature_repo)
    applied = apply_repo(run.feature_repo, source_dir=str(run.sources))
    echo(
        f"    applied: {', '.join(applied.get('feature_views', []))}; "
        f"services {', '.join(applied.get('feature_services', []))}"
    )
    for view in materialize_repo(run.feature_repo, end_time):
        echo(
            f"    materialized {view.feature_view}: {view.rows:,} rows "
            f"{view.start:%Y-%m-%d} .. {view.end:%Y-%m-%d}"
        )


def compile_pipelines(run: LocalRunConfig, dist: Path, echo: Echo) -> dict[str, Path]:
    """Compiles both pipelines to `dist/` (the same release artifacts `make compile` makes)."""
    from pipelines.compile import compile_all

    written = compile_all(dist, PipelineConfig.from_repo())
    for path in written.values():
        echo(f"    {path}")
    return written


def run_pipeline(
    run: LocalRunConfig, yaml_path: Path, arguments: dict[str, Any], label: str, echo: Echo
):
    """Runs one compiled pipeline through kfp.local with per-task progress."""
    from pipelines.local_runner import run_compiled

    stamp = time.strftime("%Y%m%d-%H%M%S")
    result = run_compiled(
        yaml_path,
        arguments,
        pipeline_root=run.outputs / f"{label}-{stamp}",
        log_path=run.logs / f"{label}-{stamp}.log",
        echo=echo,
    )
    echo(f"    full log: {result.log_path}")
    return result


def run_lifecycle(run: LocalRunConfig, dist: Path = Path("dist"), echo: Echo = print) -> dict:
    """Runs the whole local story and returns what the summary reports.

    Args:
        run: Embedded defaults or command-line overrides.
        dist: Where the compiled pipelines go.
        echo: Progress output.

    Returns:
        The facts the summary prints (see `pipelines.summary`).
    """
    from components._serving.server import start_mlserver
    from pipelines import summary

    timer = StageTimer(echo)
    facts: dict[str, Any] = {"run": run}
    run.data_dir.mkdir(parents=True, exist_ok=True)
    with timer.stage(f"1/7 generate day-0 data {run.day0_start} .. {run.day0_end}"):
        facts["day0"] = generate_day0(run, echo)
    with timer.stage("2/7 apply the Feast repo and materialize the online store"):
        prepare_feature_store(run, run.day0_end, echo)
    with timer.stage("3/7 compile the pipelines"):
        compiled = compile_pipelines(run, dist, echo)
    run.serving_repo.mkdir(parents=True, exist_ok=True)
    with timer.stage("4/7 start the local MLServer (suite runtime)"):
        server = start_mlserver(run.serving_repo)
        echo(f"    V2 endpoint {server.http_url}, Prometheus metrics {server.metrics_url}")
    try:
        arguments = local_arguments(run, server.http_url)
        with timer.stage("5/7 training pipeline (compiled YAML on kfp.local)"):
            facts["training"] = run_pipeline(
                run,
                compiled["training"],
                {**arguments, "train_start": run.day0_start, "train_end": run.day0_end},
                "training",
                echo,
            )
        with timer.stage(f"6/7 append {run.day0_end} .. {run.monitor_end} ({run.scenario})"):
            facts["monitored"] = append_period(
                run, run.day0_end, run.monitor_end, run.scenario, echo
            )
            prepare_feature_store(run, run.monitor_end, echo)
        with timer.stage("7/7 monitoring pipeline: drift check -> retrain if drifted"):
            facts["monitoring"] = run_pipeline(
                run,
                compiled["monitoring"],
                {
                    **arguments,
                    "window_start": run.day0_end,
                    "window_end": run.monitor_end,
                    "retrain_start": run.retrain_start,
                    "retrain_end": run.monitor_end,
                    "drift_checks": list(run.drift_checks),
                },
                "monitoring",
                echo,
            )
        facts["served"] = summary.query_served_model(server.http_url, run)
    finally:
        server.stop()
    facts["stage_seconds"] = timer.seconds
    return facts
