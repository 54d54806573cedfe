"""Push gauges to a Prometheus Pushgateway, with retry and backoff, never failing the caller.

A pipeline step's verdict (validation passed, drift found, gate blessed, rollout promoted)
is what matters; its metrics are a copy for dashboards and alerts. So a push that keeps
failing is logged loudly and given up: :func:`push_gauges` returns a :class:`PushOutcome`
and raises nothing for network or gateway errors.

Grouping: one Pushgateway group per (step, model, feature service). Each push *replaces*
its group, so a model's dashboard shows the latest run of each step, a finished drift alert
resolves when the next run finds no drift, and the gateway does not grow by one group per
pipeline run. ``version`` and ``pipeline_run`` are ordinary labels on every series.
Prometheus must scrape the gateway with ``honor_labels: true`` (see observability/).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

PUSHGATEWAY_ENV = "SUITE_PUSHGATEWAY_URL"
"""Env var with the cluster default (the suite-endpoints ConfigMap); empty or unset = off."""

JOB_PREFIX = "kfp_mlops_suite_"
"""The Pushgateway ``job`` of a step is this prefix + the step name."""

METRIC_PREFIX = "suite_"
"""Every gauge the suite pushes starts with this."""

RUN_LABELS = ("model", "version", "feature_service", "pipeline_run")
"""Labels every pushed series carries (``step`` comes from the job)."""

GROUPING_LABELS = ("model", "feature_service")
"""Labels (besides ``job``) that name a Pushgateway group: see the module docstring."""


@dataclass(frozen=True)
class RunLabels:
    """Who a step's metrics are about.

    Attributes:
        model: Registered model name ("" when the step is about data only).
        version: Registry version; ``run:<MLflow run id>`` before registration.
        feature_service: Feast feature service the data came from.
        pipeline_run: KFP run name (``dsl.PIPELINE_JOB_NAME_PLACEHOLDER``).
    """

    model: str = ""
    version: str = ""
    feature_service: str = ""
    pipeline_run: str = ""

    def as_dict(self) -> dict[str, str]:
        """Returns the labels in `RUN_LABELS` order."""
        return {name: str(getattr(self, name) or "") for name in RUN_LABELS}


@dataclass(frozen=True)
class Sample:
    """One gauge value.

    Attributes:
        name: Metric name, with the ``suite_`` prefix.
        help: One line saying what the value is.
        value: The value (NaN and inf are skipped when pushed).
        labels: Labels beyond `RUN_LABELS` (e.g. ``feature``); the same metric name
            must use the same label names in every sample.
    """

    name: str
    help: str
    value: float
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PushOutcome:
    """What a push did.

    Attributes:
        pushed: Whether the gateway accepted the group.
        attempts: HTTP attempts made (0 when pushing is off).
        series: Series in the group.
        seconds: Wall time including backoff waits.
        error: The last error, when not pushed.
    """

    pushed: bool
    attempts: int
    series: int
    seconds: float
    error: str = ""


def resolve_gateway(url: str = "") -> str:
    """Returns the Pushgateway URL: `url`, else ``$SUITE_PUSHGATEWAY_URL``, else "" (off)."""
    return (url or os.environ.get(PUSHGATEWAY_ENV, "")).strip()


def build_registry(samples: Sequence[Sample], labels: RunLabels):
    """Returns a fresh ``CollectorRegistry`` holding `samples` as gauges.

    Raises:
        ValueError: If a metric name lacks the suite prefix or one metric gets
            different label names in different samples.
    """
    import math

    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry()
    base = labels.as_dict()
    gauges: dict[str, tuple[Gauge, tuple[str, ...]]] = {}
    for sample in samples:
        if not sample.name.startswith(METRIC_PREFIX):
            raise ValueError(f"metric {sample.name!r} must start with {METRIC_PREFIX!r}")
        extra = tuple(sorted(sample.labels))
        if sample.name not in gauges:
            gauge = Gauge(
                sample.name, sample.help, labelnames=(*RUN_LABELS, *extra), registry=registry
            )
            gauges[sample.name] = (gauge, extra)
        gauge, expected = gauges[sample.name]
        if extra != expected:
            raise ValueError(f"metric {sample.name!r} has labels {extra}, expected {expected}")
        value = float(sample.value)
        if not math.isfinite(value):
            continue
        gauge.labels(**base, **{k: str(v) for k, v in sample.labels.items()}).set(value)
    return registry


def _retryable(exc: BaseException) -> bool:
    """Network errors and 5xx/429 answers are worth another try; other 4xx are not."""
    from urllib.error import HTTPError

    if isinstance(exc, HTTPError):
        return exc.code >= 500 or exc.code == 429
    return isinstance(exc, OSError)


def push_gauges(
    step: str,
    samples: Sequence[Sample],
    labels: RunLabels,
    gateway_url: str = "",
    *,
    attempts: int = 4,
    timeout_s: float = 5.0,
    backoff_initial_s: float = 0.5,
    backoff_max_s: float = 8.0,
) -> PushOutcome:
    """Pushes `samples` as the group of `step` for `labels`' model and feature service.

    Retries connection errors, timeouts, 5xx and 429 with exponential backoff (tenacity);
    gives up after `attempts` and returns an outcome with the error instead of raising.

    Args:
        step: Step name (``check_drift``); the group's job is ``kfp_mlops_suite_<step>``.
        samples: The gauges.
        labels: Model, version, feature service and pipeline run.
        gateway_url: Pushgateway base URL; "" = ``$SUITE_PUSHGATEWAY_URL``; both empty = off.
        attempts: Most HTTP attempts.
        timeout_s: Timeout of one attempt.
        backoff_initial_s: First wait between attempts (doubled each time, with jitter).
        backoff_max_s: Longest wait.

    Returns:
        What happened. Pushing off gives ``pushed=False, attempts=0``.
    """
    from prometheus_client import push_to_gateway
    from tenacity import (
        RetryError,
        Retrying,
        retry_if_exception,
        stop_after_attempt,
        wait_exponential_jitter,
    )

    gateway = resolve_gateway(gateway_url)
    registry = build_registry(samples, labels)
    series = sum(len(family.samples) for family in registry.collect())
    if not gateway:
        return PushOutcome(pushed=False, attempts=0, series=series, seconds=0.0)
    run = labels.as_dict()
    grouping_key = {name: run[name] for name in GROUPING_LABELS}
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(initial=backoff_initial_s, max=backoff_max_s),
        retry=retry_if_exception(_retryable),
        reraise=False,
    )
    started = time.monotonic()
    job = f"{JOB_PREFIX}{step}"
    try:
        for attempt in retrying:
            with attempt:
                push_to_gateway(
                    gateway, job=job, registry=registry, grouping_key=grouping_key,
                    timeout=timeout_s,
                )  # fmt: skip
    except RetryError as exc:
        error = repr(exc.last_attempt.exception())
    except OSError as exc:  # a non-retryable answer (4xx): the gateway refused the group
        error = repr(exc)
    else:
        seconds = time.monotonic() - started
        made = retrying.statistics.get("attempt_number", 1)
        print(f"[suite] metrics: pushed {series} series of {job} to {gateway}", flush=True)
        return PushOutcome(pushed=True, attempts=made, series=series, seconds=seconds)
    made = retrying.statistics.get("attempt_number", attempts)
    print(
        f"[suite] metrics: WARNING push of {job} to {gateway} failed after {made} attempt(s), "
        f"the step's verdict stands: {error}",
        flush=True,
    )
    return PushOutcome(
        pushed=False, attempts=made, series=series, seconds=time.monotonic() - started,
        error=error,
    )  # fmt: skip
