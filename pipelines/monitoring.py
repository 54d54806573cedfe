"""Monitoring pipeline factory: drift check -> retrain when drift is found.

get_features (recent window) -> validate_data (drift is not a data-quality failure,
but a broken batch still stops the run) -> check_drift (against the champion's
reference) -> dsl.If(drift_detected) -> the training pipeline as a nested
sub-pipeline on a window that includes the recent data -> gate -> register -> serve.

The branch uses one `dsl.If` and no `dsl.Else`: kfp.local runs both branches of an
If/Else (see CONVENTIONS.md). The sub-pipeline takes parameters only.

Note: no `from __future__ import annotations` here: KFP reads the pipeline
function's annotations at runtime.
"""

from components._version import suite_version
from pipelines.config import PipelineConfig
from pipelines.training import build_training_pipeline, with_cluster_settings

MONITORING_PIPELINE_NAME = "churn-monitoring"


def build_monitoring_pipeline(config: PipelineConfig, name: str = MONITORING_PIPELINE_NAME):
    """Builds the versioned monitoring pipeline.

    Args:
        config: Contract, column roles and cluster defaults (see `PipelineConfig`).
        name: Pipeline name.

    Returns:
        The KFP pipeline (a GraphComponent) to compile or schedule.
    """
    from kfp import dsl

    from components.check_drift import check_drift
    from components.get_features import get_features
    from components.validate_data import validate_data

    version = suite_version()
    cluster = config.cluster
    retrain = build_training_pipeline(config, name=f"{name}-retrain")

    @dsl.pipeline(
        name=name,
        description=(
            f"Churn monitoring {version}: recent window -> GX validation -> alibi-detect drift "
            "check against the champion's reference -> retrain, gate, register and deploy "
            "when drift is found."
        ),
    )
    def monitoring(
        feature_repo: str = cluster.feature_repo,
        entity_source: str = cluster.entity_source,
        feature_service: str = config.feature_service,
        window_start: str = "",
        window_end: str = "",
        data_contract: dict = config.contract,
        validation_now: str = "",
        tracking_uri: str = cluster.tracking_uri,
        registered_model_name: str = config.registered_model_name,
        drift_alpha: float = 0.05,
        drift_correction: str = "bonferroni",
        drift_min_sample_size: int = 500,
        drift_psi_threshold: float = 0.2,
        drift_checks: list = ["feature", "psi", "prediction", "performance"],  # noqa: B006
        performance_tolerance: float = 0.05,
        retrain_start: str = "",
        retrain_end: str = "",
        experiment_name: str = "churn",
        model_type: str = "xgboost",
        hyperparameters: dict = {},  # noqa: B006 (a KFP parameter default, never mutated)
        search_trials: int = 0,
        holdout_fraction: float = 0.2,
        seed: int = 42,
        min_roc_auc: float = 0.6,
        max_brier: float = 0.25,
        tolerance: float = 0.005,
        deploy_target: str = cluster.deploy_target,
        serving_namespace: str = cluster.serving_namespace,
        canary_percent: int = 10,
        canary_observe_seconds: float = 120.0,
        local_serving_url: str = "http://127.0.0.1:8080",
        local_serving_repo: str = "data/serving",
        pushgateway_url: str = "",
        suite_version: str = version,
    ):
        window = get_features(
            feature_repo=feature_repo,
            feature_service=feature_service,
            entity_source=entity_source,
            start=window_start,
            end=window_end,
        )
        with_cluster_settings(config, window, "data", cache=False)

        validation = validate_data(
            data=window.outputs["features"],
            contract=data_contract,
            on_failure="schema",
            now=validation_now,
            pushgateway_url=pushgateway_url,
            pipeline_run=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
        )
        with_cluster_settings(config, validation, "data", cache=False)

        drift = check_drift(
            current=window.outputs["features"],
            tracking_uri=tracking_uri,
            model_name=registered_model_name,
            alpha=drift_alpha,
            correction=drift_correction,
            min_sample_size=drift_min_sample_size,
            psi_threshold=drift_psi_threshold,
            checks=drift_checks,
            performance_tolerance=performance_tolerance,
            seed=seed,
            pushgateway_url=pushgateway_url,
            pipeline_run=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
        ).after(validation)
        with_cluster_settings(config, drift, "service")

        with dsl.If(drift.outputs["Output"] == True, name="drift-detected"):  # noqa: E712
            retrain(
                feature_repo=feature_repo,
                entity_source=entity_source,
                feature_service=feature_service,
                train_start=retrain_start,
                train_end=retrain_end,
                data_contract=data_contract,
                validation_now=validation_now,
                tracking_uri=tracking_uri,
                experiment_name=experiment_name,
                registered_model_name=registered_model_name,
                model_type=model_type,
                hyperparameters=hyperparameters,
                search_trials=search_trials,
                holdout_fraction=holdout_fraction,
                seed=seed,
                min_roc_auc=min_roc_auc,
                max_brier=max_brier,
                tolerance=tolerance,
                deploy_target=deploy_target,
                serving_namespace=serving_namespace,
                canary_percent=canary_percent,
                canary_observe_seconds=canary_observe_seconds,
                local_serving_url=local_serving_url,
                local_serving_repo=local_serving_repo,
                pushgateway_url=pushgateway_url,
                suite_version=suite_version,
            )

    return monitoring
