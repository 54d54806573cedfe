"""A challenger served in shadow beside the champion by the suite runtime on MLServer."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pytest
import requests

from components._mlflow import mlflow_client
from components._serving.models import download_model
from components._serving.prediction_log import read_prediction_log
from components._serving.serve import seed_repository
from components._serving.server import start_mlserver
from components._serving.v2 import build_v2_request, infer
from tests._helpers.demo_model import FEATURES, LABEL, demo_frame, log_demo_model

MODEL = "churn"
OUTPUT = f"{LABEL}_probability"


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory: pytest.TempPathFactory):
    """Champion v1 and a different challenger v2 (other seed, other regularisation)."""
    root = tmp_path_factory.mktemp("shadow_mlflow")
    client = mlflow_client(f"sqlite:///{root / 'mlflow.db'}")
    log_demo_model(client, MODEL)
    log_demo_model(client, MODEL, seed=5, c=0.02)
    return client, (
        download_model(client, f"models:/{MODEL}/1", root / "v1"),
        download_model(client, f"models:/{MODEL}/2", root / "v2"),
    )


def test_shadow_answers_are_logged_under_the_champions_request_id(two_versions, tmp_path: Path):
    """The client gets the champion; the log holds both answers under one request id.

    Proves, on a real MLServer on loopback with the suite runtime: 12 answered requests
    (1-3 rows each; the repository seeded from the registry as ``make serve SHADOW=1``
    does) carry the champion's answer (= v1 in process); the log has, for
    every request id and row, one ``champion`` row (v1's score, version 1) and one
    ``shadow`` row (v2's score, version 2, = v2 in process) with the same inputs; the two
    models really differ; a rejected request is logged for neither; the log reader's
    default leaves the shadow rows out. Cannot prove: the shadow's cost under load (it
    runs in a worker thread of the same process) or Seldon's mirror (a CRD test).
    """
    client, (v1, v2) = two_versions
    repo = tmp_path / "repo"
    # What `make serve SHADOW=1` does: champion and challenger from the registry.
    seed_repository(repo, client, f"models:/{MODEL}/1", shadow_uri=f"models:/{MODEL}/2")
    settings = json.loads((repo / MODEL / "model-settings.json").read_text())["parameters"]
    assert settings["shadow_version"] == "2"
    assert (Path(settings["shadow_uri"]) / "MLmodel").is_file()
    log_root = tmp_path / "predictions"
    frame = demo_frame(24, seed=11)[["customer_id", *FEATURES]]
    started = dt.datetime.now(dt.UTC)
    server = start_mlserver(repo, ready_models=[MODEL], prediction_log=log_root)
    try:
        answers = {}
        with requests.Session() as session:
            for i, size in enumerate([1, 2, 3] * 4):
                rows = frame.iloc[2 * i : 2 * i + size]
                reply = session.post(
                    f"{server.http_url}/v2/models/{MODEL}/infer",
                    json=build_v2_request(rows),
                    headers={"x-request-id": f"shadow-{i}"},
                    timeout=30,
                )
                assert reply.status_code == 200, reply.text
                answers[f"shadow-{i}"] = (rows, reply.json()["outputs"][0]["data"])
            bad = infer(session, server.http_url, MODEL, build_v2_request(frame.head(0)))
            assert bad.status == 422
            time.sleep(0.5)  # let the last shadow scores reach the writer before the stop
    finally:
        server.stop()
    ended = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
    both = read_prediction_log(log_root, started, ended, model_role=None)
    champion_rows = read_prediction_log(log_root, started, ended)
    assert set(champion_rows["model_role"]) == {"champion"}
    champion_model = mlflow.pyfunc.load_model(str(v1))
    shadow_model = mlflow.pyfunc.load_model(str(v2))
    assert sorted(set(both["request_id"])) == sorted(answers)
    differs = 0.0
    for rid, (rows, answered) in answers.items():
        mine = both[both["request_id"] == rid].sort_values(["model_role", "row"])
        champ, shadow = mine[mine["model_role"] == "champion"], mine[mine["model_role"] == "shadow"]
        assert len(champ) == len(shadow) == len(rows)
        assert champ["model_version"].unique().tolist() == ["1"]
        assert shadow["model_version"].unique().tolist() == ["2"]
        assert shadow["customer_id"].tolist() == rows["customer_id"].tolist()
        expected_champion = champion_model.predict(rows[list(FEATURES)])
        expected_shadow = shadow_model.predict(rows[list(FEATURES)])
        np.testing.assert_allclose(answered, expected_champion, atol=1e-12)
        np.testing.assert_allclose(champ[OUTPUT], expected_champion, atol=1e-12)
        np.testing.assert_allclose(shadow[OUTPUT], expected_shadow, atol=1e-12)
        differs = max(differs, float(np.max(np.abs(expected_shadow - expected_champion))))
    assert differs > 0.01, "champion and challenger must answer differently for this test"
    assert len(both) == 2 * sum(len(rows) for rows, _ in answers.values())
