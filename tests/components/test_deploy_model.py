"""deploy_model through kfp.local (parameters only, so a single component call works).

Two runs: target=kserve with render_only (no cluster here: the manifest artifact is the
product), and target=local against a real MLServer this test starts on loopback, which
the component rolls forward through MLServer's repository API. SubprocessRunner runs the
task in this interpreter's venv; the suite image is only named.
"""

from pathlib import Path

import pytest
import yaml
from kfp import local

from components._mlflow import ALIAS_CHAMPION, ALIAS_PREVIOUS, alias_version, mlflow_client
from components._serving.demo_model import log_demo_model
from components._serving.serve import seed_repository
from components._serving.server import group_alive, start_mlserver
from components.deploy_model.component import deploy_model


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A sqlite registry with churn/1 (champion) and churn/2, and a kfp.local root."""
    root = tmp_path_factory.mktemp("deploy_kfp")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = mlflow_client(uri)
    log_demo_model(client, "churn", c=1.0)
    log_demo_model(client, "churn", c=0.02)
    client.set_registered_model_alias("churn", ALIAS_CHAMPION, "1")
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root / "runs"))
    return client, uri, root


def test_kserve_render_only_writes_the_manifest(store):
    """render_only renders the canary and full InferenceService without touching the registry.

    Proves: the component resolves models:/churn/2, returns "rendered", writes both
    InferenceService variants (canary 25 %, then full) to the manifest artifact with the
    given storage URI, and leaves champion on version 1.

    Cannot prove a cluster accepts the objects (see the rendering tests for the CRD check).
    """
    client, uri, _ = store
    task = deploy_model(
        model_uri="models:/churn/2",
        target="kserve",
        served_name="churn",
        tracking_uri=uri,
        canary_percent=25,
        storage_uri="s3://mlflow/churn/2/artifacts",
        render_only=True,
    )
    assert task.outputs["Output"] == "rendered"
    docs = list(yaml.safe_load_all(Path(task.outputs["manifest"].path).read_text()))
    assert [d["kind"] for d in docs] == ["InferenceService", "InferenceService"]
    assert docs[0]["spec"]["predictor"]["canaryTrafficPercent"] == 25
    assert "canaryTrafficPercent" not in docs[1]["spec"]["predictor"]
    assert docs[1]["spec"]["predictor"]["model"]["storageUri"] == "s3://mlflow/churn/2/artifacts"
    assert alias_version(client, "churn", ALIAS_CHAMPION) == "1"


def test_local_target_promotes_on_a_running_mlserver(store):
    """The component rolls churn/2 onto a running local MLServer and moves the aliases.

    Proves: with target=local the task loads version 2 beside version 1, smoke-tests it
    on the model's logged input example (no smoke rows are passed), switches the served
    default and returns "promoted"; champion=2, previous=1.

    Cannot prove `make serve` uses the same folder (that is the Makefile's job).
    """
    client, uri, root = store
    repo = root / "serving"
    seed_repository(repo, client, "models:/churn/1")
    server = start_mlserver(repo, ready_models=["churn"])
    try:
        task = deploy_model(
            model_uri="models:/churn/2",
            target="local",
            served_name="churn",
            tracking_uri=uri,
            local_url=server.http_url,
            local_repo=str(repo),
        )
        assert task.outputs["Output"] == "promoted"
    finally:
        server.stop()
    assert not group_alive(server.process.pid)
    assert alias_version(client, "churn", ALIAS_CHAMPION) == "2"
    assert alias_version(client, "churn", ALIAS_PREVIOUS) == "1"
