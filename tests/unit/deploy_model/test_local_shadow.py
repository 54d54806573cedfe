"""deploy_model(target=local, rollout="shadow") on a real MLServer with a prediction log."""

from __future__ import annotations

import datetime as dt
import json
import time

import mlflow.pyfunc
import numpy as np
import pytest
import requests

from components._mlflow import (
    ALIAS_CHALLENGER,
    ALIAS_CHAMPION,
    ALIAS_PREVIOUS,
    TAG_ROLLED_BACK,
    alias_version,
)
from components._serving.models import download_model
from components._serving.prediction_log import read_prediction_log
from components._serving.serve import seed_repository
from components._serving.server import start_mlserver
from components._serving.settings import (
    MODEL_SETTINGS_FILE,
    SHADOW_URI_PARAMETER,
    SHADOW_VERSION_PARAMETER,
)
from components._serving.v2 import build_v2_request
from components.deploy_model.core import (
    TAG_SHADOW_SERVED_NAME,
    TAG_SHADOW_SERVING,
    DeployError,
    DeployRequest,
    deploy,
)
from tests._helpers.demo_model import FEATURES, LABEL, demo_frame

OUTPUT = f"{LABEL}_probability"


def aliases(registry) -> dict[str, str | None]:
    return {
        alias: alias_version(registry, "churn", alias)
        for alias in (ALIAS_CHAMPION, ALIAS_PREVIOUS, ALIAS_CHALLENGER)
    }


def ask(server, rows, request_id: str) -> tuple[str, list[float]]:
    """One V2 request with a request id; returns the answering version and its scores."""
    reply = requests.post(
        f"{server.http_url}/v2/models/churn/infer",
        json=build_v2_request(rows),
        headers={"x-request-id": request_id},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    return str(body["model_version"]), body["outputs"][0]["data"]


def test_local_shadow_logs_both_answers_and_a_canary_clears_it(registry, tmp_path):
    """A shadow challenger is scored beside the champion; a later canary removes it.

    Proves, on a real MLServer on loopback with the suite runtime and a prediction log:
    with churn/1 serving (deployed: a canary of it reports "unchanged"), deploying churn/2
    with ``rollout="shadow"`` returns "shadowing", rewrites ``churn``'s model-settings with
    ``shadow_uri`` / ``shadow_version`` 2 and moves no alias (champion 1); a V2 request
    afterwards is answered from version 1 with exactly the scores of the same request
    before the shadow; the log holds, under that request's id, one ``champion`` row per
    input row (version 1, the answer) and one ``shadow`` row (version 2, = churn/2 in
    process); the request before the shadow has champion rows only. A canary of churn/2
    then promotes it, the settings lose the shadow fields, its shadow tags are deleted,
    and the next request is answered and logged from version 2 with no shadow row.

    Cannot prove the shadow's cost to the champion's latency under load, nor anything
    about Seldon's or KServe's shadow (tests/unit/deploy_model/test_rollout_flows.py).
    """
    repo, log_root = tmp_path / "serving", tmp_path / "predictions"
    seed_repository(repo, registry, "models:/churn/1")
    rows = demo_frame(6, seed=21)[["customer_id", *FEATURES]]
    challenger = mlflow.pyfunc.load_model(
        str(download_model(registry, "models:/churn/2", tmp_path / "v2"))
    )
    settings_path = repo / "churn" / MODEL_SETTINGS_FILE
    started = dt.datetime.now(dt.UTC)
    server = start_mlserver(repo, ready_models=["churn"], prediction_log=log_root)

    def roll(uri: str, rollout: str):
        return deploy(
            registry,
            DeployRequest(uri, "local", rollout=rollout),
            local_url=server.http_url,
            local_repo=repo,
            smoke_frame=rows[list(FEATURES)],
        )

    try:
        assert roll("models:/churn/1", "canary").action == "unchanged"
        before = aliases(registry)
        assert before[ALIAS_CHAMPION] == "1"
        version, answer_before = ask(server, rows, "before-shadow")
        assert version == "1"

        result = roll("models:/churn/2", "shadow")
        assert (result.action, result.previous_version) == ("shadowing", "1"), result.reason
        assert aliases(registry) == before
        tags = registry.get_model_version("churn", "2").tags
        assert (tags[TAG_SHADOW_SERVING], tags[TAG_SHADOW_SERVED_NAME]) == ("local", "churn")
        assert TAG_ROLLED_BACK not in tags
        parameters = json.loads(settings_path.read_text())["parameters"]
        assert (parameters["version"], parameters[SHADOW_VERSION_PARAMETER]) == ("1", "2")
        assert parameters[SHADOW_URI_PARAMETER].endswith("v2")
        assert not (repo / "churn-candidate").exists()

        version, answer_shadow = ask(server, rows, "with-shadow")
        assert version == "1"
        assert answer_shadow == answer_before  # the champion's answer did not change

        promoted = roll("models:/churn/2", "canary")
        assert (promoted.action, promoted.shadow_removed) == ("promoted", "2"), promoted.reason
        tags = registry.get_model_version("churn", "2").tags
        assert TAG_SHADOW_SERVING not in tags
        assert TAG_SHADOW_SERVED_NAME not in tags
        parameters = json.loads(settings_path.read_text())["parameters"]
        assert parameters["version"] == "2"
        assert SHADOW_URI_PARAMETER not in parameters
        assert SHADOW_VERSION_PARAMETER not in parameters
        assert alias_version(registry, "churn", ALIAS_CHAMPION) == "2"
        version, _ = ask(server, rows, "after-promotion")
        assert version == "2"
        time.sleep(0.5)  # let the last shadow scores reach the writer before the stop
    finally:
        server.stop()
    ended = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    log = read_prediction_log(log_root, started, ended, model_name="churn", model_role=None)
    mine = log[log["request_id"] == "with-shadow"].sort_values(["model_role", "row"])
    champion = mine[mine["model_role"] == "champion"]
    shadow = mine[mine["model_role"] == "shadow"]
    assert len(champion) == len(shadow) == len(rows)
    assert champion["model_version"].unique().tolist() == ["1"]
    assert shadow["model_version"].unique().tolist() == ["2"]
    np.testing.assert_allclose(champion[OUTPUT], answer_shadow, atol=1e-12)
    expected_shadow = challenger.predict(rows[list(FEATURES)])
    np.testing.assert_allclose(shadow[OUTPUT], expected_shadow, atol=1e-12)
    assert np.max(np.abs(expected_shadow - np.asarray(answer_shadow))) > 0.01, (
        "champion and challenger must answer differently for this test"
    )
    for rid, version in (("before-shadow", "1"), ("after-promotion", "2")):
        only = log[log["request_id"] == rid]
        assert set(only["model_role"]) == {"champion"}, rid
        assert only["model_version"].unique().tolist() == [version], rid


def test_local_shadow_without_a_champion_raises(registry, tmp_path):
    """A shadow into an empty local repository fails before anything is written.

    Proves: with no ``churn`` model-settings (nothing serves), ``rollout="shadow"`` raises
    DeployError saying a shadow needs a champion to sit beside, contacts no server (the
    URL is unroutable) and writes nothing into the repository; no alias moves.

    Cannot prove anything about a running server (the test above does).
    """
    before = aliases(registry)
    with pytest.raises(DeployError, match="a shadow needs a champion to sit beside"):
        deploy(
            registry,
            DeployRequest("models:/churn/2", "local", rollout="shadow"),
            local_url="http://127.0.0.1:9",
            local_repo=tmp_path,
        )
    assert list(tmp_path.iterdir()) == []
    assert aliases(registry) == before
