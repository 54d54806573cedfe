"""Training pipeline factory.

get_features -> validate_data -> train_model -> evaluate_model -> dsl.If(blessed) ->
register_model (alias ``challenger``) -> validate_serving -> deploy_model (canary; moves
``champion`` only after the rollout is promoted; with ``challenger_rollout="shadow"`` the
challenger serves in shadow beside the champion and no alias moves). With
``require_approval`` the run first promotes the previous run's approved waiting challenger
(``promote-approved-challenger``, a deploy_model step that does nothing otherwise), before
evaluate_model gates the new model.

`build_training_pipeline(config)` returns a KFP pipeline whose every knob is a
pipeline parameter (declared once in `pipelines.parameters`, defaults from the
core configs); the feature repo's roles come from the config. Nothing is read from the
environment or the network here.

Note: no `from __future__ import annotations` here: KFP reads the pipeline
function's annotations at runtime.
"""

import functools
from typing import TYPE_CHECKING, Any

from components._version import suite_version
from pipelines.config import PipelineConfig
from pipelines.parameters import pipeline_function, training_parameters

if TYPE_CHECKING:
    from kfp.dsl import PipelineTask


def with_cluster_settings(
    config: PipelineConfig,
    task: "PipelineTask",
    kind: str,
    retries: int | None = None,
) -> "PipelineTask":
    """Attaches the Kubernetes settings of a step kind when the config asks for them.

    Args:
        config: The pipeline config (`kubernetes` switches this on).
        task: A task inside a pipeline function.
        kind: Step kind, see `pipelines.k8s.PROFILES`.
        retries: Overrides the kind's retry count.

    Returns:
        The same task.
    """
    if config.kubernetes:
        from pipelines.k8s import apply_cluster_settings

        apply_cluster_settings(task, kind=kind, retries=retries)
    return task


def build_training_pipeline(config: PipelineConfig, name: str = ""):
    """Builds the versioned training pipeline of a feature repo.

    Args:
        config: Roles, contract and cluster defaults (see `PipelineConfig`).
        name: Pipeline name; default ``<pipeline_prefix>-training``.

    Returns:
        The KFP pipeline (a GraphComponent): compile it, or call it inside another
        pipeline as a sub-pipeline (parameters only; see CONVENTIONS.md).
    """
    from kfp import dsl

    version = suite_version()
    parameters = training_parameters(config, version)
    doc = (
        f"{config.suite.model_name} training {version}: Feast features "
        f"({config.suite.feature_service}) -> GX validation -> train -> champion/challenger "
        "gate -> MLflow registry -> MLServer validation -> canary deploy."
    )
    body = functools.partial(add_training_tasks, config)
    return dsl.pipeline(name=name or config.training_name, description=doc)(
        pipeline_function("training", doc, parameters, body)
    )


def metrics_push(p: dict[str, Any]) -> dict[str, Any]:
    """Arguments that make a verdict step push its gauges (see `components._observability`)."""
    from kfp import dsl

    return {
        "pushgateway_url": p["pushgateway_url"],
        "pipeline_run": dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
    }


def deploy_arguments(p: dict[str, Any]) -> dict[str, Any]:
    """deploy_model's arguments from the pipeline parameters, all but what it deploys."""
    return {
        "target": p["deploy_target"],
        "tracking_uri": p["tracking_uri"],
        "served_name": p["registered_model_name"],
        "namespace": p["serving_namespace"],
        "canary_percent": p["canary_percent"],
        "observe_seconds": p["canary_observe_seconds"],
        "local_url": p["local_serving_url"],
        "local_repo": p["local_serving_repo"],
        "require_approval": p["require_approval"],
        **metrics_push(p),
    }


def add_validated_window(
    config: PipelineConfig, p: dict[str, Any], start: Any, end: Any, on_failure: str
) -> tuple["PipelineTask", "PipelineTask"]:
    """Adds get_features for a label window and validate_data of what it returned.

    Args:
        config: Whether to attach Kubernetes settings.
        p: Pipeline parameter name -> channel.
        start: Window start channel.
        end: Window end channel.
        on_failure: validate_data's mode (``fail`` for training, ``schema`` for monitoring).

    Returns:
        The get_features task and the validate_data task.
    """
    from components.get_features.component import get_features
    from components.validate_data.component import validate_data

    features = get_features(
        feature_repo=p["feature_repo"],
        feature_service=p["feature_service"],
        entity_source=p["entity_source"],
        start=start,
        end=end,
    ).set_display_name("get-features")
    with_cluster_settings(config, features, "data")
    validation = validate_data(
        data=features.outputs["features"],
        contract=p["data_contract"],
        on_failure=on_failure,
        now=p["validation_now"],
        **metrics_push(p),
    )
    with_cluster_settings(config, validation, "data")
    return features, validation


def add_training_tasks(config: PipelineConfig, p: dict[str, Any]) -> None:
    """Adds the training tasks to the pipeline being built.

    Args:
        config: Roles (label, entity key, timestamp, categorical overrides) and
            whether to attach Kubernetes settings.
        p: Pipeline parameter name -> channel (`training_parameters`).
    """
    from kfp import dsl

    from components.deploy_model.component import deploy_model
    from components.evaluate_model.component import evaluate_model
    from components.register_model.component import register_model
    from components.train_model.component import train_model
    from components.validate_serving.component import validate_serving

    suite = config.suite
    features, validation = add_validated_window(
        config, p, p["train_start"], p["train_end"], on_failure="fail"
    )

    training_task = train_model(
        training_data=features.outputs["features"],
        label_column=suite.label,
        timestamp_column=suite.timestamp,
        entity_column=suite.entity_key,
        tracking_uri=p["tracking_uri"],
        experiment_name=p["experiment_name"],
        model_type=p["model_type"],
        hyperparameters=p["hyperparameters"],
        search_trials=p["search_trials"],
        holdout_fraction=p["holdout_fraction"],
        seed=p["seed"],
        categorical_features=list(suite.categorical_features),
        feature_service=p["feature_service"],
        suite_version=p["suite_version"],
        data_contract=p["data_contract"],
    ).after(validation)
    with_cluster_settings(config, training_task, "train")

    evaluation = evaluate_model(
        model=training_task.outputs["model"],
        holdout=training_task.outputs["holdout"],
        tracking_uri=p["tracking_uri"],
        registered_model_name=p["registered_model_name"],
        min_roc_auc=p["min_roc_auc"],
        max_brier=p["max_brier"],
        primary_metric=p["primary_metric"],
        tolerance=p["tolerance"],
        threshold=p["threshold"],
        slice_features=p["slice_features"],
        min_slice_rows=p["min_slice_rows"],
        slice_margin=p["slice_margin"],
        max_demographic_parity_difference=p["max_demographic_parity_difference"],
        max_equalized_odds_difference=p["max_equalized_odds_difference"],
        max_slice_auc_gap=p["max_slice_auc_gap"],
        bootstrap_samples=p["bootstrap_samples"],
        **metrics_push(p),
    )
    with_cluster_settings(config, evaluation, "service")

    with dsl.If(evaluation.outputs["Output"] == True, name="blessed"):  # noqa: E712 (KFP condition)
        registration = register_model(
            model=training_task.outputs["model"],
            evaluation=evaluation.outputs["evaluation"],
            tracking_uri=p["tracking_uri"],
            registered_model_name=p["registered_model_name"],
            promote=False,
        )
        with_cluster_settings(config, registration, "service")

        serving_check = validate_serving(
            model_uri=registration.outputs["Output"],
            holdout=training_task.outputs["holdout"],
            tracking_uri=p["tracking_uri"],
            atol=p["serving_atol"],
        )
        # A wrong answer or a failed load is a verdict, not a blip: no retries.
        with_cluster_settings(config, serving_check, "service", retries=0)

        # The blessed challenger goes out as a canary or in shadow (challenger_rollout);
        # the next-run promotion below is always a canary.
        deployment = deploy_model(
            model_uri=registration.outputs["Output"],
            rollout=p["challenger_rollout"],
            **deploy_arguments(p),
        ).after(serving_check)
        # A rollback is a verdict; retrying would roll the canary out again.
        with_cluster_settings(config, deployment, "deploy", retries=0)

    # With require_approval, the previous run's approved challenger is promoted before the
    # gate, so this run's model is gated against it (the step does nothing otherwise).
    # Created last so the task in the If keeps the name deploy-model (this one is
    # deploy-model-2); the dependency, not the creation order, makes it run first.
    waiting = deploy_model(
        model_uri="", waiting_challenger_of=p["registered_model_name"], **deploy_arguments(p)
    ).set_display_name("promote-approved-challenger")
    with_cluster_settings(config, waiting, "deploy", retries=0)
    evaluation.after(waiting)
