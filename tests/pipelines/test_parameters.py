"""The pipelines' parameters: one declaration, core-config defaults, nothing dropped on retrain."""

from __future__ import annotations

import inspect

import pytest
import yaml

from components.check_drift.core import DriftParams
from components.estimate_performance.core import EstimationParams
from components.evaluate_model.core import GateConfig
from components.join_labels.core import LabelJoinParams
from components.train_model.core import TrainConfig
from pipelines.config import PipelineConfig
from pipelines.parameters import (
    RETRAIN_RENAMES,
    monitoring_parameters,
    training_parameters,
)


@pytest.fixture(scope="module")
def config() -> PipelineConfig:
    return PipelineConfig.from_repo()


@pytest.fixture(scope="module")
def compiled_monitoring(tmp_path_factory, config) -> dict:
    from kfp import compiler

    from pipelines.monitoring import build_monitoring_pipeline

    path = tmp_path_factory.mktemp("dist") / "monitoring.yaml"
    compiler.Compiler().compile(build_monitoring_pipeline(config), str(path))
    return next(yaml.safe_load_all(path.read_text()))


def test_retrain_branch_receives_every_training_parameter(compiled_monitoring, config):
    """The compiled retrain sub-pipeline gets each training parameter from the parent's input.

    Proves: every parameter of the training pipeline (from its declaration) is an input
    of the retrain task, bound to the monitoring pipeline's parameter of the same name
    (the training window renamed to the retrain window) — the check that caught
    `primary_metric`, `threshold`, `slice_feature` and `serving_atol` being dropped.
    Cannot prove the sub-pipeline uses each one (the training pipeline's own tests do).
    """
    training = [p.name for p in training_parameters(config, "0")]
    components = compiled_monitoring["components"]

    def conditions(tasks: dict) -> list[dict]:
        return [components[t["componentRef"]["name"]] for n, t in tasks.items() if "condition" in n]

    def holds_retrain(branch: dict) -> bool:
        return any("condition" in name for name in branch["dag"]["tasks"])

    # One branch per window source, each with its retrain branch (the shadow comparison's
    # branch holds no retrain).
    sources = [
        b for b in conditions(compiled_monitoring["root"]["dag"]["tasks"]) if holds_retrain(b)
    ]
    assert len(sources) == 2
    parent_inputs = set(compiled_monitoring["root"]["inputDefinitions"]["parameters"])
    for source_branch in sources:
        (branch,) = conditions(source_branch["dag"]["tasks"])
        (retrain,) = branch["dag"]["tasks"].values()
        bound = {
            name: spec["componentInputParameter"]
            for name, spec in retrain["inputs"]["parameters"].items()
        }
        assert set(bound) == set(training)
        for name in training:
            source = bound[name].removeprefix("pipelinechannel--")
            assert source == RETRAIN_RENAMES.get(name, name)
            assert source in parent_inputs


def test_pipeline_defaults_are_the_core_defaults(config):
    """Each tuning default of both pipelines is the core config's default.

    Proves: the gate (GateConfig), the training (TrainConfig) and the drift check
    (DriftParams) defaults are the ones the components' core code uses, so a pipeline
    run and a direct core call agree (the 0.0 vs 0.005 tolerance and 200 vs 500
    sample-size disagreements cannot come back). Cannot prove the defaults suit data.
    """
    params = {p.name: p.default for p in monitoring_parameters(config, "0")}
    gate, train, drift = GateConfig(), TrainConfig(), DriftParams()
    estimation, join = EstimationParams(), LabelJoinParams()
    assert params["window_source"] == "feature_store"
    assert params["prediction_log"] == config.cluster.prediction_log
    assert params["label_join"] == join.by
    assert params["label_max_delay"] == join.max_delay
    assert params["prediction_time_column"] == join.prediction_time_column
    assert params["min_labelled_rows"] == join.min_labelled_rows
    assert params["max_holdout_ece"] == estimation.max_holdout_ece
    assert params["estimation_samples"] == estimation.samples
    assert params["retrain_policy"] == "performance"
    assert params["tolerance"] == gate.tolerance
    assert params["min_roc_auc"] == gate.min_roc_auc
    assert params["max_brier"] == gate.max_brier
    assert params["threshold"] == gate.threshold
    assert params["primary_metric"] == gate.primary_metric
    assert params["holdout_fraction"] == train.holdout_fraction
    assert params["model_type"] == train.model_type
    assert params["seed"] == train.seed
    assert params["drift_min_sample_size"] == drift.min_sample_size
    assert params["drift_alpha"] == drift.alpha
    assert params["drift_correction"] == drift.correction
    assert params["drift_checks"] == list(drift.checks)
    assert params["performance_tolerance"] == drift.performance_tolerance
    assert params["slice_features"] == list(config.suite.slice_features)
    assert params["min_slice_rows"] == gate.min_slice_rows
    assert params["slice_margin"] == gate.slice_margin
    assert params["bootstrap_samples"] == gate.bootstrap_samples
    assert params["max_slice_auc_gap"] == gate.max_slice_auc_gap
    assert params["require_approval"] is False
    assert params["registered_model_name"] == config.suite.model_name


@pytest.mark.parametrize(
    ("component", "core_defaults", "names"),
    [
        ("evaluate_model", GateConfig(), ["min_roc_auc", "max_brier", "tolerance", "threshold"]),
        ("train_model", TrainConfig(), ["model_type", "holdout_fraction", "seed"]),
        (
            "check_drift",
            DriftParams(),
            ["alpha", "correction", "min_sample_size", "psi_threshold", "performance_tolerance"],
        ),
        ("estimate_performance", EstimationParams(), ["threshold", "max_holdout_ece", "samples"]),
        (
            "join_labels",
            LabelJoinParams(),
            ["max_delay", "prediction_time_column", "min_labelled_rows", "bootstrap_samples"],
        ),
        ("decide_retrain", GateConfig(), ["tolerance"]),
    ],
)
def test_component_defaults_are_the_core_defaults(component, core_defaults, names):
    """A component called on its own defaults to what its core config says.

    Proves: the wrapper's literal defaults (KFP needs literals in the decorated
    signature) equal the core dataclass defaults. Cannot prove anything about values
    the pipeline passes (the test above does).
    """
    import importlib

    module = importlib.import_module(f"components.{component}.component")
    func = getattr(module, component).python_func
    defaults = {n: p.default for n, p in inspect.signature(func).parameters.items()}
    for name in names:
        assert defaults[name] == getattr(core_defaults, name), name


def test_pipeline_names_come_from_the_repo(config):
    """The pipeline names are the repo's prefix, not a literal.

    Proves: `<pipeline_prefix>-training` / `-monitoring` from suite.yaml. Cannot prove
    a KFP server accepts the name (kfp_client tests cover the upload call).
    """
    from pipelines.monitoring import build_monitoring_pipeline
    from pipelines.training import build_training_pipeline

    renamed = config.replace(suite=config.suite.__class__(**{
        **{f: getattr(config.suite, f) for f in config.suite.__dataclass_fields__},
        "pipeline_prefix": "loans",
    }))  # fmt: skip
    assert build_training_pipeline(renamed).name == "loans-training"
    assert build_monitoring_pipeline(renamed).name == "loans-monitoring"
