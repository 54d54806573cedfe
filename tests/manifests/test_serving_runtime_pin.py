"""Every serving target runs the suite MLServer runtime, on the models it is given.

The Seldon Server and the KServe ServingRuntime are built from manifests/ with
`kubectl kustomize`; what Seldon adds to the Server's pod is the `mlserver` container of
ServerConfig `mlserver` in Seldon Core 2 v2.10.2's k8s/yaml/components.yaml (copied
below, the fields that matter), merged the way its operator merges a Server's podSpec
(operator/controllers/reconcilers/common/patch_utils.go: fields of the override win,
env is appended). The model-settings that the Seldon agent writes for a Model with
`requirements: [mlflow]` is the JSON of scheduler/pkg/agent/repository/mlserver/settings.go
at the same tag. MLServer's own settings and repository classes (the lock's 1.7.1) then
decide which runtime class loads. What this cannot prove: that the operator, agent and
kubelet behave as read from their source, or that the pod starts (no cluster here).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path

import pytest
from mlserver.repository.factory import ModelRepositoryFactory
from mlserver.settings import Settings

from components._serving.settings import RUNTIME_IMPLEMENTATION, model_settings

REPO = Path(__file__).resolve().parents[2]
# ServerConfig mlserver, container mlserver (k8s/yaml/components.yaml, v2.10.2): no
# command or args, so the image's CMD runs.
SELDON_MLSERVER_ENV = [
    {"name": "MLSERVER_PARALLEL_WORKERS", "value": "1"},
    {"name": "MLSERVER_DEBUG", "value": "false"},
    {"name": "MLSERVER_HTTP_PORT", "value": "9000"},
    {"name": "MLSERVER_GRPC_PORT", "value": "9500"},
    {"name": "MLSERVER_MODELS_DIR", "value": "/mnt/agent/models"},
    {"name": "MLSERVER_LOAD_MODELS_AT_STARTUP", "value": "false"},
    {"name": "MLSERVER_GRPC_MAX_MESSAGE_LENGTH", "value": "1048576000"},
]
# What the agent writes into a model folder without model-settings.json (createMLFlowModelSettings,
# then updateNameAndVersion), for Model churn at version 1.
AGENT_MLFLOW_SETTINGS = {
    "name": "churn",
    "implementation": "mlserver_mlflow.MLflowRuntime",
    "parameters": {"uri": "./", "version": "1"},
}


def _image_cmd() -> list[str]:
    """The serve target's CMD in the Dockerfile (exec form)."""
    stage = re.search(
        r"(?ms)^FROM \S+ AS serve$(.*?)(?=^FROM |\Z)", (REPO / "Dockerfile").read_text()
    )
    assert stage, "no serve stage in the Dockerfile"
    (cmd,) = re.findall(r"(?m)^CMD (\[.*\])$", stage.group(1))
    return json.loads(cmd)


def _seldon_mlserver_container(built) -> dict:
    """The Server's mlserver container after Seldon's merge with ServerConfig mlserver."""
    (server,) = [o for o in built(REPO / "manifests" / "serving-seldon") if o["kind"] == "Server"]
    (override,) = [c for c in server["spec"]["podSpec"]["containers"] if c["name"] == "mlserver"]
    merged = {"name": "mlserver", "env": list(SELDON_MLSERVER_ENV)}
    for key, value in override.items():
        merged[key] = merged.get(key, []) + value if key == "env" else value
    return merged


def _expand(argv: list[str], env: dict[str, str]) -> list[str]:
    """The kubelet's $(VAR) expansion of command and args."""
    return [re.sub(r"\$\((\w+)\)", lambda m: env.get(m.group(1), m.group(0)), a) for a in argv]


def _env(container: dict) -> dict[str, str]:
    """Container env as the process sees it (a later duplicate wins, as in Kubernetes)."""
    return {item["name"]: item["value"] for item in container.get("env", []) if "value" in item}


def _argv(container: dict) -> list[str]:
    if "command" in container:
        return _expand(container["command"] + container.get("args", []), _env(container))
    return _expand(container.get("args") or _image_cmd(), _env(container))


def test_seldon_server_starts_mlserver_on_the_agent_models_dir(built):
    """Proves the suite Server's MLServer serves $MLSERVER_MODELS_DIR (/mnt/agent/models).

    That is where Seldon's agent puts the models it loads; the image's own CMD serves
    /mnt/models, which the Server never fills. Cannot prove the pod starts.
    """
    container = _seldon_mlserver_container(built)
    assert _env(container)["MLSERVER_MODELS_DIR"] == "/mnt/agent/models"
    assert _argv(container) == ["mlserver", "start", "/mnt/agent/models"]


def test_without_a_command_the_server_would_serve_the_image_default(built):
    """Proves the check above is not vacuous: with only the image set, MLServer serves /mnt/models.

    Cannot prove more than the Dockerfile says about the image's CMD.
    """
    container = _seldon_mlserver_container(built)
    container.pop("command", None)
    container.pop("args", None)
    assert _argv(container) == ["mlserver", "start", "/mnt/models"]


def _loaded(root: Path, env: dict[str, str], name: str, monkeypatch) -> list:
    """The model settings MLServer's repository gives `name` under `env`, rooted at `root`."""
    for key in [k for k in os.environ if k.startswith("MLSERVER_")]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings()
    settings.model_repository_root = str(root)  # what `mlserver start <root>` does
    repository = ModelRepositoryFactory.resolve_model_repository(settings)
    return asyncio.run(repository.find(name))


def _mlflow_folder(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "MLmodel").write_text("flavors: {python_function: {loader_module: mlflow.sklearn}}\n")
    return path


def test_seldon_runs_the_suite_runtime_despite_the_agent_model_settings(
    built, tmp_path, monkeypatch
):
    """Proves a Model the agent set up for mlserver_mlflow.MLflowRuntime loads the suite runtime.

    Uses MLServer's real settings and repository classes with the Server's merged env
    and the agent's model-settings.json. Cannot prove the agent writes exactly that JSON
    on every version (read from v2.10.2's source).
    """
    models = tmp_path / "mnt" / "agent" / "models"
    folder = _mlflow_folder(models / "churn_1")
    (folder / "model-settings.json").write_text(json.dumps(AGENT_MLFLOW_SETTINGS))
    env = _env(_seldon_mlserver_container(built))
    (found,) = _loaded(models, env, "churn", monkeypatch)
    assert found.implementation_ == RUNTIME_IMPLEMENTATION
    assert found.parameters.version == "1"


def _kserve_env(built) -> dict[str, str]:
    (runtime,) = [o for o in built(REPO / "manifests" / "serving") if o["kind"] == "ServingRuntime"]
    (container,) = runtime["spec"]["containers"]
    env = _env(container)
    env["MLSERVER_MODEL_NAME"] = "churn"  # KServe fills {{.Name}} with the InferenceService name
    assert _argv(container)[-1] == env["MLSERVER_MODEL_URI"] == "/mnt/models"
    return env


@pytest.mark.parametrize("settings_in_folder", [False, True], ids=["plain", "stock-settings"])
def test_kserve_runs_the_suite_runtime(built, tmp_path, monkeypatch, settings_in_folder):
    """Proves the KServe runtime loads the suite class, with or without a stock model-settings.

    The storage initializer copies the MLflow model folder to /mnt/models; a folder that
    carries a model-settings.json naming the stock runtime still gets the suite class.
    Cannot prove KServe passes the env as written (needs the controller).
    """
    folder = _mlflow_folder(tmp_path / "mnt" / "models")
    if settings_in_folder:
        stock = {**AGENT_MLFLOW_SETTINGS, "parameters": {"uri": "./"}}
        (folder / "model-settings.json").write_text(json.dumps(stock))
    (found,) = _loaded(folder, _kserve_env(built), "churn", monkeypatch)
    assert found.implementation_ == RUNTIME_IMPLEMENTATION


def test_every_target_names_the_same_runtime_class(built, tmp_path):
    """Proves local, KServe and Seldon name one runtime class, the one validate_serving tests.

    Cannot prove the class behaves the same under each server's settings (ports, workers).
    """
    local = model_settings("churn", tmp_path)["implementation"]
    kserve = _kserve_env(built)["MLSERVER_MODEL_IMPLEMENTATION"]
    seldon = _env(_seldon_mlserver_container(built))["MLSERVER_MODEL_IMPLEMENTATION"]
    assert local == kserve == seldon == RUNTIME_IMPLEMENTATION
