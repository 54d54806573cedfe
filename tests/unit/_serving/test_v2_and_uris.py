"""Pure helpers of the serving package: V2 request building, outputs, URIs, metrics text."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from components._mlflow import parse_models_uri
from components._serving.metrics import parse_prometheus_text, sample_total
from components._serving.settings import ephemeral_ports, model_settings
from components._serving.v2 import build_v2_request, compare_predictions, decode_v2_outputs


def test_v2_request_sends_missing_values_as_null():
    """V2 request sends missing values as null.

    Proves NaN/None become JSON null in both text and numeric inputs, one input per
    column with MLServer's content types.

    Cannot prove MLServer decodes them (the MLServer tests send such rows for real).
    """
    frame = pd.DataFrame({"plan": ["basic", None], "age": [30.0, np.nan], "n": [1, 2]})
    body = build_v2_request(frame)
    by_name = {t["name"]: t for t in body["inputs"]}
    assert body["parameters"] == {"content_type": "pd"}
    assert by_name["plan"]["data"] == ["basic", None]
    assert by_name["plan"]["parameters"] == {"content_type": "str"}
    assert by_name["age"]["data"] == [30.0, None]
    assert by_name["n"] == {"name": "n", "shape": [2, 1], "datatype": "INT64", "data": [1, 2]}


def test_v2_request_refuses_infinity():
    """Proves a column holding infinity is refused by name (JSON cannot carry it).

    Cannot prove anything about values the server would accept.
    """
    with pytest.raises(ValueError, match="age"):
        build_v2_request(pd.DataFrame({"age": [1.0, np.inf]}))


def test_decode_v2_outputs_reshapes_and_stacks():
    """Proves one output is reshaped to its shape and several become columns.

    Cannot prove decoding of BYTES outputs (the suite's models answer numbers).
    """
    one = {"outputs": [{"name": "p", "shape": [2, 2], "data": [0.1, 0.9, 0.8, 0.2]}]}
    assert decode_v2_outputs(one).tolist() == [[0.1, 0.9], [0.8, 0.2]]
    two = {
        "outputs": [
            {"name": "a", "shape": [2], "data": [1, 2]},
            {"name": "b", "shape": [2, 1], "data": [3, 4]},
        ]
    }
    assert decode_v2_outputs(two).tolist() == [[1, 3], [2, 4]]
    with pytest.raises(ValueError, match="no outputs"):
        decode_v2_outputs({"outputs": []})


def test_compare_predictions_refuses_different_sizes():
    """Compare predictions refuses different sizes.

    Proves the comparison returns the largest absolute difference and refuses arrays of
    different sizes instead of broadcasting them.

    Cannot prove which tolerance is right for a given model.
    """
    assert compare_predictions(
        np.array([[0.1, 0.9]]), np.array([0.1, 0.95]), 1e-6
    ) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="3 values"):
        compare_predictions(np.zeros(3), np.zeros(2), 1e-6)


@pytest.mark.parametrize(
    ("uri", "parsed"),
    [
        ("models:/churn/3", ("churn", "3", None)),
        ("models:/churn@champion", ("churn", None, "champion")),
        ("models:/m-0123abcd", ("m-0123abcd", None, None)),
    ],
)
def test_parse_models_uri(uri, parsed):
    """Proves the three models:/ forms are split into name/version/alias.

    Cannot prove the registry has such a model (resolve_model asks the registry).
    """
    assert parse_models_uri(uri) == parsed


@pytest.mark.parametrize("uri", ["runs:/abc/model", "models:/", "models:/a/b/c", "models:/a@"])
def test_parse_models_uri_rejects_other_forms(uri):
    """Proves malformed or non-registry URIs are refused with a ValueError.

    Cannot prove every MLflow URI form (stages are deprecated and not supported).
    """
    with pytest.raises(ValueError, match=r"models:/|not a models"):
        parse_models_uri(uri)


def test_prometheus_text_is_summed_by_labels():
    """Proves counters are found by name and label subset and summed across versions.

    Cannot prove MLServer's exact label set (the MLServer test scrapes the real one).
    """
    text = (
        "# TYPE model_infer_request_success counter\n"
        'model_infer_request_success_total{model="churn",version="1"} 3.0\n'
        'model_infer_request_success_total{model="churn",version="2"} 4.0\n'
        'model_infer_request_success_total{model="other",version="1"} 9.0\n'
    )
    samples = parse_prometheus_text(text)
    assert sample_total(samples, "model_infer_request_success_total", model="churn") == 7.0
    assert sample_total(samples, "model_infer_request_failure_total", model="churn") == 0.0


def test_ports_are_distinct_and_model_settings_name_the_runtime():
    """Proves the three ephemeral ports differ and model-settings carry uri/version.

    A relative model path is written absolute (MLServer resolves relative URIs against
    the model-settings folder, which joined `make serve`'s relative DATA_DIR twice);
    URLs are kept as given.

    Cannot prove a port is still free when MLServer binds it (start retries then).
    """
    ports = ephemeral_ports()
    assert len({ports.http, ports.grpc, ports.metrics}) == 3
    settings = model_settings("churn", "/m", "4")
    assert settings == {
        "name": "churn",
        "implementation": "components._serving.runtime.SuiteMLflowRuntime",
        "parameters": {"uri": "/m", "version": "4"},
    }
    relative = model_settings("churn", Path("data/serving/_artifacts/churn/v2"))
    assert relative["parameters"]["uri"] == str(Path.cwd() / "data/serving/_artifacts/churn/v2")
    assert model_settings("churn", "s3://b/m")["parameters"]["uri"] == "s3://b/m"


def test_served_output_is_named_after_the_label_the_model_was_trained_on():
    """The output name comes from the model's own signature, whatever the label is called.

    Proves: train_model's signature names its one output `<label>_probability` for a
    label other than churn, and the suite runtime's output contract reads that name (and
    falls back to `prediction` for an unnamed output) with FP64 and shape [-1].

    Cannot prove: the served name on a running server (the client tests check `churned`).
    """
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec

    from components._serving.runtime import output_contracts
    from components.train_model.core import TrainConfig, model_signature

    signature = model_signature(
        TrainConfig(
            label_column="cancelled", categorical_features=("plan",), numeric_features=("age",)
        )
    )
    (contract,) = output_contracts(signature)
    assert (contract.name, contract.datatype, contract.shape) == (
        "cancelled_probability",
        "FP64",
        (-1,),
    )
    unnamed = ModelSignature(
        inputs=signature.inputs, outputs=Schema([TensorSpec(np.dtype("float64"), (-1,))])
    )
    assert output_contracts(unnamed)[0].name == "prediction"
