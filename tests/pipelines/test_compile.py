"""Compile-everything checks: every component and both pipelines compile, versioned.

These prove the compiled YAML is well formed for KFP 2.17, carries the suite version
in its file name, description and every image tag, and has the control flow the
design asks for. They cannot prove a KFP backend accepts or runs it (no cluster here);
`test_lifecycle.py` runs the same YAML through kfp.local.
"""

import importlib
import re

import pytest
import yaml
from kfp import compiler, components

from components._images import COMPONENT_GROUPS
from components._version import suite_version
from pipelines.compile import compile_all
from pipelines.config import PipelineConfig


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    return compile_all(tmp_path_factory.mktemp("dist"))


def _documents(path):
    with open(path, encoding="utf-8") as fh:
        return list(yaml.safe_load_all(fh))


def _images(spec):
    executors = spec["deploymentSpec"]["executors"]
    return {e["container"]["image"] for e in executors.values()}


@pytest.mark.parametrize("name", sorted(COMPONENT_GROUPS))
def test_every_component_compiles_alone(name, tmp_path):
    """Each component compiles on its own into its group's versioned image.

    Cannot prove: that the image exists in a registry.
    """
    component = getattr(importlib.import_module(f"components.{name}.component"), name)
    out = tmp_path / f"{name}.yaml"
    compiler.Compiler().compile(component, str(out))
    spec = _documents(out)[0]
    (image,) = _images(spec)
    assert image.endswith(f"/suite-{COMPONENT_GROUPS[name]}:{suite_version()}")


def test_pipelines_compile_to_versioned_files(compiled):
    """Both pipelines land in dist/<pipeline>-<version>.yaml with the version inside.

    Cannot prove: the KFP backend's own validation beyond the SDK's.
    """
    version = suite_version()
    assert {p.name for p in compiled.values()} == {
        f"training-{version}.yaml",
        f"monitoring-{version}.yaml",
    }
    for path in compiled.values():
        spec = _documents(path)[0]
        assert version in spec["pipelineInfo"]["description"]
        images = _images(spec)
        assert images, path
        assert all(image.endswith(f":{version}") for image in images), images
        assert not any(":latest" in image for image in images)


def test_training_gate_guards_registration_and_deploy(compiled):
    """register, validate_serving and deploy sit inside the If on the gate's single output.

    Proves the structure; running it (blessed and not blessed) is test_lifecycle's job.
    """
    spec = _documents(compiled["training"])[0]
    root_tasks = spec["root"]["dag"]["tasks"]
    condition = next(t for n, t in root_tasks.items() if n.startswith("condition"))
    expression = condition["triggerPolicy"]["condition"]
    assert "evaluate-model-Output" in expression
    inner = spec["components"][condition["componentRef"]["name"]]["dag"]["tasks"]
    assert {"register-model", "validate-serving", "deploy-model"} <= set(inner)
    assert not {"register-model", "deploy-model"} & set(root_tasks)
    assert "validate-data" in root_tasks["train-model"]["dependentTasks"]


def test_challenger_rollout_reaches_only_the_challenger_deploy(compiled):
    """``challenger_rollout`` (default canary) is bound to the blessed challenger's deploy.

    Proves: the training pipeline exposes ``challenger_rollout`` defaulting to "canary"
    (today's behaviour); the deploy-model task under the gate takes its ``rollout`` from
    it, while the next-run promotion (deploy-model-2) binds no rollout, so it keeps the
    component's canary default (a promotion is never a shadow). Cannot prove the shadow
    rollout itself (tests/unit/deploy_model runs it).
    """
    spec = _documents(compiled["training"])[0]
    defaults = spec["root"]["inputDefinitions"]["parameters"]
    assert defaults["challenger_rollout"]["defaultValue"] == "canary"
    root_tasks = spec["root"]["dag"]["tasks"]
    condition = next(t for n, t in root_tasks.items() if n.startswith("condition"))
    inner = spec["components"][condition["componentRef"]["name"]]["dag"]["tasks"]
    bound = inner["deploy-model"]["inputs"]["parameters"]["rollout"]
    assert bound["componentInputParameter"].endswith("challenger_rollout")
    assert "rollout" not in root_tasks["deploy-model-2"]["inputs"]["parameters"]


def test_monitoring_retrains_in_a_nested_pipeline_under_one_if(compiled):
    """Per window source one If, inside it the retrain under If(decide_retrain); no Else.

    Proves: the two window-source branches are complementary (== and != on
    window_source), each runs check_drift, estimate_performance, join_labels and
    decide_retrain, and the retrain condition reads decide_retrain's single output,
    not check_drift's. Cannot prove: runtime behaviour (see test_lifecycle).
    """
    spec = _documents(compiled["monitoring"])[0]
    root_tasks = spec["root"]["dag"]["tasks"]
    sources = [
        t
        for n, t in root_tasks.items()
        if n.startswith("condition") and "window_source" in t["triggerPolicy"]["condition"]
    ]
    expressions = sorted(t["triggerPolicy"]["condition"] for t in sources)
    assert len(sources) == 2
    assert ["!=" in e for e in expressions].count(True) == 1
    assert ["==" in e for e in expressions].count(True) == 1
    for source in sources:
        tasks = spec["components"][source["componentRef"]["name"]]["dag"]["tasks"]
        names = {re.sub(r"-\d+$", "", n) for n in tasks}  # the second branch's are "-2"
        assert {"check-drift", "estimate-performance", "join-labels", "decide-retrain"} <= names
        (condition,) = [t for n, t in tasks.items() if n.startswith("condition")]
        expression = condition["triggerPolicy"]["condition"]
        assert re.search(r"decide-retrain(-\d+)?-Output", expression), expression
        assert "check-drift" not in expression
        inner = spec["components"][condition["componentRef"]["name"]]["dag"]["tasks"]
        (retrain,) = inner.values()
        nested = spec["components"][retrain["componentRef"]["name"]]["dag"]["tasks"]
        assert {"get-features", "validate-data", "train-model", "evaluate-model"} <= set(nested)


def test_shadow_comparison_runs_only_under_its_parameter(compiled):
    """compare_shadow sits alone under If(shadow_compare), off by default.

    Proves: the compiled monitoring pipeline has one root condition on ``shadow_compare``
    holding exactly the compare-shadow task, whose minimum labels come from the
    ``shadow_min_labels`` parameter and the ROC AUC tolerance from the gate's
    ``tolerance``; the parameter defaults to false. Cannot prove: runtime behaviour
    (tests/unit/compare_shadow runs the step's core on real stores).
    """
    spec = _documents(compiled["monitoring"])[0]
    root_tasks = spec["root"]["dag"]["tasks"]
    (branch,) = [
        t
        for n, t in root_tasks.items()
        if n.startswith("condition") and "shadow_compare" in t["triggerPolicy"]["condition"]
    ]
    assert branch["triggerPolicy"]["condition"].endswith("== true")
    tasks = spec["components"][branch["componentRef"]["name"]]["dag"]["tasks"]
    assert list(tasks) == ["compare-shadow"]
    bound = tasks["compare-shadow"]["inputs"]["parameters"]
    assert bound["min_labels"]["componentInputParameter"].endswith("shadow_min_labels")
    assert bound["auc_tolerance"]["componentInputParameter"].endswith("tolerance")
    defaults = spec["root"]["inputDefinitions"]["parameters"]
    assert defaults["shadow_compare"]["defaultValue"] is False


def test_every_knob_is_a_pipeline_parameter(compiled):
    """The loaded-back YAML exposes the knobs a user turns, with the contract embedded.

    Cannot prove: that each default suits every dataset.
    """
    training = components.load_component_from_file(str(compiled["training"]))
    inputs = set(training.component_spec.inputs)
    assert {
        "feature_service",
        "train_start",
        "train_end",
        "model_type",
        "hyperparameters",
        "search_trials",
        "seed",
        "min_roc_auc",
        "tolerance",
        "tracking_uri",
        "deploy_target",
        "canary_percent",
        "data_contract",
    } <= inputs
    contract = training.component_spec.inputs["data_contract"].default
    assert contract == PipelineConfig.from_repo().contract
