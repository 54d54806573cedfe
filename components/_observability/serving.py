"""Served-model metrics: request latency, outcomes and the predicted probability per model.

MLServer exports request counts and latency per model but nothing about what the model
answered. The suite runtime adds, next to MLServer's own metrics on the same ``/metrics``
port (and in MLServer's multi-process mode, through the same multiprocess directory):

- ``suite_model_request_duration_seconds`` (histogram): time in the runtime's ``predict``,
  decoding and schema checks included;
- ``suite_model_requests_total`` (counter) by ``outcome``: ``success``, ``client_error``
  (4xx: the request's fault) or ``server_error`` (5xx), so an error ratio is not inflated
  by clients sending bad rows;
- ``suite_model_predicted_probability`` (histogram): the positive-class probability of
  every row answered, so prediction drift and canary-vs-champion score distributions are
  visible between pipeline runs.

All carry ``model`` and ``version`` labels (the MLServer model-settings name and version).
Metrics are created on first use, not at import: MLServer switches prometheus-client to
its multi-process value class when it configures parallel workers, after imports.

Use it with one decorator on the runtime's ``predict``: :func:`observed_predict`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

LATENCY_METRIC = "suite_model_request_duration_seconds"
REQUESTS_METRIC = "suite_model_requests_total"
PROBABILITY_METRIC = "suite_model_predicted_probability"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PROBABILITY_BUCKETS = tuple(round(0.1 * i, 1) for i in range(1, 11))
OUTCOMES = ("success", "client_error", "server_error")


@dataclass(frozen=True)
class ServedMetrics:
    """The three collectors (see the module docstring)."""

    latency: Any
    requests: Any
    probability: Any


_METRICS: dict[int, ServedMetrics] = {}


def served_metrics(registry: Any = None) -> ServedMetrics:
    """Returns the served-model collectors of `registry`, creating them on first use.

    Args:
        registry: A ``prometheus_client.CollectorRegistry``; None = the default
            registry, which MLServer's metrics endpoint serves.
    """
    from prometheus_client import REGISTRY, Counter, Histogram

    target = REGISTRY if registry is None else registry
    key = id(target)
    if key not in _METRICS:
        labels = ("model", "version")
        _METRICS[key] = ServedMetrics(
            latency=Histogram(
                LATENCY_METRIC,
                "Seconds the suite runtime spent on a V2 inference request.",
                labels,
                buckets=LATENCY_BUCKETS,
                registry=target,
            ),
            requests=Counter(
                REQUESTS_METRIC.removesuffix("_total"),
                "V2 inference requests by outcome (success, client_error, server_error).",
                (*labels, "outcome"),
                registry=target,
            ),
            probability=Histogram(
                PROBABILITY_METRIC,
                "Predicted positive-class probability of every row answered.",
                labels,
                buckets=PROBABILITY_BUCKETS,
                registry=target,
            ),
        )
    return _METRICS[key]


def positive_probabilities(outputs: list[dict[str, Any]]) -> list[float]:
    """Returns the positive-class probability per row from V2 response outputs.

    A ``[n, 2]`` output (``predict_proba``) gives its second column; a ``[n]`` or
    ``[n, 1]`` output is taken as the probability itself. Values outside [0, 1] (a
    regressor, class labels of a multi-class model) give an empty list.
    """
    import numpy as np

    if len(outputs) != 1:
        return []
    out = outputs[0]
    values = np.asarray(out.get("data") or [], dtype=float).reshape(
        [int(d) for d in out.get("shape") or [-1]]
    )
    if values.ndim == 2 and values.shape[1] == 2:
        values = values[:, 1]
    elif values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    elif values.ndim != 1:
        return []
    values = values[np.isfinite(values)]
    if values.size == 0 or values.min() < 0.0 or values.max() > 1.0:
        return []
    return values.tolist()


def outcome_of(exc: BaseException) -> str:
    """``client_error`` for an exception carrying a 4xx ``status_code``, else ``server_error``."""
    status = getattr(exc, "status_code", 500)
    return "client_error" if isinstance(status, int) and 400 <= status < 500 else "server_error"


def record_request(
    model: str,
    version: str | None,
    seconds: float,
    *,
    outcome: str = "success",
    outputs: list[dict[str, Any]] | None = None,
    registry: Any = None,
) -> None:
    """Records one request: its latency, its outcome and (on success) the probabilities.

    Args:
        model: Served model name.
        version: Served version (None = "").
        seconds: Time spent answering.
        outcome: One of `OUTCOMES`.
        outputs: The response's V2 outputs as dicts (``name``, ``shape``, ``data``).
        registry: Registry to record in; None = the default one.

    Raises:
        ValueError: For an unknown outcome.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome {outcome!r} is not one of {OUTCOMES}")
    metrics = served_metrics(registry)
    labels = {"model": model, "version": version or ""}
    metrics.latency.labels(**labels).observe(seconds)
    for other in OUTCOMES:  # every outcome exists from the first request: ratios are 0, not empty
        metrics.requests.labels(**labels, outcome=other)
    metrics.requests.labels(**labels, outcome=outcome).inc()
    histogram = metrics.probability.labels(**labels)
    for probability in positive_probabilities(outputs or []):
        histogram.observe(probability)


Response = TypeVar("Response")


def observed_predict(
    predict: Callable[[Any, Any], Awaitable[Response]],
) -> Callable[[Any, Any], Awaitable[Response]]:
    """Decorates an MLServer runtime's ``async predict(self, payload)`` with the metrics.

    The runtime's ``name`` and ``version`` label the series; an exception is recorded by
    its status (see :func:`outcome_of`) and re-raised unchanged.
    """

    @functools.wraps(predict)
    async def wrapper(self: Any, payload: Any) -> Response:
        started = time.perf_counter()
        try:
            response = await predict(self, payload)
        except Exception as exc:
            record_request(
                self.name, self.version, time.perf_counter() - started, outcome=outcome_of(exc)
            )
            raise
        outputs = [o.model_dump() if hasattr(o, "model_dump") else o for o in response.outputs]
        record_request(self.name, self.version, time.perf_counter() - started, outputs=outputs)
        return response

    return wrapper
