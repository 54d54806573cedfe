"""The binary tensor data extension of the Open Inference Protocol, for MLServer's REST API.

tritonclient (and Triton's own clients) send input tensors in binary by
default: the body is a JSON header of ``Inference-Header-Content-Length``
bytes followed by the raw tensors, and each binary input says its size in
``parameters.binary_data_size``. MLServer 1.7.1 parses every body as JSON and
answers such a request with 422 "JSON decode error", which names nothing a
client can act on.

:func:`install` teaches MLServer's REST request class to read that layout:
the binary tensors are decoded into the JSON ``data`` they stand for
(little-endian, row-major; ``BYTES`` elements as a 4-byte length then the
bytes) before FastAPI validates the request, so the rest of MLServer and the
suite runtime see an ordinary JSON request. A body that breaks the layout is
answered 400 with a message that names the input and the problem and says how
to send JSON instead. Answers are JSON (outputs carry ``data``), which
tritonclient reads whether or not it asked for binary outputs.

gRPC needs none of this: MLServer reads ``raw_input_contents`` itself.

:func:`install` replaces the request class MLServer's REST routes build for
every request (``mlserver.rest.app.Request``); it is called when the suite
runtime module is imported, which MLServer does in its main process before it
serves the model. It is tied to MLServer 1.7.1 (pinned in the lock), and the
tests send binary requests through a real MLServer to prove it still works.
"""

from __future__ import annotations

import json
import struct
from typing import Any

from fastapi import status
from mlserver.errors import MLServerError
from mlserver.rest.requests import Request as MLServerRequest
from starlette.exceptions import HTTPException

HEADER_LENGTH = "inference-header-content-length"
HOW_TO_SEND_JSON = (
    "send the tensor as JSON instead: tritonclient "
    "InferInput.set_data_from_numpy(array, binary_data=False), or a plain JSON body with 'data'"
)
_NUMPY_FORMATS = {
    "BOOL": "?",
    "INT8": "b",
    "INT16": "h",
    "INT32": "i",
    "INT64": "q",
    "UINT8": "B",
    "UINT16": "H",
    "UINT32": "I",
    "UINT64": "Q",
    "FP32": "f",
    "FP64": "d",
}


class BinaryTensorError(MLServerError, HTTPException):
    """A binary-extension request the server cannot read (HTTP 400, ``{"error": ...}``).

    It is an ``HTTPException`` so FastAPI lets it through while it parses the
    body (other exceptions there become "There was an error parsing the
    body"), and an ``MLServerError`` first so MLServer's handler answers it in
    the V2 error shape.
    """

    def __init__(self, msg: str):
        # Not via super(): MLServerError's would reach HTTPException.__init__ with the
        # message as the status code. Set what both handlers read.
        Exception.__init__(self, msg)
        self.status_code = status.HTTP_400_BAD_REQUEST
        self.detail = msg
        self.headers = None

    def __str__(self) -> str:
        return str(self.detail)


def _decode_bytes_elements(name: str, raw: bytes) -> list[str | bytes]:
    values: list[str | bytes] = []
    offset = 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise BinaryTensorError(
                f"input {name!r}: binary BYTES data ends inside an element length; "
                f"{HOW_TO_SEND_JSON}"
            )
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        element = raw[offset : offset + length]
        if len(element) != length:
            raise BinaryTensorError(
                f"input {name!r}: binary BYTES element says {length} bytes but "
                f"{len(element)} remain; {HOW_TO_SEND_JSON}"
            )
        offset += length
        try:
            values.append(element.decode("utf-8"))
        except UnicodeDecodeError:
            values.append(element)
    return values


def _decode_tensor(tensor: dict[str, Any], raw: bytes) -> list[Any]:
    name = tensor.get("name")
    datatype = tensor.get("datatype")
    if datatype == "BYTES":
        values: list[Any] = _decode_bytes_elements(str(name), raw)
    elif datatype in _NUMPY_FORMATS:
        fmt = _NUMPY_FORMATS[datatype]
        size = struct.calcsize(fmt)
        if len(raw) % size:
            raise BinaryTensorError(
                f"input {name!r}: {len(raw)} binary bytes are not a whole number of "
                f"{datatype} values ({size} bytes each); {HOW_TO_SEND_JSON}"
            )
        values = list(struct.unpack(f"<{len(raw) // size}{fmt}", raw))
    else:
        raise BinaryTensorError(
            f"input {name!r}: binary data of datatype {datatype!r} is not supported; "
            f"{HOW_TO_SEND_JSON}"
        )
    # Whether the values fill the declared shape is the runtime's check (422), as for JSON.
    return values


def decode_binary_request(body: bytes, header_length: str | int) -> dict[str, Any]:
    """Returns the JSON request a binary-extension body stands for.

    Args:
        body: The whole HTTP body (JSON header, then the binary tensors).
        header_length: The ``Inference-Header-Content-Length`` header value.

    Raises:
        BinaryTensorError: Naming the problem (a bad header length, a header
            that is not JSON, sizes that do not add up, an unsupported datatype).
    """
    try:
        length = int(header_length)
    except (TypeError, ValueError):
        raise BinaryTensorError(
            f"Inference-Header-Content-Length {header_length!r} is not a byte count"
        ) from None
    if not 0 < length <= len(body):
        raise BinaryTensorError(
            f"Inference-Header-Content-Length {length} does not fit a body of {len(body)} bytes"
        )
    try:
        request = json.loads(body[:length])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BinaryTensorError(
            f"the first {length} bytes (Inference-Header-Content-Length) are not a JSON "
            f"request: {exc}"
        ) from None
    if not isinstance(request, dict) or not isinstance(request.get("inputs"), list):
        raise BinaryTensorError("the JSON header of a binary request must have an 'inputs' list")
    offset = length
    for tensor in request["inputs"]:
        parameters = tensor.get("parameters") or {}
        size = parameters.pop("binary_data_size", None)
        if size is None:
            continue
        if not isinstance(size, int) or size < 0:
            raise BinaryTensorError(
                f"input {tensor.get('name')!r}: binary_data_size {size!r} is not a byte count"
            )
        raw = body[offset : offset + size]
        if len(raw) != size:
            raise BinaryTensorError(
                f"input {tensor.get('name')!r} says binary_data_size {size} but only "
                f"{len(raw)} bytes remain in the body"
            )
        offset += size
        tensor["data"] = _decode_tensor(tensor, raw)
        if not parameters:
            tensor.pop("parameters", None)
    if offset != len(body):
        raise BinaryTensorError(
            f"{len(body) - offset} bytes of binary data follow the last input's binary_data_size"
        )
    # Answers are JSON; tritonclient reads JSON outputs whatever it asked for.
    (request.get("parameters") or {}).pop("binary_data_output", None)
    for output in request.get("outputs") or []:
        (output.get("parameters") or {}).pop("binary_data", None)
    return request


class BinaryTensorRequest(MLServerRequest):
    """MLServer's REST request, reading the binary tensor data extension too.

    A binary request may say ``content-type: application/octet-stream`` (the
    kserve client does); FastAPI would then validate the raw bytes instead of
    asking for JSON, so such a request is presented as ``application/json``:
    :meth:`json` is what turns it into JSON.
    """

    def __init__(self, scope: Any, *args: Any, **kwargs: Any) -> None:
        headers = scope.get("headers") or []
        if any(key.lower() == HEADER_LENGTH.encode() for key, _ in headers):
            scope["headers"] = [
                (key, b"application/json" if key.lower() == b"content-type" else value)
                for key, value in headers
            ]
        super().__init__(scope, *args, **kwargs)

    async def json(self) -> Any:
        """Returns the request as JSON, decoding binary tensors into ``data`` first."""
        header_length = self.headers.get(HEADER_LENGTH)
        if header_length is None:
            return await super().json()
        if not hasattr(self, "_json"):
            self._json = decode_binary_request(await self.body(), header_length)
        return self._json


def install() -> None:
    """Makes MLServer's REST routes build :class:`BinaryTensorRequest` (idempotent)."""
    import mlserver.rest.app

    mlserver.rest.app.Request = BinaryTensorRequest  # type: ignore[misc]
