"""`make run`: the whole lifecycle on this machine, through the compiled pipelines.

Stages: generate day-0 data -> apply + materialize the Feast repo -> start the local
MLServer -> compile -> run the compiled training YAML through kfp.local -> append a
later period with a drift scenario -> replay that period's requests to the served
model over V2 REST (the prediction log records the answers) -> run the compiled
monitoring YAML on the prediction log (drift check, estimated then realized
performance with the period's labels joined by entity and time, the retrain policy,
retrain when it says so) -> summary, ending with real V2 requests to the served model.
Everything lives under one data directory (git-ignored).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.config import PipelineConfig
from pipelines.repo_runs import (
    Echo,
    StageTimer,
    Workspace,
    local_server,
    prepare_repo,
    run_pipeline,
)
from pipelines.repo_runs import local_arguments as repo_arguments
from pipelines.traffic import Replay, replay_period

__all__ = [
    "LocalRunConfig",
    "StageTimer",
    "append_period",
    "compile_pipelines",
    "generate_day0",
    "local_arguments",
    "prepare_feature_store",
    "run_lifecycle",
    "run_pipeline",
]


@dataclass(frozen=True)
class LocalRunConfig(Workspace):
    """The embedded defaults of `make run`; every field is a command-line option.

    A `Workspace` (its paths live under `data_dir`) with the churn story's settings.

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
        window_source: Where monitoring reads its window: ``prediction_log`` (the
            replayed traffic's answers) or ``feature_store``.
        retrain_policy: ``performance``, ``drift`` or ``drift_or_performance``.
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
    window_source: str = "prediction_log"
    retrain_policy: str = "performance"

    @property
    def sources(self) -> Path:
        """Parquet sources Feast reads."""
        return self.root / "sources"


def local_arguments(run: LocalRunConfig, served_url: str) -> dict[str, Any]:
    """Pipeline parameters that point a compiled pipeline at this machine's backends."""
    return {
        **repo_arguments(run, run.sources / "labels.parquet", served_url, run.seed),
        "model_type": run.model_type,
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
    from components._feast import DEFAULT_REPO

    prepare_repo(run, DEFAULT_REPO, run.sources, end_time, echo)


def compile_pipelines(run: LocalRunConfig, dist: Path, echo: Echo) -> dict[str, Path]:
    """Compiles both pipelines to `dist/` (the same release artifacts `make compile` makes)."""
    from pipelines.compile import compile_all

    written = compile_all(dist, PipelineConfig.from_repo())
    for path in written.values():
        echo(f"    {path}")
    return written


def run_lifecycle(run: LocalRunConfig, dist: Path = Path("dist"), echo: Echo = print) -> dict:
    """Runs the whole local story and returns what the summary reports.

    Args:
        run: Embedded defaults or command-line overrides.
        dist: Where the compiled pipelines go.
        echo: Progress output.

    Returns:
        The facts the summary prints (see `pipelines.summary`).
    """
    from pipelines import summary

    timer = StageTimer(echo)
    facts: dict[str, Any] = {"run": run}
    run.data_dir.mkdir(parents=True, exist_ok=True)
    with timer.stage(f"1/8 generate day-0 data {run.day0_start} .. {run.day0_end}"):
        facts["day0"] = generate_day0(run, echo)
    with timer.stage("2/8 apply the Feast repo and materialize the online store"):
        prepare_feature_store(run, run.day0_end, echo)
    with timer.stage("3/8 compile the pipelines"):
        compiled = compile_pipelines(run, dist, echo)
    with contextlib.ExitStack() as stack:
        with timer.stage("4/8 start the local MLServer (suite runtime)"):
            server = stack.enter_context(local_server(run, echo))
        arguments = local_arguments(run, server.http_url)
        with timer.stage("5/8 training pipeline (compiled YAML on kfp.local)"):
            facts["training"] = run_pipeline(
                run,
                compiled["training"],
                {**arguments, "train_start": run.day0_start, "train_end": run.day0_end},
                "training",
                echo,
            )
        with timer.stage(f"6/8 append {run.day0_end} .. {run.monitor_end} ({run.scenario})"):
            facts["monitored"] = append_period(
                run, run.day0_end, run.monitor_end, run.scenario, echo
            )
            prepare_feature_store(run, run.monitor_end, echo)
        window = {"window_source": run.window_source}
        window.update(window_start=run.day0_end, window_end=run.monitor_end)
        if run.window_source == "prediction_log":
            with timer.stage("7/8 replay the monitored period's requests to the served model"):
                replay = replay_period(
                    run.feature_repo,
                    run.sources / "labels.parquet",
                    server.http_url,
                    run.predictions,
                    run.day0_end,
                    run.monitor_end,
                    echo=echo,
                )
            facts["replay"] = replay
            window = live_window_arguments(run, replay)
        with timer.stage("8/8 monitoring pipeline: drift, performance -> retrain policy"):
            facts["monitoring"] = run_pipeline(
                run,
                compiled["monitoring"],
                {
                    **arguments,
                    **window,
                    "retrain_start": run.retrain_start,
                    "retrain_end": run.monitor_end,
                    "drift_checks": list(run.drift_checks),
                    "retrain_policy": run.retrain_policy,
                },
                "monitoring",
                echo,
            )
        facts["served"] = summary.query_served_model(server.http_url, run.feature_repo)
    facts["stage_seconds"] = timer.seconds
    return facts


def live_window_arguments(run: LocalRunConfig, replay: Replay) -> dict[str, Any]:
    """Monitoring parameters that read the replayed traffic from the prediction log.

    The window is the replay's answer-time range; labels join on the business time
    each request carried under the repo's timestamp name (see `pipelines.traffic`).
    """
    from components._suite import load_suite_config

    return {
        "window_source": "prediction_log",
        "prediction_log": str(run.predictions),
        "window_start": replay.window_start,
        "window_end": replay.window_end,
        "prediction_time_column": load_suite_config(run.feature_repo).timestamp,
    }
