"""Third-party Open Inference Protocol clients against a real MLServer with the suite runtime.

tritonclient HTTP (JSON and binary mode) runs in the test process; tritonclient gRPC runs
from the dev venv in a process of its own (its protobuf package clashes with MLServer's in
one interpreter); the kserve client runs from a venv of its own (`make
kserve-client-venv`, its own lock), because it cannot join the main lock.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mlflow.pyfunc
import numpy as np
import pytest
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from tests._helpers.demo_model import CATEGORICAL, FEATURES, LABEL, demo_frame

REPO_ROOT = Path(__file__).resolve().parents[3]
MODEL = "churn"
OUTPUT = f"{LABEL}_probability"
ATOL = 1e-9


@pytest.fixture(scope="module")
def rows():
    return demo_frame(25, seed=11, missing_fraction=0.0)[list(FEATURES)]


@pytest.fixture(scope="module")
def expected(model_dir: Path, rows) -> np.ndarray:
    return np.asarray(mlflow.pyfunc.load_model(str(model_dir)).predict(rows), dtype=float)


def _array(rows, name: str) -> np.ndarray:
    if name in CATEGORICAL:
        return rows[name].to_numpy(dtype=object).reshape(-1, 1)
    return rows[name].to_numpy(dtype="float64").reshape(-1, 1)


def _inputs(module, rows, *, binary: bool, **replace: np.ndarray) -> list:
    tensors = []
    for name in FEATURES:
        array = replace.get(name, _array(rows, name))
        if array is None:
            continue
        datatype = "BYTES" if array.dtype == object else "FP64"
        tensor = module.InferInput(name, list(array.shape), datatype)
        tensor.set_data_from_numpy(array, binary_data=binary)
        tensors.append(tensor)
    return tensors


@pytest.fixture(scope="module")
def http(server):
    client = httpclient.InferenceServerClient(server.http_url.removeprefix("http://"))
    yield client
    client.close()


def test_metadata_lists_exactly_what_responses_carry(http, rows):
    """Metadata and responses agree, over both tritonclient transports.

    Proves: HTTP metadata lists the ten feature inputs and exactly one output,
    `churned_probability` FP64 [-1] (not MLServer's `output-0`), and a response with no
    requested outputs carries exactly that output, FP64, shape [n] (gRPC metadata: see
    the gRPC test).

    Cannot prove: the same for models whose signature declares several outputs (the
    suite's models declare one).
    """
    meta = http.get_model_metadata(MODEL)
    assert [t["name"] for t in meta["inputs"]] == list(FEATURES)
    assert meta["outputs"] == [{"name": OUTPUT, "datatype": "FP64", "shape": [-1]}]
    result = http.infer(MODEL, _inputs(httpclient, rows, binary=False))
    outputs = result.get_response()["outputs"]
    assert [(o["name"], o["datatype"], o["shape"]) for o in outputs] == [
        (OUTPUT, "FP64", [len(rows)])
    ]


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
def test_tritonclient_http_answers_equal_in_process(http, rows, expected, binary):
    """HTTP tritonclient, JSON and binary tensor modes, reads the advertised output.

    Proves: asking for the advertised output by name (`InferRequestedOutput`, the case
    that returned None before) answers all 25 rows equal to in-process pyfunc predictions
    within 1e-9, with inputs sent as JSON or in the binary tensor data extension
    (tritonclient's default), and with outputs requested as binary (answered as JSON,
    which tritonclient reads).

    Cannot prove: binary inputs carrying a missing text value (the extension has no null
    for BYTES; JSON null does it).
    """
    out = httpclient.InferRequestedOutput(OUTPUT, binary_data=binary)
    result = http.infer(MODEL, _inputs(httpclient, rows, binary=binary), outputs=[out])
    served = result.as_numpy(OUTPUT)
    assert served is not None
    assert served.shape == expected.shape
    assert np.max(np.abs(served - expected)) <= ATOL


def test_tritonclient_binary_carries_missing_numbers(http, model_dir):
    """Binary FP64 inputs carry NaN, which JSON cannot.

    Proves: rows with NaN in a numeric feature, sent in binary, are answered like the
    in-process model answers them (its imputer sees NaN), within 1e-9.

    Cannot prove: anything about missing text values (see above).
    """
    rows = demo_frame(30, seed=5, missing_fraction=0.0)[list(FEATURES)]
    rows.loc[[0, 3, 7], "days_since_last_login"] = np.nan
    expected = np.asarray(mlflow.pyfunc.load_model(str(model_dir)).predict(rows))
    result = http.infer(MODEL, _inputs(httpclient, rows, binary=True))
    assert np.max(np.abs(result.as_numpy(OUTPUT) - expected)) <= ATOL


def _ragged(rows) -> np.ndarray:
    return np.zeros((len(rows) - 1, 1))


MALFORMED = {
    # case: (replace inputs, model, requested output, status, words in the message)
    "missing_input": ({"age": None}, MODEL, None, "422", ["missing inputs", "age"]),
    "wrong_datatype": ("age_as_text", MODEL, None, "422", ["'age'", "BYTES", "FP64"]),
    "wrong_shape": ("age_two_columns", MODEL, None, "422", ["'age'", "shape"]),
    "ragged": ("age_ragged", MODEL, None, "422", ["'age'", "carries"]),
    "empty": ("empty", MODEL, None, "422", ["empty batch"]),
    "unknown_model": ({}, "churn-nope", None, "404", ["churn-nope"]),
    "unknown_output": ({}, MODEL, "output-0", "400", ["output-0", OUTPUT]),
}


def _malformed_inputs(module, rows, how, *, binary: bool) -> list:
    n = len(rows)
    if isinstance(how, dict):
        return _inputs(module, rows, binary=binary, **how)
    if how == "age_as_text":
        return _inputs(module, rows, binary=binary, age=np.asarray([["x"]] * n, dtype=object))
    if how == "age_two_columns":
        return _inputs(module, rows, binary=binary, age=np.zeros((n // 2, 2)))
    if how == "empty":
        return _inputs(module, rows.head(0), binary=binary)
    tensors = _inputs(module, rows, binary=binary, age=_ragged(rows))
    tensors[FEATURES.index("age")].set_shape([n, 1])  # declares n rows, carries n - 1
    return tensors


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
@pytest.mark.parametrize("case", list(MALFORMED))
def test_tritonclient_http_malformed_requests_get_4xx_naming_the_problem(http, rows, case, binary):
    """Malformed requests from tritonclient HTTP get a 4xx whose message names the problem.

    Proves: for a missing input, a wrong datatype, a wrong shape, a ragged input, an empty
    batch, an unknown model and an unknown requested output, in JSON and in binary mode,
    tritonclient raises InferenceServerException with the 4xx status and a message naming
    the input / model / output (tritonclient reads the V2 `{"error": ...}` body).

    Cannot prove: every possible malformed payload is mapped.
    """
    how, model, output, status, words = MALFORMED[case]
    inputs = _malformed_inputs(httpclient, rows, how, binary=binary)
    outputs = [httpclient.InferRequestedOutput(output)] if output else None
    with pytest.raises(InferenceServerException) as info:
        http.infer(model, inputs, outputs=outputs)
    assert info.value.status() == status, info.value.message()
    for word in words:
        assert word in info.value.message(), info.value.message()


def test_binary_datatype_it_cannot_read_gets_400_saying_how_to_send_json(server):
    """A binary tensor of a datatype the server cannot decode is refused with advice.

    Proves: a BF16 input in the binary extension gets 400 naming the input, saying
    binary BF16 is unsupported and how to send JSON instead (tritonclient sends no
    BF16 for this model; the request is built by hand with the extension's layout).

    Cannot prove: behaviour for datatypes beyond those listed in the binary module.
    """
    import requests

    header = json.dumps(
        {"inputs": [{"name": "age", "shape": [2], "datatype": "BF16",
                     "parameters": {"binary_data_size": 4}}]}
    ).encode()  # fmt: skip
    answer = requests.post(
        f"{server.http_url}/v2/models/{MODEL}/infer",
        data=header + b"\x00\x01\x02\x03",
        headers={"Inference-Header-Content-Length": str(len(header))},
        timeout=30,
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    for needle in ("'age'", "BF16", "binary_data=False"):
        assert needle in error


def _columns(rows, path: Path) -> Path:
    """Writes the rows as the probes' JSON: input name -> datatype and values."""
    columns = {
        name: {
            "datatype": "BYTES" if name in CATEGORICAL else "FP64",
            "values": rows[name].tolist(),
        }
        for name in FEATURES
    }
    path.write_text(json.dumps(columns), encoding="utf-8")
    return path


def test_tritonclient_grpc_answers_equal_in_process_and_gets_named_errors(
    server, rows, expected, tmp_path: Path
):
    """The gRPC tritonclient (raw_input_contents) against the same server.

    Proves: gRPC metadata lists exactly `churned_probability` FP64 [-1]; the advertised
    output, requested by name, equals in-process predictions within 1e-9 for 25 rows;
    MLServer maps the runtime's 4xx to gRPC client-error codes (422 ->
    FAILED_PRECONDITION, 400 -> INVALID_ARGUMENT, 404 -> NOT_FOUND) with details naming
    the input / model / output.

    Cannot prove: gRPC through a cluster ingress (loopback only).
    """
    probe = Path(__file__).parent / "clients" / "triton_grpc_probe.py"
    address = f"{server.host}:{server.ports.grpc}"
    rows_path = _columns(rows, tmp_path / "rows.json")
    run = subprocess.run(
        [sys.executable, str(probe), address, MODEL, OUTPUT, str(rows_path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["outputs"] == [[OUTPUT, "FP64", ["-1"]]]
    answer = result["answer"]
    assert answer["status"] == "OK", answer
    assert answer["shape"] == [len(rows)]
    assert np.max(np.abs(np.asarray(answer["data"]) - expected)) <= ATOL
    needles = {
        "missing_input": ("FAILED_PRECONDITION", "missing inputs ['tenure_months']"),
        "wrong_datatype": ("FAILED_PRECONDITION", "'tenure_months' has datatype BYTES"),
        "empty": ("FAILED_PRECONDITION", "empty batch"),
        "unknown_model": ("NOT_FOUND", "churn-nope"),
        "unknown_output": ("INVALID_ARGUMENT", "output-0"),
    }
    for case, (status, needle) in needles.items():
        assert result[case]["status"] == f"StatusCode.{status}", (case, result[case])
        assert needle in result[case]["message"], (case, result[case])


@pytest.fixture(scope="session")
def kserve_python() -> Path:
    """The kserve client's venv interpreter, created from its own lock on first use."""
    subprocess.run(
        ["make", "--no-print-directory", "kserve-client-venv"],
        cwd=REPO_ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
    return REPO_ROOT / ".venv-kserve-client" / "bin" / "python"


def test_kserve_client_answers_equal_in_process_and_gets_named_4xx(
    server, kserve_python: Path, rows, expected, tmp_path: Path
):
    """The kserve 0.21 Python client (own venv, pinned lock) against the same server.

    Proves: InferenceRESTClient with JSON and with binary inputs answers the advertised
    output `churned_probability` equal to in-process predictions within 1e-9, and
    missing input, wrong datatype, unknown output, unknown model and empty batch get
    4xx bodies naming the problem.

    Cannot prove: the kserve client's gRPC class (not exercised) or the client against
    a KServe ingress (loopback only).
    """
    rows_path = _columns(rows, tmp_path / "rows.json")
    probe = Path(__file__).parent / "clients" / "kserve_client_probe.py"
    run = subprocess.run(
        [str(kserve_python), str(probe), server.http_url, MODEL, str(rows_path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    for mode in ("json", "binary"):
        answer = result[mode]
        assert answer["status"] == 200, answer
        assert (answer["name"], answer["shape"]) == (OUTPUT, [len(rows)])
        assert np.max(np.abs(np.asarray(answer["data"]) - expected)) <= ATOL
    needles = {
        "missing_input": (422, "missing inputs ['tenure_months']"),
        "wrong_datatype": (422, "'tenure_months' has datatype BYTES"),
        "unknown_output": (400, "output-0"),
        "unknown_model": (404, "churn-nope"),
        "empty": (422, "empty batch"),
    }
    for case, (status, needle) in needles.items():
        assert result[case]["status"] == status, (case, result[case])
        assert needle in result[case]["message"], (case, result[case])
