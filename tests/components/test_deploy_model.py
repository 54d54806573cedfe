"""deploy_model through kfp.local (parameters only, so a single component call works).

Runs: target=kserve and a Seldon shadow with render_only (no cluster here: the
manifest artifact is the product), and target=local against a real MLServer this test
starts on loopback, which the component rolls forward through MLServer's repository API.
SubprocessRunner runs the task in this interpreter's venv; the suite image is only named.
"""

from pathlib import Path

import pytest
import yaml
from kfp import local

from components._mlflow import ALIAS_CHAMPION, ALIAS_PREVIOUS, alias_version, mlflow_client
from components._serving.serve import seed_repository
from components._serving.server import group_alive, start_mlserver
from components.deploy_model.component import deploy_model
from tests._helpers.demo_model import log_demo_model


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


def test_seldon_shadow_render_only_passes_rollout_and_mirror_percent(store):
    """The wrapper hands rollout and mirror_percent to the core: a shadow's render.

    Proves, through kfp.local: target=seldon, rollout="shadow", mirror_percent=30 with
    render_only returns "rendered" and writes the shadow Model churn-shadow (churn/2's
    storage URI) and the Experiment churn-shadow (churn at weight 100, mirror 30 %) to
    the manifest, no canary object, and champion stays on version 1.

    Cannot prove a cluster accepts or mirrors (tests/unit/deploy_model covers the flows).
    """
    client, uri, _ = store
    task = deploy_model(
        model_uri="models:/churn/2",
        target="seldon",
        served_name="churn",
        tracking_uri=uri,
        storage_uri="s3://mlflow/churn/2/artifacts",
        render_only=True,
        rollout="shadow",
        mirror_percent=30,
    )
    assert task.outputs["Output"] == "rendered"
    docs = list(yaml.safe_load_all(Path(task.outputs["manifest"].path).read_text()))
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("Model", "churn-shadow"),
        ("Experiment", "churn-shadow"),
    ]
    assert docs[0]["spec"]["storageUri"] == "s3://mlflow/churn/2/artifacts"
    assert docs[1]["spec"]["candidates"] == [{"name": "churn", "weight": 100}]
    assert docs[1]["spec"]["mirror"] == {"name": "churn-shadow", "percent": 30}
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


def test_waiting_challenger_step_routes_through_the_wrapper(store):
    """The pipeline's promote-approved-challenger call: off without approval, refuses rejects.

    Proves, through kfp.local: with require_approval off the step answers "approval not
    required" and deploys nothing; with it on, a rejected challenger is answered
    "rejected" with its version on the manifest's metadata, an empty manifest, and the
    champion unchanged. The approved case (a real rollout) is
    tests/unit/deploy_model/test_next_run_promotion.py, on the core the wrapper calls.
    Cannot prove anything about a cluster target.
    """
    from components import _governance as gov
    from components._mlflow import ALIAS_CHALLENGER, TAG_GATE_BLESSED, TAG_GATE_CHAMPION

    client, uri, _ = store
    champion = alias_version(client, "churn", ALIAS_CHAMPION)
    version = str(log_demo_model(client, "churn", c=0.5).version)
    client.set_model_version_tag("churn", version, TAG_GATE_BLESSED, "true")
    client.set_model_version_tag("churn", version, TAG_GATE_CHAMPION, champion)
    client.set_registered_model_alias("churn", ALIAS_CHALLENGER, version)
    gov.reject(client, "churn", version, "worse for premium customers", who="risk")
    common = {"model_uri": "", "target": "local", "served_name": "churn", "tracking_uri": uri}

    off = deploy_model(**common, waiting_challenger_of="churn", require_approval=False)
    assert off.outputs["Output"] == "approval not required"
    on = deploy_model(**common, waiting_challenger_of="churn", require_approval=True)
    assert on.outputs["Output"] == gov.WAS_REJECTED
    assert on.outputs["manifest"].metadata["version"] == version
    assert Path(on.outputs["manifest"].path).read_text() == ""
    assert alias_version(client, "churn", ALIAS_CHAMPION) == champion
