"""The suite runtime on a real MLServer (127.0.0.1, ephemeral ports, 1 inference worker)."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pytest
import requests

from components._serving.server import ServingError, group_alive, start_mlserver
from components._serving.settings import RUNTIME_IMPLEMENTATION, write_model_settings
from components._serving.v2 import build_v2_request, decode_v2_outputs, infer
from tests._helpers.demo_model import FEATURES, demo_frame
from tests._helpers.prometheus_text import sample_total, scrape

MODEL = "churn"


@pytest.fixture(scope="module")
def rows():
    return demo_frame(200, seed=7)[list(FEATURES)]


def test_model_settings_name_the_suite_runtime(server):
    """Proves the served model-settings.json names the suite runtime class by its dotted path.

    Cannot prove the cluster ServingRuntime sets MLSERVER_MODEL_IMPLEMENTATION to it.
    """
    settings = json.loads((server.repo_dir / MODEL / "model-settings.json").read_text())
    assert settings["implementation"] == RUNTIME_IMPLEMENTATION
    assert "Loaded model 'churn' successfully" in server.log_tail(200)


def test_v2_predictions_match_in_process(server, model_dir: Path, rows):
    """V2 predictions match in process.

    Proves V2 REST answers equal in-process mlflow.pyfunc predictions for 200 rows,
    including rows with missing values sent as JSON null.

    Cannot prove equality for data outside the demo schema or on another platform's BLAS.
    """
    assert rows.isna().any().any(), "fixture rows should include missing values"
    expected = np.asarray(mlflow.pyfunc.load_model(str(model_dir)).predict(rows))
    with requests.Session() as session:
        answer = infer(session, server.http_url, MODEL, build_v2_request(rows))
    assert answer.status == 200, answer.error
    assert answer.body["model_version"] == "1"
    served = decode_v2_outputs(answer.body)
    assert served.shape == expected.shape == (200,)
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("missing_column", "age"),
        ("wrong_type", "tenure_months"),
        ("empty_batch", "empty"),
        ("ragged_input", "'plan' declares shape [3, 1] (3 values) but carries 2"),
    ],
)
def test_malformed_requests_get_422_naming_the_problem(server, rows, case, needle):
    """Malformed requests get 422 naming the problem.

    Proves each malformed request gets HTTP 422 with a message naming the column or
    the empty batch (stock MLServer answers 500), and a good request still works after.

    A ragged input (fewer values than its shape) would otherwise be padded with missing
    values by pandas and answered with 200.

    Cannot prove every possible malformed payload is mapped.
    """
    sample = rows.head(3)
    ragged = build_v2_request(sample)
    ragged["inputs"][0]["data"] = ragged["inputs"][0]["data"][:2]
    bad = {
        "missing_column": build_v2_request(sample.drop(columns=["age"])),
        "wrong_type": build_v2_request(sample.assign(tenure_months=["x", "y", "z"])),
        "empty_batch": build_v2_request(sample.head(0)),
        "ragged_input": ragged,
    }[case]
    with requests.Session() as session:
        answer = infer(session, server.http_url, MODEL, bad)
        good = infer(session, server.http_url, MODEL, build_v2_request(sample))
    assert answer.status == 422, (answer.status, answer.error)
    assert needle in answer.error
    assert good.status == 200


def test_prometheus_metrics_count_successes_and_failures(server, rows):
    """Prometheus metrics count successes and failures.

    Proves the metrics port exposes model_infer_request_success/_failure counters that
    move with the requests sent (2 good, 1 bad).

    Cannot prove a cluster Prometheus scrapes this port (that is the annotation's job).
    """
    before = scrape(server.metrics_url)
    with requests.Session() as session:
        for body in (build_v2_request(rows.head(1)), build_v2_request(rows.head(5))):
            assert infer(session, server.http_url, MODEL, body).ok
        assert not infer(session, server.http_url, MODEL, build_v2_request(rows.head(0))).ok
    after = scrape(server.metrics_url)
    ok_name, bad_name = "model_infer_request_success_total", "model_infer_request_failure_total"
    ok = sample_total(after, ok_name, model=MODEL) - sample_total(before, ok_name, model=MODEL)
    bad = sample_total(after, bad_name, model=MODEL) - sample_total(before, bad_name, model=MODEL)
    assert (ok, bad) == (2.0, 1.0)
    assert sample_total(after, "model_infer_request_duration_count", model=MODEL) >= 3


def test_model_without_signature_fails_to_start_with_log_tail(tmp_path: Path):
    """Model without signature fails to start with log tail.

    Proves a model logged without a signature is refused at load: MLServer exits, the
    ServingError carries the log tail with the reason, and no process is left behind.

    Cannot prove behaviour for other load failures (see validate_serving tests).
    """
    import mlflow.sklearn
    from sklearn.dummy import DummyClassifier

    model_dir = tmp_path / "nosig"
    clf = DummyClassifier().fit(np.zeros((4, 1)), [0, 1, 0, 1])
    mlflow.sklearn.save_model(clf, str(model_dir), serialization_format="cloudpickle")
    write_model_settings(tmp_path / "repo" / "nosig", "nosig", model_dir)
    with pytest.raises(ServingError, match="no input signature") as info:
        start_mlserver(tmp_path / "repo", ready_models=["nosig"], timeout_s=120)
    assert "server log (tail)" in str(info.value)


def test_stop_ends_the_whole_process_group(tmp_path: Path):
    """Stop ends the whole process group.

    Proves stop() ends MLServer and its inference worker (the whole process group) and
    that stopping twice is harmless.

    Cannot prove behaviour when the parent test process is SIGKILLed itself.
    """
    running = start_mlserver(tmp_path / "empty-repo")
    pgid = running.process.pid
    assert group_alive(pgid)
    running.stop()
    running.stop()
    assert not group_alive(pgid)
    with pytest.raises(requests.ConnectionError):
        requests.get(running.http_url + "/v2/health/live", timeout=2)
