"""pipelines.k8s: the Kubernetes settings reach the compiled YAML and local runs survive them.

A tiny pipeline (one step of each kind) is compiled with the real KFP compiler,
the YAML is read back, and the same compiled file is run with
`kfp.local.SubprocessRunner(use_venv=False)`. No cluster here: nothing proves that
Argo honours the retry policy, that the Secrets exist or that the limits are
enforced; `tests/manifests/` checks the ConfigMap keys exist in the manifests.
"""

import pytest
import yaml
from kfp import compiler, dsl, local
from kfp.components import load_component_from_file

from pipelines.k8s import (
    ALERTS_KEYS,
    ALERTS_SECRET,
    ENDPOINT_KEYS,
    ENDPOINTS_CONFIG_MAP,
    POD_LABEL,
    PROFILES,
    SECRET_KEYS,
    apply_cluster_settings,
)

KINDS = ("data", "train", "service", "deploy")


@dsl.component(base_image="python:3.11.14-slim-bookworm", install_kfp_package=False)
def read_env(name: str) -> str:
    """Returns the value of one environment variable inside the task, or ``<unset>``."""
    import os

    return os.environ.get(name, "<unset>")


@dsl.pipeline(name="k8s-settings-probe")
def probe(name: str = "MLFLOW_TRACKING_URI") -> str:
    """One step of each kind, in sequence; returns what the last one saw."""
    previous = None
    for kind in KINDS:
        task = read_env(name=name)
        task.set_display_name(kind)
        if previous is not None:
            task.after(previous)
        apply_cluster_settings(task, kind=kind)
        previous = task
    return previous.output


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    path = tmp_path_factory.mktemp("compiled") / "probe.yaml"
    compiler.Compiler().compile(probe, str(path))
    return path


@pytest.fixture(scope="module")
def docs(compiled):
    pipeline_spec, platform_spec = yaml.safe_load_all(compiled.read_text(encoding="utf-8"))
    return pipeline_spec, platform_spec


def _task_names_by_kind(pipeline_spec):
    tasks = pipeline_spec["root"]["dag"]["tasks"]
    return {task["taskInfo"]["name"]: name for name, task in tasks.items()}


def test_resources_retries_and_caching_follow_the_step_kind(docs):
    """Proves each task's requests/limits and retryPolicy match PROFILES, caching off.

    Cannot prove the cluster schedules the pod with them (no cluster here).
    """
    pipeline_spec, _ = docs
    tasks = pipeline_spec["root"]["dag"]["tasks"]
    executors = pipeline_spec["deploymentSpec"]["executors"]
    for kind, task_name in _task_names_by_kind(pipeline_spec).items():
        profile = PROFILES[kind]
        task = tasks[task_name]
        resources = executors[task["componentRef"]["name"].replace("comp-", "exec-")]["container"][
            "resources"
        ]
        assert resources["resourceCpuRequest"] == profile.cpu_request
        assert resources["resourceCpuLimit"] == profile.cpu_limit
        assert resources["resourceMemoryRequest"] == profile.memory_request
        assert resources["resourceMemoryLimit"] == profile.memory_limit
        assert task["cachingOptions"].get("enableCache", False) is False, kind
        if profile.retries:
            assert task["retryPolicy"] == {
                "maxRetryCount": profile.retries,
                "backoffDuration": "30s",
                "backoffFactor": 2.0,
                "backoffMaxDuration": "600s",
            }
        else:
            assert "retryPolicy" not in task, kind


def test_platform_spec_injects_endpoints_and_only_the_needed_secrets(docs):
    """Proves every step gets the endpoints ConfigMap and exactly its kind's Secrets.

    Besides its kind's required Secrets (none for the deploy step), every step gets the
    webhook Secret `suite-alerts`, optional (absent = notifications off). Cannot prove
    the Secrets exist in the cluster (`make secrets` / `make cluster-observability`
    create them) or that kubelet injects them.
    """
    pipeline_spec, platform_spec = docs
    executors = platform_spec["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    tasks = pipeline_spec["root"]["dag"]["tasks"]
    for kind, task_name in _task_names_by_kind(pipeline_spec).items():
        config = executors[tasks[task_name]["componentRef"]["name"].replace("comp-", "exec-")]
        (config_map,) = config["configMapAsEnv"]
        assert config_map["configMapName"] == ENDPOINTS_CONFIG_MAP
        assert {item["envVar"] for item in config_map["keyToEnv"]} == set(ENDPOINT_KEYS)
        assert config_map["optional"] is False
        secrets = {entry["secretName"]: entry for entry in config.get("secretAsEnv", [])}
        alerts = secrets.pop(ALERTS_SECRET)
        assert [item["secretKey"] for item in alerts["keyToEnv"]] == list(ALERTS_KEYS)
        assert alerts["optional"] is True
        assert set(secrets) == set(PROFILES[kind].secrets), kind
        for name, entry in secrets.items():
            assert [item["secretKey"] for item in entry["keyToEnv"]] == list(SECRET_KEYS[name])
            assert entry["optional"] is False
        assert config["imagePullPolicy"] == "IfNotPresent"
        assert config["podMetadata"]["labels"] == {POD_LABEL: kind}


def test_compiled_pipeline_still_runs_locally_with_env_from_the_caller(
    compiled, tmp_path, monkeypatch
):
    """Proves kfp.local tolerates the Kubernetes platform config, retries and resources.

    The compiled YAML (not the Python function) runs under SubprocessRunner; the
    tasks see the caller's environment, which is how local runs get their
    endpoints. Cannot prove anything about a cluster run.
    """
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///local-probe.db")
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))
    pipeline = load_component_from_file(str(compiled))
    assert pipeline(name="MLFLOW_TRACKING_URI").output == "sqlite:///local-probe.db"


def test_retries_override_and_caching_stays_off(tmp_path):
    """Proves `retries=` overrides the kind's default and caching is off in the compiled YAML.

    Cannot prove Argo honours them on a cluster.
    """

    @dsl.pipeline(name="k8s-override-probe")
    def overridden():
        task = read_env(name="X")
        apply_cluster_settings(task, kind="data", retries=2)

    path = tmp_path / "overridden.yaml"
    compiler.Compiler().compile(overridden, str(path))
    pipeline_spec, _ = yaml.safe_load_all(path.read_text(encoding="utf-8"))
    (task,) = pipeline_spec["root"]["dag"]["tasks"].values()
    assert task["cachingOptions"] == {}
    assert task["retryPolicy"]["maxRetryCount"] == 2


def test_unknown_kind_is_rejected_with_the_known_kinds():
    """Proves a typo in the kind fails when the pipeline is defined and names the valid kinds.

    Cannot prove the chosen kind is the right one for a step.
    """
    with pytest.raises(ValueError, match="unknown step kind 'gpu'") as error:

        @dsl.pipeline(name="k8s-bad-kind")
        def bad():
            apply_cluster_settings(read_env(name="X"), kind="gpu")

    assert "['data', 'deploy', 'service', 'train']" in str(error.value)


def test_negative_retries_are_rejected():
    """Proves a negative retry count is refused instead of silently compiling.

    Cannot prove a given retry count suits a service's failure modes.
    """
    with pytest.raises(ValueError, match="retries must be >= 0"):

        @dsl.pipeline(name="k8s-bad-retries")
        def bad():
            apply_cluster_settings(read_env(name="X"), kind="service", retries=-1)
