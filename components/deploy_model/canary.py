"""Canary verdicts shared by the KServe and Seldon rollouts (pure)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Phase(enum.Enum):
    """Where a canary is, read from the cluster's status."""

    PENDING = "pending"  # the controller is still creating / loading it
    SERVING = "serving"  # ready and receiving its share of traffic
    FAILED = "failed"  # the controller reports it cannot serve


class Verdict(enum.Enum):
    """What the rollout does next."""

    WAIT = "wait"
    PROMOTE = "promote"
    ROLLBACK = "rollback"


@dataclass(frozen=True)
class State:
    """A phase and the words that explain it (condition reason/message)."""

    phase: Phase
    reason: str = ""


@dataclass(frozen=True)
class Decision:
    """A verdict and why."""

    verdict: Verdict
    reason: str


@dataclass(frozen=True)
class CanaryPolicy:
    """How long to wait and what counts as bad.

    Attributes:
        ready_timeout_s: Longest wait for the canary to become ready.
        observe_s: How long the canary must serve without a bad signal.
        max_error_ratio: Largest tolerated failure share of canary requests
            (only used when an error signal is available).
        poll_s: Seconds between status reads.
    """

    ready_timeout_s: float = 600.0
    observe_s: float = 120.0
    max_error_ratio: float = 0.05
    poll_s: float = 10.0


def decide(
    state: State,
    *,
    elapsed_s: float,
    serving_s: float,
    error_ratio: float | None,
    policy: CanaryPolicy,
) -> Decision:
    """Decides from one status reading.

    Args:
        state: The canary's phase.
        elapsed_s: Seconds since the canary was applied.
        serving_s: Seconds the canary has been serving (0 if not yet).
        error_ratio: Failure share of canary requests, or None if unknown.
        policy: Timeouts and thresholds.
    """
    if state.phase is Phase.FAILED:
        return Decision(Verdict.ROLLBACK, f"canary failed: {state.reason}")
    if state.phase is Phase.PENDING:
        if elapsed_s >= policy.ready_timeout_s:
            return Decision(
                Verdict.ROLLBACK,
                f"canary not ready after {elapsed_s:.0f}s "
                f"(limit {policy.ready_timeout_s:.0f}s): {state.reason}",
            )
        return Decision(Verdict.WAIT, f"canary pending: {state.reason}")
    if error_ratio is not None and error_ratio > policy.max_error_ratio:
        return Decision(
            Verdict.ROLLBACK,
            f"canary error ratio {error_ratio:.3f} > {policy.max_error_ratio:.3f}",
        )
    if serving_s >= policy.observe_s:
        signal = "no error signal" if error_ratio is None else f"error ratio {error_ratio:.3f}"
        return Decision(
            Verdict.PROMOTE, f"canary served {serving_s:.0f}s healthy ({signal}): {state.reason}"
        )
    return Decision(Verdict.WAIT, f"canary serving for {serving_s:.0f}s of {policy.observe_s:.0f}s")


def parse_prometheus_scalar(body: dict) -> float | None:
    """Returns the single value of a Prometheus ``/api/v1/query`` answer, or None.

    None means "no signal" (no samples yet, NaN from 0/0, or an error answer);
    several series are summed.
    """
    import math

    if body.get("status") != "success":
        return None
    result = (body.get("data") or {}).get("result") or []
    values = []
    for series in result:
        _, raw = series.get("value", [None, "NaN"])
        value = float(raw)
        if math.isfinite(value):
            values.append(value)
    return sum(values) if values else None


def prometheus_error_ratio(
    prometheus_url: str, query: str, timeout_s: float = 10.0
) -> float | None:
    """Runs a PromQL query that yields the canary's error ratio; None if unavailable."""
    import requests

    try:
        response = requests.get(
            prometheus_url.rstrip("/") + "/api/v1/query", params={"query": query}, timeout=timeout_s
        )
        return parse_prometheus_scalar(response.json())
    except (requests.RequestException, ValueError):
        return None
