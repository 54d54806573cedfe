"""Open Inference Protocol (V2) over REST: build requests, call a server, read answers.

Requests are built with MLServer's own ``PandasCodec`` so that what the suite
sends is exactly what MLServer decodes (one input per column, strings as
``BYTES`` with ``content_type: str``, request ``content_type: pd``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import requests


@dataclass(frozen=True)
class V2Answer:
    """One HTTP answer from a V2 endpoint."""

    status: int
    body: dict[str, Any]
    seconds: float

    @property
    def ok(self) -> bool:
        """Whether the status is 2xx."""
        return 200 <= self.status < 300

    @property
    def error(self) -> str:
        """The server's error message (``{"error": ...}``), or "" if none."""
        detail = self.body.get("error") or self.body.get("detail") or ""
        return detail if isinstance(detail, str) else str(detail)


def build_v2_request(frame: pd.DataFrame) -> dict[str, Any]:
    """Returns the V2 inference request body for the rows of ``frame``.

    Missing values (NaN, None) are sent as JSON ``null``, which MLServer decodes
    back to NaN/None, so a model that handles missing values sees them as in
    process. JSON has no NaN token: MLServer rejects a body that contains one.

    Args:
        frame: Rows to score, one column per model input.

    Raises:
        ValueError: If a numeric column holds infinity (JSON cannot carry it).
    """
    import numpy as np
    import pandas as pd
    from mlserver.codecs import PandasCodec

    frame = frame.reset_index(drop=True)
    numeric = frame.select_dtypes(include="number")
    infinite = [str(c) for c in numeric.columns if np.isinf(numeric[c].to_numpy(float)).any()]
    if infinite:
        raise ValueError(f"columns {infinite} hold infinity, which JSON cannot carry")
    missing = frame.isna()
    # MLServer's codec cannot encode None inside a text column: encode a
    # placeholder, then put null back where the value was missing.
    placeholders = {
        c: frame[c].where(~missing[c], "")
        for c in frame.columns
        if missing[c].any() and not pd.api.types.is_numeric_dtype(frame[c])
    }
    request = PandasCodec.encode_request(frame.assign(**placeholders), use_bytes=False)
    body = request.model_dump(exclude_none=True)
    for tensor in body["inputs"]:
        gaps = missing[tensor["name"]].to_numpy()
        if gaps.any():
            tensor["data"] = [
                None if gap else v for v, gap in zip(tensor["data"], gaps, strict=True)
            ]
    return body


def infer_path(model: str, version: str | None = None) -> str:
    """Returns the V2 infer path for a model (and optionally one version)."""
    if version is None:
        return f"/v2/models/{model}/infer"
    return f"/v2/models/{model}/versions/{version}/infer"


def post_json(
    session: requests.Session,
    url: str,
    body: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    timeout_s: float = 30.0,
) -> V2Answer:
    """POSTs JSON and returns status, decoded body and wall time.

    A non-JSON body (e.g. a plain-text 404) is returned as ``{"error": text}``.
    """
    import requests

    started = time.perf_counter()
    response = session.post(url, json=body or {}, headers=headers, timeout=timeout_s)
    seconds = time.perf_counter() - started
    try:
        decoded = response.json()
    except requests.JSONDecodeError:
        decoded = {"error": response.text}
    if not isinstance(decoded, dict):
        decoded = {"result": decoded}
    return V2Answer(response.status_code, decoded, seconds)


def infer(
    session: requests.Session,
    base_url: str,
    model: str,
    body: dict[str, Any],
    *,
    version: str | None = None,
    headers: dict[str, str] | None = None,
    timeout_s: float = 30.0,
) -> V2Answer:
    """Sends one V2 inference request.

    Args:
        session: HTTP session (keeps connections alive between requests).
        base_url: Server base URL, e.g. ``http://127.0.0.1:8080``.
        model: Model name.
        body: V2 request body (see :func:`build_v2_request`).
        version: A specific model version, or None for the model's default.
        headers: Extra headers (e.g. ``Seldon-Model`` for a Seldon mesh).
        timeout_s: Request timeout.
    """
    url = base_url.rstrip("/") + infer_path(model, version)
    return post_json(session, url, body, headers=headers, timeout_s=timeout_s)


def decode_v2_outputs(body: dict[str, Any]) -> np.ndarray:
    """Returns the outputs of a V2 response as one float array, one row per input row.

    A single output is reshaped to its declared shape; several outputs (a
    model returning a frame) become columns in the order sent.

    Raises:
        ValueError: If the response has no outputs.
    """
    import numpy as np

    outputs = body.get("outputs") or []
    if not outputs:
        raise ValueError(f"V2 response has no outputs: {body}")
    arrays = [
        np.asarray(out["data"], dtype=float).reshape([int(d) for d in out["shape"]])
        for out in outputs
    ]
    if len(arrays) == 1:
        return arrays[0]
    return np.column_stack([a.reshape(a.shape[0], -1) for a in arrays])


def compare_predictions(served: np.ndarray, expected: np.ndarray, atol: float) -> float:
    """Returns the largest absolute difference between two prediction arrays.

    Raises:
        ValueError: If they hold a different number of values.
    """
    import numpy as np

    served = np.asarray(served, dtype=float).ravel()
    expected = np.asarray(expected, dtype=float).ravel()
    if served.shape != expected.shape:
        raise ValueError(
            f"server returned {served.size} values, in-process model {expected.size} (atol {atol})"
        )
    return float(np.max(np.abs(served - expected))) if served.size else 0.0


def repository_load(
    session: requests.Session, base_url: str, name: str, timeout_s: float = 180.0
) -> V2Answer:
    """Asks MLServer to (re)load every version of ``name`` found on disk.

    MLServer loads each ``model-settings.json`` named ``name`` and unloads the
    loaded versions of ``name`` that are no longer on disk.
    """
    url = f"{base_url.rstrip('/')}/v2/repository/models/{name}/load"
    return post_json(session, url, {}, timeout_s=timeout_s)


def repository_unload(session: requests.Session, base_url: str, name: str) -> V2Answer:
    """Asks MLServer to unload every version of ``name``."""
    url = f"{base_url.rstrip('/')}/v2/repository/models/{name}/unload"
    return post_json(session, url, {})
