"""Monitoring pipeline factory: drift check -> retrain when drift is found.

get_features (recent window) -> validate_data (drift is not a data-quality failure,
but a broken batch still stops the run) -> check_drift (against the champion's
reference) -> dsl.If(drift_detected) -> the training pipeline as a nested
sub-pipeline on a window that includes the recent data -> gate -> register -> serve.

The retrain sub-pipeline receives every training parameter (see
`pipelines.parameters`). The branch uses one `dsl.If` and no `dsl.Else`: kfp.local
runs both branches of an If/Else (see CONVENTIONS.md). The sub-pipeline takes parameters only.

Note: no `from __future__ import annotations` here: KFP reads the pipeline
function's annotations at runtime.
"""

import functools
from typing import Any

from components._version import suite_version
from pipelines.config import PipelineConfig
from pipelines.parameters import (
    monitoring_parameters,
    pipeline_function,
    retrain_arguments,
    training_parameters,
)
from pipelines.training import (
    add_validated_window,
    build_training_pipeline,
    metrics_push,
    with_cluster_settings,
)


def build_monitoring_pipeline(config: PipelineConfig, name: str = ""):
    """Builds the versioned monitoring pipeline of a feature repo.

    Args:
        config: Roles, contract and cluster defaults (see `PipelineConfig`).
        name: Pipeline name; default ``<pipeline_prefix>-monitoring``.

    Returns:
        The KFP pipeline (a GraphComponent) to compile or schedule.
    """
    from kfp import dsl

    version = suite_version()
    name = name or config.monitoring_name
    retrain = build_training_pipeline(config, name=f"{name}-retrain")
    doc = (
        f"{config.suite.model_name} monitoring {version}: recent window -> GX validation -> "
        "alibi-detect drift check against the champion's reference -> retrain, gate, "
        "register and deploy when drift is found."
    )
    body = functools.partial(
        add_monitoring_tasks, config, retrain, training_parameters(config, version)
    )
    return dsl.pipeline(name=name, description=doc)(
        pipeline_function("monitoring", doc, monitoring_parameters(config, version), body)
    )


def add_monitoring_tasks(
    config: PipelineConfig, retrain: Any, training: list, p: dict[str, Any]
) -> None:
    """Adds the monitoring tasks (and the retrain branch) to the pipeline being built.

    Args:
        config: Roles and whether to attach Kubernetes settings.
        retrain: The training pipeline, used as the retrain sub-pipeline.
        training: The training pipeline's parameters (all are passed to `retrain`).
        p: Pipeline parameter name -> channel (`monitoring_parameters`).
    """
    from kfp import dsl

    from components.check_drift import check_drift

    suite = config.suite
    window, validation = add_validated_window(
        config, p, p["window_start"], p["window_end"], on_failure="schema"
    )

    drift = check_drift(
        current=window.outputs["features"],
        tracking_uri=p["tracking_uri"],
        model_name=p["registered_model_name"],
        label_column=suite.label,
        entity_column=suite.entity_key,
        timestamp_column=suite.timestamp,
        alpha=p["drift_alpha"],
        correction=p["drift_correction"],
        min_sample_size=p["drift_min_sample_size"],
        psi_threshold=p["drift_psi_threshold"],
        min_psi=p["drift_min_psi"],
        min_distance=p["drift_min_distance"],
        persistence_k=p["drift_persistence_k"],
        persistence_m=p["drift_persistence_m"],
        cooldown_windows=p["drift_cooldown_windows"],
        checks=p["drift_checks"],
        performance_tolerance=p["performance_tolerance"],
        seed=p["seed"],
        **metrics_push(p),
    ).after(validation)
    with_cluster_settings(config, drift, "service")

    with dsl.If(drift.outputs["Output"] == True, name="drift-detected"):  # noqa: E712
        retrain(**retrain_arguments(p, training))
