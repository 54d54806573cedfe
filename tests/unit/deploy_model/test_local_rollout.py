"""deploy_model(target=local) against a real MLServer through its repository API."""

from __future__ import annotations

import mlflow
import mlflow.pyfunc
import numpy as np
import pytest
import requests
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, DataType, Schema, TensorSpec

from components._mlflow import (
    ALIAS_CHAMPION,
    ALIAS_PREVIOUS,
    TAG_ROLLED_BACK,
    alias_version,
    ensure_experiment,
)
from components._serving.demo_model import FEATURES, demo_frame
from components._serving.models import download_model
from components._serving.v2 import build_v2_request, decode_v2_outputs, infer, repository_index
from components.deploy_model.core import DeployError, DeployRequest, deploy, raise_if_rolled_back

SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec(DataType.double, "tenure_months"), ColSpec(DataType.double, "age")]),
    outputs=Schema([TensorSpec(np.dtype("float64"), (-1,))]),
)


class NotShipped(mlflow.pyfunc.PythonModel):
    """Pickled by reference to this test module, which MLServer cannot import."""

    def predict(self, context, model_input, params=None):
        return model_input["age"].to_numpy()


def register_unloadable(client) -> str:
    mlflow.set_tracking_uri(client.tracking_uri)
    # An explicit experiment of this store: the fluent active experiment may be one that
    # another test on this worker set in another store.
    with mlflow.start_run(experiment_id=ensure_experiment(client, "local-rollout")):
        info = mlflow.pyfunc.log_model(name="model", python_model=NotShipped(), signature=SIGNATURE)
    version = client.create_model_version(
        "churn", info.model_uri, info.run_id, model_id=info.model_id
    )
    return str(version.version)


def served(server, rows):
    with requests.Session() as session:
        answer = infer(session, server.http_url, "churn", build_v2_request(rows))
    assert answer.status == 200, answer.error
    return answer.body["model_version"], decode_v2_outputs(answer.body)


def test_local_promote_repeat_and_rollback(registry, local_server, tmp_path):
    """Promote v2, re-deploy v2 (no-op), then a v3 MLServer cannot load is rolled back.

    Proves, on a real MLServer: v2 is loaded beside v1 as a candidate, smoke-tested, then
    `churn` answers from v2 with v2's in-process predictions; champion=2, previous=1.
    Deploying v2 again changes nothing. A v3 that fails to load in MLServer is rolled back:
    `churn` still answers from v2, champion stays 2, v3 is tagged rolled back, the step
    raises naming what still serves, and no candidate is left loaded or on disk.

    Cannot prove zero failed requests during the switch under load (no traffic is sent
    while switching).
    """
    repo = local_server.repo_dir
    rows = demo_frame(40, seed=5)[list(FEATURES)]
    version, before = served(local_server, rows)
    assert version == "1"
    v2 = mlflow.pyfunc.load_model(str(download_model(registry, "models:/churn/2", tmp_path / "v2")))

    def run(uri: str):
        return deploy(
            registry,
            DeployRequest(uri, "local"),
            local_url=local_server.http_url,
            local_repo=repo,
            smoke_frame=rows,
        )

    result = run("models:/churn/2")
    assert (result.action, result.previous_version) == ("promoted", "1")
    version, after = served(local_server, rows)
    assert version == "2"
    np.testing.assert_allclose(after, v2.predict(rows), rtol=0, atol=1e-9)
    assert not np.allclose(after, before), "v1 and v2 should answer differently"
    assert alias_version(registry, "churn", ALIAS_CHAMPION) == "2"
    assert alias_version(registry, "churn", ALIAS_PREVIOUS) == "1"

    again = run("models:/churn/2")
    assert again.action == "unchanged"
    assert alias_version(registry, "churn", ALIAS_PREVIOUS) == "1"

    v3 = register_unloadable(registry)
    failed = run(f"models:/churn/{v3}")
    assert failed.action == "rolled_back"
    assert "candidate did not load" in failed.reason
    with pytest.raises(DeployError, match="Still serving: version 2"):
        raise_if_rolled_back(failed)
    assert served(local_server, rows)[0] == "2"
    assert alias_version(registry, "churn", ALIAS_CHAMPION) == "2"
    assert TAG_ROLLED_BACK in registry.get_model_version("churn", v3).tags
    with requests.Session() as session:
        names = {m["name"] for m in repository_index(session, local_server.http_url)}
    assert names == {"churn"}
    assert not (repo / "churn-candidate").exists()


OFFSET_MODEL_CODE = """
import os

import mlflow
from mlflow.pyfunc import PythonModel


class EnvironmentDependent(PythonModel):
    def predict(self, context, model_input, params=None):
        offset = float(os.environ.get("MLSERVER_SUITE_TEST_OFFSET", "0"))
        return model_input["tenure_months"].to_numpy() / 100.0 + offset


mlflow.models.set_model(EnvironmentDependent())
"""


def test_local_rollback_when_candidate_answers_wrongly(
    registry, local_server, tmp_path, monkeypatch
):
    """A candidate that loads but fails the smoke test is rolled back.

    Proves: a version whose served answers differ from in-process ones (the server does
    not see an environment variable the model reads) loads as the candidate, fails the
    smoke comparison, is unloaded, and `churn` keeps answering from the version it served
    before; champion does not move.

    Cannot prove the smoke rows cover every input the new version gets wrong.
    """
    rows = demo_frame(10, seed=6)[list(FEATURES)]
    before_version, before = served(local_server, rows)
    champion = alias_version(registry, "churn", ALIAS_CHAMPION)
    code = tmp_path / "offset_model.py"
    code.write_text(OFFSET_MODEL_CODE)
    mlflow.set_tracking_uri(registry.tracking_uri)
    with mlflow.start_run(experiment_id=ensure_experiment(registry, "local-rollout")):
        info = mlflow.pyfunc.log_model(name="model", python_model=str(code), signature=SIGNATURE)
    version = registry.create_model_version(
        "churn", info.model_uri, info.run_id, model_id=info.model_id
    )
    monkeypatch.setenv("MLSERVER_SUITE_TEST_OFFSET", "0.25")
    result = deploy(
        registry,
        DeployRequest(f"models:/churn/{version.version}", "local"),
        local_url=local_server.http_url,
        local_repo=local_server.repo_dir,
        smoke_frame=rows,
    )
    assert result.action == "rolled_back"
    assert "churn-candidate predictions differ" in result.reason
    after_version, after = served(local_server, rows)
    assert after_version == before_version
    np.testing.assert_array_equal(after, before)
    assert alias_version(registry, "churn", ALIAS_CHAMPION) == champion
