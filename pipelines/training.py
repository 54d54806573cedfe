"""Training pipeline factory.

get_features -> validate_data -> train_model -> evaluate_model -> dsl.If(blessed) ->
register_model (alias ``challenger``) -> validate_serving -> deploy_model (canary; moves
``champion`` only after the rollout is promoted).

`build_training_pipeline(config)` returns a KFP pipeline whose every knob is a
pipeline parameter; the config supplies the defaults. Nothing is read from the
environment or the network here.

Note: no `from __future__ import annotations` here: KFP reads the pipeline
function's annotations at runtime.
"""

from typing import TYPE_CHECKING

from components._version import suite_version
from pipelines.config import PipelineConfig

if TYPE_CHECKING:
    from kfp.dsl import PipelineTask

TRAINING_PIPELINE_NAME = "churn-training"


def with_cluster_settings(
    config: PipelineConfig,
    task: "PipelineTask",
    kind: str,
    cache: bool | None = None,
    retries: int | None = None,
) -> "PipelineTask":
    """Attaches the Kubernetes settings of a step kind when the config asks for them.

    Args:
        config: The pipeline config (`kubernetes` switches this on).
        task: A task inside a pipeline function.
        kind: Step kind, see `pipelines.k8s.PROFILES`.
        cache: Overrides the kind's caching choice.
        retries: Overrides the kind's retry count.

    Returns:
        The same task.
    """
    if config.kubernetes:
        from pipelines.k8s import apply_cluster_settings

        apply_cluster_settings(task, kind=kind, cache=cache, retries=retries)
    return task


def build_training_pipeline(config: PipelineConfig, name: str = TRAINING_PIPELINE_NAME):
    """Builds the versioned training pipeline.

    Args:
        config: Contract, column roles and cluster defaults (see `PipelineConfig`).
        name: Pipeline name (also the KFP pipeline the version is uploaded to).

    Returns:
        The KFP pipeline (a GraphComponent): compile it, or call it inside another
        pipeline as a sub-pipeline (parameters only; see CONVENTIONS.md).
    """
    from kfp import dsl

    from components.deploy_model import deploy_model
    from components.evaluate_model import evaluate_model
    from components.get_features import get_features
    from components.register_model import register_model
    from components.train_model import train_model
    from components.validate_data import validate_data
    from components.validate_serving import validate_serving

    version = suite_version()
    cluster = config.cluster
    contract = config.contract
    categorical = list(config.categorical_features)

    @dsl.pipeline(
        name=name,
        description=(
            f"Churn training {version}: Feast features -> GX validation -> train -> "
            "champion/challenger gate -> MLflow registry -> MLServer validation -> canary deploy."
        ),
    )
    def training(
        feature_repo: str = cluster.feature_repo,
        entity_source: str = cluster.entity_source,
        feature_service: str = config.feature_service,
        train_start: str = "",
        train_end: str = "",
        data_contract: dict = contract,
        validation_now: str = "",
        tracking_uri: str = cluster.tracking_uri,
        experiment_name: str = "churn",
        registered_model_name: str = config.registered_model_name,
        model_type: str = "xgboost",
        hyperparameters: dict = {},  # noqa: B006 (a KFP parameter default, never mutated)
        search_trials: int = 0,
        holdout_fraction: float = 0.2,
        seed: int = 42,
        min_roc_auc: float = 0.6,
        max_brier: float = 0.25,
        primary_metric: str = "roc_auc",
        tolerance: float = 0.005,
        threshold: float = 0.5,
        slice_feature: str = "plan",
        serving_atol: float = 1e-6,
        deploy_target: str = cluster.deploy_target,
        serving_namespace: str = cluster.serving_namespace,
        canary_percent: int = 10,
        canary_observe_seconds: float = 120.0,
        local_serving_url: str = "http://127.0.0.1:8080",
        local_serving_repo: str = "data/serving",
        pushgateway_url: str = "",
        suite_version: str = version,
    ):
        features = get_features(
            feature_repo=feature_repo,
            feature_service=feature_service,
            entity_source=entity_source,
            start=train_start,
            end=train_end,
        ).set_display_name("get-features")
        with_cluster_settings(config, features, "data", cache=False)

        validation = validate_data(
            data=features.outputs["features"],
            contract=data_contract,
            on_failure="fail",
            now=validation_now,
            pushgateway_url=pushgateway_url,
            pipeline_run=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
        )
        with_cluster_settings(config, validation, "data", cache=False)

        training_task = train_model(
            training_data=features.outputs["features"],
            tracking_uri=tracking_uri,
            experiment_name=experiment_name,
            model_type=model_type,
            hyperparameters=hyperparameters,
            search_trials=search_trials,
            holdout_fraction=holdout_fraction,
            seed=seed,
            label_column=config.label,
            timestamp_column=config.timestamp,
            entity_column=config.entity_key,
            categorical_features=categorical,
            feature_service=feature_service,
            suite_version=suite_version,
        ).after(validation)
        with_cluster_settings(config, training_task, "train", cache=False)

        evaluation = evaluate_model(
            model=training_task.outputs["model"],
            holdout=training_task.outputs["holdout"],
            tracking_uri=tracking_uri,
            registered_model_name=registered_model_name,
            min_roc_auc=min_roc_auc,
            max_brier=max_brier,
            primary_metric=primary_metric,
            tolerance=tolerance,
            threshold=threshold,
            slice_feature=slice_feature,
            pushgateway_url=pushgateway_url,
            pipeline_run=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
        )
        with_cluster_settings(config, evaluation, "service")

        with dsl.If(evaluation.outputs["Output"] == True, name="blessed"):  # noqa: E712 (KFP condition)
            registration = register_model(
                model=training_task.outputs["model"],
                evaluation=evaluation.outputs["evaluation"],
                tracking_uri=tracking_uri,
                registered_model_name=registered_model_name,
                promote=False,
            )
            with_cluster_settings(config, registration, "service")

            serving_check = validate_serving(
                model_uri=registration.outputs["Output"],
                holdout=training_task.outputs["holdout"],
                tracking_uri=tracking_uri,
                atol=serving_atol,
            )
            # A wrong answer or a failed load is a verdict, not a blip: no retries.
            with_cluster_settings(config, serving_check, "service", retries=0)

            deployment = deploy_model(
                model_uri=registration.outputs["Output"],
                target=deploy_target,
                tracking_uri=tracking_uri,
                served_name=registered_model_name,
                namespace=serving_namespace,
                canary_percent=canary_percent,
                observe_seconds=canary_observe_seconds,
                local_url=local_serving_url,
                local_repo=local_serving_repo,
                pushgateway_url=pushgateway_url,
                pipeline_run=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
            ).after(serving_check)
            # A rollback is a verdict; retrying would roll the canary out again.
            with_cluster_settings(config, deployment, "deploy", retries=0)

    return training
