"""Runs tritonclient's gRPC client in a process of its own and prints what came back.

tritonclient.grpc and MLServer register the same protobuf package (``inference``) in
protobuf's global descriptor pool, so one interpreter cannot import both: the tests,
which import MLServer's codecs, run this script instead. Usage:
``python triton_grpc_probe.py <host:port> <model> <output> <rows.json>`` with the JSON
mapping each input name to ``{"datatype": ..., "values": [...]}``; prints one JSON object.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException


def _inputs(rows: dict, skip: str = "", **replace: tuple) -> list:
    tensors = []
    for name, column in rows.items():
        if name == skip:
            continue
        datatype, values = replace.get(name, (column["datatype"], column["values"]))
        array = np.asarray(values, dtype=object if datatype == "BYTES" else "float64")
        tensor = grpcclient.InferInput(name, [len(array), 1], datatype)
        tensor.set_data_from_numpy(array.reshape(-1, 1))
        tensors.append(tensor)
    return tensors


def _call(client, model: str, inputs: list, output: str) -> dict:
    try:
        result = client.infer(model, inputs, outputs=[grpcclient.InferRequestedOutput(output)])
    except InferenceServerException as exc:
        return {"status": exc.status(), "message": exc.message()}
    values = result.as_numpy(output)
    return {"status": "OK", "shape": list(values.shape), "data": values.ravel().tolist()}


def main(url: str, model: str, output: str, rows: dict) -> dict:
    client = grpcclient.InferenceServerClient(url)
    numeric = next(k for k, c in rows.items() if c["datatype"] == "FP64")
    n = len(rows[numeric]["values"])
    empty = {k: {"datatype": c["datatype"], "values": []} for k, c in rows.items()}
    meta = client.get_model_metadata(model, as_json=True)
    result = {
        "outputs": [(o["name"], o["datatype"], o["shape"]) for o in meta["outputs"]],
        "answer": _call(client, model, _inputs(rows), output),
        "missing_input": _call(client, model, _inputs(rows, skip=numeric), output),
        "wrong_datatype": _call(
            client, model, _inputs(rows, **{numeric: ("BYTES", ["x"] * n)}), output
        ),
        "empty": _call(client, model, _inputs(empty), output),
        "unknown_model": _call(client, f"{model}-nope", _inputs(rows), output),
        "unknown_output": _call(client, model, _inputs(rows), "output-0"),
    }
    client.close()
    return result


if __name__ == "__main__":
    address, model_name, output_name, rows_path = sys.argv[1:5]
    with open(rows_path, encoding="utf-8") as handle:
        payload = json.load(handle)
    print(json.dumps(main(address, model_name, output_name, payload)))
