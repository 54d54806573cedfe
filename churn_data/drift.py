"""Drift transforms applied to feature rows at or after the drift start.

Each transform draws from its own streams (keyed like the base events), so turning a
scenario on never changes a base draw, and rows before the drift start stay byte-identical.
"""

from __future__ import annotations

import numpy as np

from churn_data import schema
from churn_data.config import DriftScenario
from churn_data.world import (
    KEY_OFFSET,
    SLOTS_PER_BLOCK,
    STREAM_ACTIVITY_DRIFT,
    STREAM_PROFILE_DRIFT,
    stream,
)

# Standard deviation of each numeric feature without drift (seed 0, 20k customers, one year;
# tests/unit/churn_data checks they still hold): the unit of ``DriftScenario.magnitude``.
REFERENCE_SD: dict[str, float] = {
    "tenure_months": 16.0,
    "age": 12.5,
    "sessions_7d": 4.6,
    "spend_30d": 97.0,
    "support_tickets_30d": 0.56,
    "avg_order_value": 19.5,
    "days_since_last_login": 7.8,
}

# How a shifted value is made plausible again: (decimals, lower bound, upper bound).
_VALUE_RANGE: dict[str, tuple[int, float, float]] = {
    "tenure_months": (0, 0.0, np.inf),
    "age": (0, 18.0, 90.0),
    "sessions_7d": (0, 0.0, np.inf),
    "spend_30d": (2, 0.0, np.inf),
    "support_tickets_30d": (0, 0.0, np.inf),
    "avg_order_value": (2, 0.0, np.inf),
    "days_since_last_login": (2, 0.0, np.inf),
}


def _draw_names(features: tuple[str, ...], extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Names of the uniform columns drawn per row (never reorder: it changes the data)."""
    return (*extra, *(f"missing:{f}" for f in features), *(f"round:{f}" for f in features))


_PROFILE_DRAWS = _draw_names(schema.PROFILE_FEATURES, ("new_category",))
_ACTIVITY_DRAWS = _draw_names(schema.ACTIVITY_FEATURES)


def _profile_draws(
    seed: int, n_customers: int, customer: np.ndarray, event: np.ndarray
) -> dict[str, np.ndarray]:
    """Named uniforms per profile row, from one stream per profile event number."""
    out = np.empty((len(customer), len(_PROFILE_DRAWS)))
    for number in np.unique(event):
        rows = np.flatnonzero(event == number)
        rng = stream(seed, STREAM_PROFILE_DRIFT, int(number))
        out[rows] = rng.random((n_customers, len(_PROFILE_DRAWS)))[customer[rows]]
    return dict(zip(_PROFILE_DRAWS, out.T, strict=True))


def _activity_draws(
    seed: int, n_customers: int, customer: np.ndarray, block: np.ndarray, position: np.ndarray
) -> dict[str, np.ndarray]:
    """Named uniforms per activity row, from one stream per slot block."""
    out = np.empty((len(customer), len(_ACTIVITY_DRAWS)))
    for number in np.unique(block):
        rows = np.flatnonzero(block == number)
        rng = stream(seed, STREAM_ACTIVITY_DRIFT, int(number) + KEY_OFFSET)
        draws = rng.random((n_customers, SLOTS_PER_BLOCK, len(_ACTIVITY_DRAWS)))
        out[rows] = draws[customer[rows], position[rows]]
    return dict(zip(_ACTIVITY_DRAWS, out.T, strict=True))


def _shift(
    values: dict[str, np.ndarray],
    after: np.ndarray,
    draws: dict[str, np.ndarray],
    scenario: DriftScenario,
) -> dict[str, np.ndarray]:
    """Covariate shift: add ``magnitude`` reference SDs to the chosen features after drift.

    Whole-number features are rounded stochastically (down or up with the probabilities
    that keep the mean), so the mean moves by the shift, not by the shift rounded.
    """
    out = dict(values)
    for name in scenario.shift_features:
        if name not in values:
            continue
        decimals, low, high = _VALUE_RANGE[name]
        moved = values[name] + scenario.magnitude * REFERENCE_SD[name]
        if decimals == 0:
            moved = np.floor(moved + draws[f"round:{name}"])
        moved = np.clip(np.round(moved, decimals), low, high)
        out[name] = np.where(after, moved, values[name])
    return out


def _mask(
    values: dict[str, np.ndarray],
    after: np.ndarray,
    draws: dict[str, np.ndarray],
    scenario: DriftScenario,
) -> dict[str, np.ndarray]:
    """Missingness surge: null the chosen features after drift at ``missing_rate``."""
    out = dict(values)
    for name in scenario.missing_features:
        if name not in values:
            continue
        hit = after & (draws[f"missing:{name}"] < scenario.missing_rate)
        missing = -1 if name in schema.CATEGORICAL_FEATURES else np.nan
        out[name] = np.where(hit, missing, values[name])
    return out


def drift_profiles(
    scenario: DriftScenario,
    seed: int,
    n_customers: int,
    customer: np.ndarray,
    event: np.ndarray,
    seconds: np.ndarray,
    values: dict[str, np.ndarray],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Apply the scenario to profile rows.

    Args:
        scenario: The drift scenario.
        seed: The config seed.
        n_customers: Size of the customer base.
        customer: Customer index of each row.
        event: Event number of each row.
        seconds: Epoch seconds of each row.
        values: Profile features; categoricals as int codes (``len(categories)`` is the new
            value, -1 is null), numerics as float64.

    Returns:
        ``(true, observed)``: the values the world has (covariate shift, new category) and
        the values that are recorded (additionally nulled by a missingness surge).
    """
    if not scenario.kinds:
        return values, values
    after = seconds * 1_000_000_000 >= scenario.start.value
    draws = _profile_draws(seed, n_customers, customer, event)
    true = values
    if scenario.has("covariate_shift"):
        true = _shift(true, after, draws, scenario)
    if scenario.has("new_category"):
        name = scenario.new_category_feature
        hit = after & (draws["new_category"] < scenario.new_category_rate)
        true = {**true, name: np.where(hit, len(schema.CATEGORIES[name]), true[name])}
    observed = true
    if scenario.has("missingness_surge"):
        observed = _mask(true, after, draws, scenario)
    return true, observed


def drift_activity(
    scenario: DriftScenario,
    seed: int,
    n_customers: int,
    customer: np.ndarray,
    block: np.ndarray,
    position: np.ndarray,
    seconds: np.ndarray,
    values: dict[str, np.ndarray],
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Apply the scenario to activity rows.

    Args:
        scenario: The drift scenario.
        seed: The config seed.
        n_customers: Size of the customer base.
        customer: Customer index of each row.
        block: Random-stream block of each row.
        position: Slot position of each row inside its block.
        seconds: Epoch seconds of each row.
        values: Activity features, float64.

    Returns:
        ``(true, observed)`` as for ``drift_profiles``.
    """
    if not scenario.kinds:
        return values, values
    shifts = scenario.has("covariate_shift") and set(scenario.shift_features) & set(values)
    masks = scenario.has("missingness_surge") and set(scenario.missing_features) & set(values)
    if not (shifts or masks):
        return values, values
    after = seconds * 1_000_000_000 >= scenario.start.value
    draws = _activity_draws(seed, n_customers, customer, block, position)
    true = _shift(values, after, draws, scenario) if shifts else values
    observed = _mask(true, after, draws, scenario) if masks else true
    return true, observed
