"""Durable drift-alarm history per registered model, in MLflow.

Choice: one MLflow experiment per registered model, ``drift-history/<model name>``,
and one run per checked window. The run's tags say which champion version was
checked (``suite.drift.model_version``) and what the window found
(``suite.drift.window_alarm``, ``suite.drift.raw_alarm``,
``suite.drift.governed_alarm``, ``suite.drift.status``); its metrics are the
report's metrics. MLflow is already the suite's durable store on both targets
(sqlite locally, the MLflow server on the cluster), the runs are browsable in the
MLflow UI, and concurrent monitoring runs each add a run without a lock.

Persistence counts windows of the *same champion version* only, so a retrain
starts a fresh history. The cooldown reads the champion's audit records
(`components._governance.audit_history`): the latest ``set_alias champion``
record that ``replaced`` another version is the retrain; windows recorded for
this version since then are the windows since the retrain.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components import _governance as gov
from components._contract import finite_metrics
from components._mlflow import ALIAS_CHAMPION, ensure_experiment

if TYPE_CHECKING:
    from mlflow import MlflowClient

HISTORY_EXPERIMENT_PREFIX = "drift-history/"
TAG_MODEL_NAME = "suite.drift.model_name"
TAG_MODEL_VERSION = "suite.drift.model_version"
TAG_WINDOW_ALARM = "suite.drift.window_alarm"
TAG_RAW_ALARM = "suite.drift.raw_alarm"
TAG_GOVERNED_ALARM = "suite.drift.governed_alarm"
TAG_STATUS = "suite.drift.status"
TAG_PIPELINE_RUN = "suite.pipeline_run_id"


@dataclass(frozen=True)
class AlarmHistory:
    """Earlier windows of one champion version, as governance needs them.

    Attributes:
        prior_alarms: Window alarms of earlier windows, most recent first.
        retrained_at: When this champion replaced another one (None: it did not,
            e.g. the first champion, so no cooldown applies).
        windows_since_retrain: Earlier windows checked against this champion.
        champion_version: Registry version the history belongs to.
        location: Where the history is stored (for the report).
    """

    prior_alarms: tuple[bool, ...] = ()
    retrained_at: str | None = None
    windows_since_retrain: int = 0
    champion_version: str | None = None
    location: str = ""


def history_experiment(model_name: str) -> str:
    """Name of the experiment holding `model_name`'s drift windows."""
    return f"{HISTORY_EXPERIMENT_PREFIX}{model_name}"


def retrain_time(tags: dict[str, str]) -> str | None:
    """When this version became champion by replacing another one, from its audit records.

    Args:
        tags: The model version's tags.

    Returns:
        The ISO time of the latest ``set_alias champion`` record with a ``replaced``
        version, or None (first champion, or no audit records).
    """
    moves = [
        r
        for r in gov.audit_history(tags)
        if r.get("action") == "set_alias" and r.get("alias") == ALIAS_CHAMPION
    ]
    if not moves or not moves[-1].get("replaced"):
        return None
    return str(moves[-1]["at"])


def load_history(
    client: MlflowClient, model_name: str, version: str, lookback: int, skip_status: str = ""
) -> AlarmHistory:
    """Reads the earlier windows of one champion version.

    Args:
        client: MLflow client.
        model_name: Registered model name.
        version: The champion version being checked.
        lookback: How many earlier windows are needed (the larger of
            ``persistence_m - 1`` and ``cooldown_windows``).
        skip_status: Windows recorded with this status do not count (no decision).
    """
    experiment = client.get_experiment_by_name(history_experiment(model_name))
    mv = client.get_model_version(model_name, version)
    retrained_at = retrain_time(mv.tags)
    location = f"mlflow experiment {history_experiment(model_name)!r}"
    if experiment is None or lookback <= 0:
        return AlarmHistory((), retrained_at, 0, version, location)
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=(
            f"tags.`{TAG_MODEL_NAME}` = '{model_name}' and tags.`{TAG_MODEL_VERSION}` = "
            f"'{version}' and tags.`{TAG_STATUS}` != '{skip_status}'"
        ),
        order_by=["attributes.start_time DESC"],
        max_results=lookback,
    )
    alarms = tuple(r.data.tags.get(TAG_WINDOW_ALARM) == "true" for r in runs)
    return AlarmHistory(alarms, retrained_at, len(alarms), version, location)


def record_window(
    client: MlflowClient,
    model_name: str,
    version: str,
    report: Any,
    pipeline_run: str = "",
) -> str:
    """Adds one checked window to the history; returns the MLflow run id.

    Args:
        client: MLflow client.
        model_name: Registered model name.
        version: Champion version that was checked.
        report: The window's `DriftReport` (with its governance record).
        pipeline_run: Pipeline run that checked it ("" = none).
    """
    experiment_id = ensure_experiment(client, history_experiment(model_name))
    g = report.governance
    tags = {
        TAG_MODEL_NAME: model_name,
        TAG_MODEL_VERSION: str(version),
        TAG_STATUS: report.status,
        TAG_WINDOW_ALARM: str(bool(g and g.window_alarm)).lower(),
        TAG_RAW_ALARM: str(bool(g and g.raw_alarm)).lower(),
        TAG_GOVERNED_ALARM: str(report.drift_detected).lower(),
    }
    if pipeline_run:
        tags[TAG_PIPELINE_RUN] = pipeline_run
    from mlflow.entities import Metric

    run = client.create_run(experiment_id, tags=tags, run_name=f"v{version}-{report.status}")
    now = int(time.time() * 1000)
    metrics = [Metric(k, v, now, 0) for k, v in finite_metrics(report.metrics()).items()]
    for start in range(0, len(metrics), 500):
        client.log_batch(run.info.run_id, metrics=metrics[start : start + 500])
    client.set_terminated(run.info.run_id)
    return run.info.run_id
