"""Runs inside the kserve client's own venv: sends V2 requests and prints what came back.

Usage: ``python kserve_client_probe.py <base_url> <model> <rows.json>`` where the JSON
maps each input name to ``{"datatype": "FP64"|"BYTES", "values": [...]}``. Prints one
JSON object: the answers to a JSON and a binary request and, per malformed case, the
HTTP status and the message the client raised. Imports only kserve, numpy and the
standard library (the suite is not installed in this venv).
"""

from __future__ import annotations

import asyncio
import json
import sys

import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig
from kserve.protocol.infer_type import RequestedOutput


def _tensor(name: str, datatype: str, values: list, binary: bool) -> InferInput:
    array = np.asarray(values, dtype=object if datatype == "BYTES" else "float64").reshape(-1, 1)
    tensor = InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array, binary_data=binary)
    return tensor


def _inputs(rows: dict, binary: bool = False, skip: str = "", **replace: tuple) -> list:
    tensors = []
    for name, column in rows.items():
        if name != skip:
            datatype, values = replace.get(name, (column["datatype"], column["values"]))
            tensors.append(_tensor(name, datatype, values, binary))
    return tensors


async def _call(client, base: str, model: str, inputs: list, outputs=None) -> dict:
    request = InferRequest(model_name=model, infer_inputs=inputs, request_outputs=outputs)
    try:
        response = await client.infer(base, request, model_name=model)
    except Exception as exc:  # report whatever the client raised, with the server's body
        answer = getattr(exc, "response", None)
        return {
            "status": getattr(answer, "status_code", None),
            "message": getattr(answer, "text", str(exc)),
        }
    out = response.outputs[0]
    return {
        "status": 200,
        "name": out.name,
        "shape": list(out.shape),
        "data": out.as_numpy().ravel().tolist(),
    }


async def main(base: str, model: str, rows: dict) -> dict:
    client = InferenceRESTClient(RESTConfig(protocol="v2", timeout=60))
    numeric = next(k for k, c in rows.items() if c["datatype"] == "FP64")
    n = len(rows[numeric]["values"])
    empty = {k: {"datatype": c["datatype"], "values": []} for k, c in rows.items()}
    result = {
        "json": await _call(client, base, model, _inputs(rows)),
        "binary": await _call(client, base, model, _inputs(rows, binary=True)),
        "missing_input": await _call(client, base, model, _inputs(rows, skip=numeric)),
        "wrong_datatype": await _call(
            client, base, model, _inputs(rows, **{numeric: ("BYTES", ["x"] * n)})
        ),
        "unknown_output": await _call(
            client, base, model, _inputs(rows), [RequestedOutput("output-0")]
        ),
        "unknown_model": await _call(client, base, f"{model}-nope", _inputs(rows)),
        "empty": await _call(client, base, model, _inputs(empty)),
    }
    await client.close()
    return result


if __name__ == "__main__":
    base_url, model_name, rows_path = sys.argv[1:4]
    with open(rows_path, encoding="utf-8") as handle:
        payload = json.load(handle)
    print(json.dumps(asyncio.run(main(base_url, model_name, payload))))
