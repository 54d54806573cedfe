"""The pipelines' parameters, declared once, with every default taken from the core configs.

A KFP pipeline's parameters are its function's signature. The training and the
monitoring pipeline share most of theirs (the monitoring pipeline hands every
training parameter to its retrain sub-pipeline), so the parameters are declared
here as data and `pipeline_function` builds each pipeline function's signature
from them. The monitoring pipeline's parameters are its own plus *all* of the
training pipeline's (the training window renamed to the retrain window): nothing
can be dropped on the way to the retrain branch.

Defaults are read from the dataclasses and functions the components run
(`TrainConfig`, `GateConfig`, `DriftParams`, `DeployRequest`, `CanaryPolicy`,
`validate_serving`), so a pipeline and a component called on its own agree.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from pipelines.config import PipelineConfig

# Training parameters the monitoring pipeline exposes under another name.
RETRAIN_RENAMES = {"train_start": "retrain_start", "train_end": "retrain_end"}


def _param(name: str, annotation: type, default: Any) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation, default=default
    )


def _default(func: Callable, name: str) -> Any:
    return inspect.signature(func).parameters[name].default


def training_parameters(config: PipelineConfig, version: str) -> list[inspect.Parameter]:
    """Returns the training pipeline's parameters with their defaults.

    Args:
        config: The feature repo's roles, contract and cluster defaults.
        version: The suite version (default of ``suite_version``).
    """
    from components.deploy_model.canary import CanaryPolicy
    from components.deploy_model.core import DeployRequest
    from components.evaluate_model.core import GateConfig
    from components.train_model.core import TrainConfig
    from components.validate_serving.core import ServingConfig

    suite, cluster = config.suite, config.cluster
    train, gate, canary = TrainConfig(), GateConfig(), CanaryPolicy()
    return [
        _param("feature_repo", str, cluster.feature_repo),
        _param("entity_source", str, cluster.entity_source.format(model=suite.model_name)),
        _param("feature_service", str, suite.feature_service),
        _param("train_start", str, ""),
        _param("train_end", str, ""),
        _param("data_contract", dict, config.contract),
        _param("validation_now", str, ""),
        _param("tracking_uri", str, cluster.tracking_uri),
        _param("experiment_name", str, suite.experiment_name),
        _param("registered_model_name", str, suite.model_name),
        _param("model_type", str, train.model_type),
        _param("hyperparameters", dict, dict(train.hyperparameters)),
        _param("search_trials", int, train.search_trials),
        _param("holdout_fraction", float, train.holdout_fraction),
        _param("seed", int, train.seed),
        _param("min_roc_auc", float, gate.min_roc_auc),
        _param("max_brier", float, gate.max_brier),
        _param("primary_metric", str, gate.primary_metric),
        _param("tolerance", float, gate.tolerance),
        _param("threshold", float, gate.threshold),
        _param("slice_features", list, list(suite.slice_features)),
        _param("min_slice_rows", int, gate.min_slice_rows),
        _param("slice_margin", float, gate.slice_margin),
        _param("max_demographic_parity_difference", float, gate.max_demographic_parity_difference),
        _param("max_equalized_odds_difference", float, gate.max_equalized_odds_difference),
        _param("max_slice_auc_gap", float, gate.max_slice_auc_gap),
        _param("bootstrap_samples", int, gate.bootstrap_samples),
        # A blessed, serving-validated version waits as `challenger` for a person's approval.
        _param("require_approval", bool, False),
        _param("serving_atol", float, _default(ServingConfig, "atol")),
        _param("deploy_target", str, cluster.deploy_target),
        _param("serving_namespace", str, cluster.serving_namespace),
        _param("canary_percent", int, DeployRequest.__dataclass_fields__["canary_percent"].default),
        _param("canary_observe_seconds", float, canary.observe_s),
        # canary (promote the blessed challenger) or shadow (serve it beside the champion,
        # move no alias; the monitoring pipeline's compare_shadow decides).
        _param("challenger_rollout", str, DeployRequest.rollout),
        _param("local_serving_url", str, "http://127.0.0.1:8080"),
        _param("local_serving_repo", str, "data/serving"),
        # Prometheus Pushgateway for the steps' gauges; "" = $SUITE_PUSHGATEWAY_URL or off.
        _param("pushgateway_url", str, ""),
        _param("suite_version", str, version),
    ]


def monitoring_parameters(config: PipelineConfig, version: str) -> list[inspect.Parameter]:
    """Returns the monitoring pipeline's parameters: its own, then every training one.

    Args:
        config: The feature repo's roles, contract and cluster defaults.
        version: The suite version.
    """
    from components._retrain_policy import decide_retrain
    from components.check_drift.core import DriftParams
    from components.compare_shadow.core import ShadowConfig
    from components.estimate_performance.core import EstimationParams
    from components.join_labels.core import LabelJoinParams

    drift, estimation, join = DriftParams(), EstimationParams(), LabelJoinParams()
    shadow = ShadowConfig()
    own = [
        _param("window_start", str, ""),
        _param("window_end", str, ""),
        # feature_store (labelled rows through Feast) or prediction_log (what was served).
        _param("window_source", str, "feature_store"),
        _param("prediction_log", str, config.cluster.prediction_log),
        _param("window_model_version", str, ""),
        _param("label_join", str, join.by),
        _param("label_max_delay", str, join.max_delay),
        _param("prediction_time_column", str, join.prediction_time_column),
        _param("min_labelled_rows", int, join.min_labelled_rows),
        _param("max_holdout_ece", float, estimation.max_holdout_ece),
        _param("estimation_samples", int, estimation.samples),
        _param("retrain_policy", str, _default(decide_retrain, "policy")),
        _param("drift_alpha", float, drift.alpha),
        _param("drift_correction", str, drift.correction),
        _param("drift_min_sample_size", int, drift.min_sample_size),
        _param("drift_psi_threshold", float, drift.psi_threshold),
        _param("drift_min_psi", float, drift.min_psi),
        _param("drift_min_distance", float, drift.min_distance),
        _param("drift_persistence_k", int, drift.persistence_k),
        _param("drift_persistence_m", int, drift.persistence_m),
        _param("drift_cooldown_windows", int, drift.cooldown_windows),
        _param("drift_checks", list, list(drift.checks)),
        # Compare the shadow challenger with the champion on the window's labelled requests
        # (and promote it when it wins); off by default.
        _param("shadow_compare", bool, False),
        _param("shadow_min_labels", int, shadow.min_labels),
        _param("shadow_bootstrap_samples", int, shadow.bootstrap_samples),
        _param("performance_tolerance", float, drift.performance_tolerance),
    ]
    shared = [
        p.replace(name=RETRAIN_RENAMES.get(p.name, p.name))
        for p in training_parameters(config, version)
    ]
    # Required (no default) parameters must come first in a signature; none exist here.
    return [*shared[:3], *own, *shared[3:]]


def retrain_arguments(values: dict[str, Any], training: list[inspect.Parameter]) -> dict:
    """Maps the monitoring pipeline's values to every parameter of the training pipeline.

    Args:
        values: Monitoring parameter name -> value (pipeline channels at compile time).
        training: The training pipeline's parameters.

    Raises:
        KeyError: If a training parameter has no monitoring counterpart.
    """
    return {p.name: values[RETRAIN_RENAMES.get(p.name, p.name)] for p in training}


def pipeline_function(
    name: str, doc: str, parameters: list[inspect.Parameter], body: Callable[[dict], None]
) -> Callable:
    """Returns a function KFP can decorate as a pipeline, whose signature is `parameters`.

    KFP reads a pipeline's inputs with `inspect.signature` and calls the function
    with one channel per parameter, in signature order; the function hands them to
    `body` as a name -> channel mapping.

    Args:
        name: The function's name.
        doc: Its docstring (KFP shows it as the pipeline description).
        parameters: Its parameters, with annotations and defaults.
        body: Builds the pipeline's tasks from the parameter channels.
    """
    names = [p.name for p in parameters]

    def pipeline(*args: Any) -> None:
        body(dict(zip(names, args, strict=True)))

    pipeline.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    pipeline.__name__ = pipeline.__qualname__ = name
    pipeline.__doc__ = doc
    pipeline.__annotations__ = {p.name: p.annotation for p in parameters}
    return pipeline
