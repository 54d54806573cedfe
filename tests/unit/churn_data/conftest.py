"""Shared small worlds for the churn_data tests (generated once per session)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from churn_data import ChurnData, DriftScenario, GeneratorConfig, generate

DRIFT_START = "2024-04-01"


@pytest.fixture(scope="session")
def drift_start() -> pd.Timestamp:
    """The drift start used by ``scenario_data``."""
    return pd.Timestamp(DRIFT_START, tz="UTC")


@pytest.fixture(scope="session")
def base_config() -> GeneratorConfig:
    """3000 customers, six months, no drift."""
    return GeneratorConfig(n_customers=3000, start="2024-01-01", end="2024-07-01", seed=11)


@pytest.fixture(scope="session")
def scenario_data(base_config: GeneratorConfig) -> Callable[..., ChurnData]:
    """Generate ``base_config`` under a scenario spec (cached), drift from ``DRIFT_START``."""
    cache: dict[tuple, ChurnData] = {}

    def make(spec: str, **params: object) -> ChurnData:
        key = (spec, tuple(sorted(params.items())))
        if key not in cache:
            start = None if spec == "none" else DRIFT_START
            scenario = DriftScenario.parse(spec, start=start, **params)
            cache[key] = generate(
                base_config.later_period(base_config.start, base_config.end, scenario)
            )
        return cache[key]

    return make


@pytest.fixture(scope="session")
def clean(scenario_data: Callable[..., ChurnData]) -> ChurnData:
    """The drift-free world of ``base_config``."""
    return scenario_data("none")
