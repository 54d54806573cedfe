"""validate_serving core against real MLServer processes on loopback."""

from __future__ import annotations

import math
from pathlib import Path

import mlflow
import mlflow.pyfunc
import numpy as np
import pytest
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, DataType, Schema, TensorSpec

from components._mlflow import ensure_experiment
from components._serving.demo_model import demo_frame
from components._serving.server import ServingError
from components.validate_serving.core import (
    ServingConfig,
    feature_frame,
    malformed_requests,
    raise_if_failed,
    run,
)

# mlserver_mlflow cannot load a signature without outputs (AttributeError at load).
SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec(DataType.double, "tenure_months"), ColSpec(DataType.double, "age")]),
    outputs=Schema([TensorSpec(np.dtype("float64"), (-1,))]),
)
OFFSET_MODEL_CODE = '''
import os

import mlflow
from mlflow.pyfunc import PythonModel


class EnvironmentDependent(PythonModel):
    """Answers tenure/100 plus an offset read from the environment at predict time."""

    def predict(self, context, model_input, params=None):
        offset = float(os.environ.get("MLSERVER_SUITE_TEST_OFFSET", "0"))
        return model_input["tenure_months"].to_numpy() / 100.0 + offset


mlflow.models.set_model(EnvironmentDependent())
'''


class PickledByReference(mlflow.pyfunc.PythonModel):
    """Defined in this test module, so its pickle refers to code MLServer cannot import."""

    def predict(self, context, model_input, params=None):
        return model_input["age"].to_numpy()


def _log(registry, name: str, python_model) -> str:
    mlflow.set_tracking_uri(registry.tracking_uri)
    # An explicit experiment of this store (the fluent active one may belong to another).
    with mlflow.start_run(experiment_id=ensure_experiment(registry, "infra-validation")):
        info = mlflow.pyfunc.log_model(name="model", python_model=python_model, signature=SIGNATURE)
    registry.create_registered_model(name)
    registry.create_model_version(name, info.model_uri, info.run_id, model_id=info.model_id)
    return f"models:/{name}/1"


def test_demo_model_passes_with_latencies(registry, tmp_path: Path):
    """The demo model passes every check and reports latencies.

    Proves: a real MLServer with the suite runtime answers 300 holdout rows (with missing
    values) exactly like in-process pyfunc, answers the three malformed requests with 4xx
    naming the problem, keeps working after them, and p50/p99 latencies are recorded.

    Cannot prove the latencies of a cluster pod (different CPU, network, Knative proxy).
    """
    holdout = demo_frame(300, seed=11)
    config = ServingConfig(
        "models:/churn/1",
        holdout,
        single_requests=20,
        batch_requests=5,
        batch_size=100,
        workdir=tmp_path,
    )
    report = run(config, client=registry)
    raise_if_failed(report)
    metrics = report.metrics()
    assert report.passed
    assert metrics["rows_compared"] == 300
    assert metrics["max_abs_diff"] <= 1e-6
    assert metrics["malformed_checks_passed"] == metrics["malformed_checks"] == 3
    for key in ("single_row_p50_ms", "single_row_p99_ms", "batch_p50_ms", "batch_p99_ms"):
        assert math.isfinite(metrics[key])
        assert metrics[key] > 0
    assert metrics["single_row_p50_ms"] <= metrics["single_row_p99_ms"]
    assert [c.status for c in report.malformed] == [422, 422, 422]
    assert list(tmp_path.iterdir()) == [], "scratch folder must be removed"


def test_model_mlserver_cannot_load_fails_with_log_tail(registry):
    """A model MLServer cannot load fails the step with the server log.

    Proves: a model whose pickle refers to code that is not shipped with it (it loads in
    the training process, not in MLServer) makes validate_serving raise a ServingError
    that says the server exited and carries the log tail naming the missing module.

    Cannot prove every kind of load failure is caught before the startup timeout.
    """
    uri = _log(registry, "not-shipped", PickledByReference())
    holdout = demo_frame(20, seed=2)
    with pytest.raises(ServingError) as info:
        run(ServingConfig(uri, holdout, startup_timeout_s=240), client=registry)
    message = str(info.value)
    assert "exited" in message
    assert "server log (tail)" in message
    assert "test_infra_validation" in message


def test_model_answering_differently_in_serving_fails(registry, tmp_path: Path, monkeypatch):
    """A served model that answers differently from in-process fails the step.

    Proves: when the serving environment differs (here an environment variable that the
    server does not see), the served predictions differ from in-process ones and the
    report fails, naming the difference and the tolerance, with the server log tail.

    Cannot prove which environment difference caused it; only that answers differ.
    """
    code = tmp_path / "offset_model.py"
    code.write_text(OFFSET_MODEL_CODE)
    uri = _log(registry, "env-dependent", str(code))
    monkeypatch.setenv("MLSERVER_SUITE_TEST_OFFSET", "0.5")
    report = run(ServingConfig(uri, demo_frame(50, seed=3), single_requests=3), client=registry)
    assert not report.passed
    assert report.max_abs_diff == pytest.approx(0.5)
    with pytest.raises(ServingError, match=r"differ from in-process mlflow.pyfunc by up to 0.5"):
        raise_if_failed(report)
    assert "server log (tail)" in report.problems[-1]


def test_holdout_without_model_columns_is_refused():
    """A holdout lacking the model's input columns is refused by name.

    Proves: feature_frame names the missing column and refuses an empty holdout.

    Cannot prove anything about the server (none is started).
    """
    holdout = demo_frame(5).drop(columns=["age"])
    with pytest.raises(ValueError, match=r"\['age'\]"):
        feature_frame(holdout, ["tenure_months", "age"], 10)
    with pytest.raises(ValueError, match="no rows"):
        feature_frame(demo_frame(5).head(0), ["age"], 10)


def test_malformed_requests_target_named_columns():
    """The malformed requests drop/garble the columns their checks expect to be named.

    Proves: missing_column drops the first input, wrong_type sends text in the first
    numeric column, empty_batch has zero rows.

    Cannot prove how a server answers them (the MLServer tests do).
    """
    frame = demo_frame(5)[["plan", "tenure_months", "age"]]
    checks = {name: (body, needle) for name, body, needle in malformed_requests(frame)}
    missing_body, missing_needle = checks["missing_column"]
    assert missing_needle == "plan"
    assert "plan" not in [t["name"] for t in missing_body["inputs"]]
    wrong_body, wrong_needle = checks["wrong_type"]
    assert wrong_needle == "tenure_months"
    tenure = next(t for t in wrong_body["inputs"] if t["name"] == "tenure_months")
    assert tenure["datatype"] == "BYTES"
    empty_body, _ = checks["empty_batch"]
    assert all(t["shape"][0] == 0 for t in empty_body["inputs"])
