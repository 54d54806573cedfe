"""Monitoring pipeline: window -> drift, estimated and realized performance -> retrain policy.

The current window is either Feast point-in-time features of labelled rows
(``window_source=feature_store``: get_features -> validate_data; drift is not a
data-quality failure, but a broken batch still stops the run) or what the served
model was asked (``prediction_log``: get_live_window). On either: check_drift
(against the champion's reference), estimate_performance (CBPE, no labels),
join_labels (delayed labels -> realized performance) -> decide_retrain (the retrain
policy of `components._retrain_policy`) -> dsl.If(retrain) -> the training pipeline
as a nested sub-pipeline on a window that includes the recent data -> gate ->
register -> serve.

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
        f"{config.suite.model_name} monitoring {version}: recent window (Feast or the "
        "prediction log) -> alibi-detect drift check, label-free performance estimate, "
        "delayed-label realized performance -> retrain policy -> retrain, gate, register "
        "and deploy when the policy says so."
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

    The current window comes from the feature store or from the prediction log
    (``window_source``). kfp.local cannot join two conditional branches into one
    input (``dsl.OneOf`` needs If/Else, and Else runs both branches locally), so each
    source gets its own complementary ``dsl.If`` holding the same checks.

    Args:
        config: Roles and whether to attach Kubernetes settings.
        retrain: The training pipeline, used as the retrain sub-pipeline.
        training: The training pipeline's parameters (all are passed to `retrain`).
        p: Pipeline parameter name -> channel (`monitoring_parameters`).
    """
    from kfp import dsl

    from components.get_live_window.component import get_live_window

    suite = config.suite
    with dsl.If(p["window_source"] == "feature_store", name="window-feature-store"):
        window, validation = add_validated_window(
            config, p, p["window_start"], p["window_end"], on_failure="schema"
        )
        add_window_checks(config, retrain, training, p, window.outputs["features"], validation)
    # Every other value, so an unknown one fails loudly in get_live_window.
    with dsl.If(p["window_source"] != "feature_store", name="window-prediction-log"):
        live = get_live_window(
            prediction_log=p["prediction_log"],
            start=p["window_start"],
            end=p["window_end"],
            model_name=p["registered_model_name"],
            model_version=p["window_model_version"],
            entity_column=suite.entity_key,
            time_column=suite.timestamp,
            window_source=p["window_source"],
        )
        with_cluster_settings(config, live, "data")
        add_window_checks(config, retrain, training, p, live.outputs["window"], live)
    add_shadow_comparison(config, p)


def add_shadow_comparison(config: PipelineConfig, p: dict[str, Any]) -> None:
    """Adds compare_shadow under ``shadow_compare`` (off by default).

    It reads both answers from the prediction log over the window (or, without shadow
    answers, has the challenger score the champion's logged inputs: the KServe path),
    joins the labels that arrived, and promotes the challenger when the paired test
    says it is better; the gate's ``tolerance`` bounds how much ROC AUC it may lose.

    Args:
        config: Roles and whether to attach Kubernetes settings.
        p: Pipeline parameter name -> channel.
    """
    from kfp import dsl

    from components.compare_shadow.component import compare_shadow

    with dsl.If(p["shadow_compare"] == True, name="shadow-compare"):  # noqa: E712
        shadow = compare_shadow(
            prediction_log=p["prediction_log"],
            window_start=p["window_start"],
            window_end=p["window_end"],
            label_source=p["entity_source"],
            feature_repo=p["feature_repo"],
            tracking_uri=p["tracking_uri"],
            model_name=p["registered_model_name"],
            min_labels=p["shadow_min_labels"],
            bootstrap_samples=p["shadow_bootstrap_samples"],
            auc_tolerance=p["tolerance"],
            join_by=p["label_join"],
            max_delay=p["label_max_delay"],
            prediction_time_column=p["prediction_time_column"],
            require_approval=p["require_approval"],
            seed=p["seed"],
            pipeline_run=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
        )
        with_cluster_settings(config, shadow, "service")


def add_window_checks(
    config: PipelineConfig,
    retrain: Any,
    training: list,
    p: dict[str, Any],
    window: Any,
    after: Any,
) -> None:
    """Adds drift check, performance estimate, label join, retrain decision and retrain.

    Args:
        config: Roles and whether to attach Kubernetes settings.
        retrain: The retrain sub-pipeline.
        training: The training pipeline's parameters.
        p: Pipeline parameter name -> channel.
        window: The window Dataset channel (features; labels or served outputs).
        after: The task the checks wait for (validation, or the window read).
    """
    from kfp import dsl

    from components.check_drift.component import check_drift
    from components.decide_retrain.component import decide_retrain
    from components.estimate_performance.component import estimate_performance
    from components.join_labels.component import join_labels

    suite = config.suite
    drift = check_drift(
        current=window,
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
    ).after(after)
    with_cluster_settings(config, drift, "service")

    score_column = f"{suite.label}_probability"
    estimate = estimate_performance(
        window=window,
        tracking_uri=p["tracking_uri"],
        model_name=p["registered_model_name"],
        threshold=p["threshold"],
        max_holdout_ece=p["max_holdout_ece"],
        samples=p["estimation_samples"],
        seed=p["seed"],
        score_column=score_column,
    ).after(after)
    with_cluster_settings(config, estimate, "service")

    realized = join_labels(
        window=window,
        label_source=p["entity_source"],
        feature_repo=p["feature_repo"],
        tracking_uri=p["tracking_uri"],
        model_name=p["registered_model_name"],
        join_by=p["label_join"],
        max_delay=p["label_max_delay"],
        prediction_time_column=p["prediction_time_column"],
        min_labelled_rows=p["min_labelled_rows"],
        bootstrap_samples=p["bootstrap_samples"],
        seed=p["seed"],
        score_column=score_column,
    ).after(estimate)
    with_cluster_settings(config, realized, "service")

    decision = decide_retrain(
        drift_detected=drift.outputs["Output"],
        estimate=estimate.outputs["report_json"],
        realized=realized.outputs["report_json"],
        retrain_policy=p["retrain_policy"],
        metric=p["primary_metric"],
        tolerance=p["tolerance"],
    )
    with_cluster_settings(config, decision, "service")

    with dsl.If(decision.outputs["Output"] == True, name="retrain"):  # noqa: E712
        retrain(**retrain_arguments(p, training))
