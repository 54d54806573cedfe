"""``generate``: a config in; the Feast sources, the ground-truth snapshot and a summary out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from churn_data import schema
from churn_data.config import BASE_COEFFICIENTS, DRIFTED_COEFFICIENTS, GeneratorConfig
from churn_data.drift import drift_activity, drift_profiles
from churn_data.labels import churn_logit, roc_auc
from churn_data.world import (
    SECONDS_PER_DAY,
    STREAM_LABEL_SHIFT,
    STREAM_LABELS,
    activity_horizon,
    activity_slots,
    asof_index,
    customer_base,
    profile_events,
    profile_values,
    sigmoid,
    stream,
    to_seconds,
)

NS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True)
class ChurnData:
    """One generated window.

    Attributes:
        profiles: ``profiles.parquet`` rows (feature view ``customer_profile``).
        activity: ``activity.parquet`` rows (feature view ``customer_activity``).
        labels: ``labels.parquet`` rows (the entity dataframe).
        snapshot: The labels joined point-in-time with the recorded features, columns in
            CONVENTIONS.md "Training frame" order plus ``churn_probability``: what a correct
            Feast retrieval returns for ``labels`` (TTLs applied).
        summary: Row counts, churn rates, the Bayes ceiling AUC, before/after drift figures
            and the config (JSON-ready).
    """

    profiles: pd.DataFrame
    activity: pd.DataFrame
    labels: pd.DataFrame
    snapshot: pd.DataFrame
    summary: dict[str, Any]


def _seconds(stamp: pd.Timestamp) -> int:
    """Epoch seconds of a timestamp (floored)."""
    return stamp.value // NS_PER_SECOND


def _decode(codes: np.ndarray, feature: str, new_value: str | None) -> np.ndarray:
    """Categorical codes to an object array of str (``len(categories)`` = new value, -1 = None)."""
    lookup = np.array([*schema.CATEGORIES[feature], new_value, None], dtype=object)
    return lookup[np.where(codes < 0, len(lookup) - 1, codes)]


def _frame(
    customer: np.ndarray,
    seconds: np.ndarray,
    values: dict[str, np.ndarray],
    columns: tuple[str, ...],
    new_category: tuple[str, str | None],
) -> pd.DataFrame:
    """Build a schema frame from customer indexes, epoch seconds and feature arrays."""
    data: dict[str, Any] = {
        schema.ENTITY: customer.astype(np.int64) + 1,
        schema.TIMESTAMP: pd.DatetimeIndex(
            (seconds * NS_PER_SECOND).view("datetime64[ns]")
        ).tz_localize("UTC"),
    }
    for name in columns[2:]:
        if name in schema.CATEGORICAL_FEATURES:
            new_value = new_category[1] if new_category[0] == name else None
            data[name] = _decode(values[name], name, new_value)
        else:
            data[name] = values[name].astype(np.float64, copy=False)
    frame = pd.DataFrame(data, columns=list(columns))
    return frame


def _gather(values: dict[str, np.ndarray], index: np.ndarray) -> dict[str, np.ndarray]:
    """Rows ``index`` of each array, null where ``index`` is -1."""
    found = index >= 0
    safe = np.maximum(index, 0)
    out = {}
    for name, array in values.items():
        if len(array) == 0:
            array = np.zeros(1, dtype=array.dtype)
        missing = -1 if name in schema.CATEGORICAL_FEATURES else np.nan
        out[name] = np.where(found, array[safe], missing)
    return out


def _rate_and_auc(churned: np.ndarray, probability: np.ndarray) -> dict[str, Any]:
    """Label count, churn rate and ceiling AUC of a subset."""
    auc = roc_auc(churned, probability) if len(churned) else float("nan")
    return {
        "labels": len(churned),
        "churn_rate": round(float(churned.mean()), 6) if len(churned) else None,
        "ceiling_auc": None if np.isnan(auc) else round(auc, 6),
    }


@dataclass(frozen=True)
class _Rows:
    """Feature rows of one view, sorted by (customer, time), with true and recorded values."""

    customer: np.ndarray
    seconds: np.ndarray
    true: dict[str, np.ndarray]
    seen: dict[str, np.ndarray]


@dataclass(frozen=True)
class _Labels:
    """Label rows sorted by (customer, time) and the feature rows each was computed from."""

    customer: np.ndarray
    seconds: np.ndarray
    churned: np.ndarray
    probability: np.ndarray
    after_drift: np.ndarray
    profile_at: np.ndarray
    activity_at: np.ndarray


def _day(config: GeneratorConfig, stamp: pd.Timestamp) -> float:
    """Days from the origin."""
    return (stamp.value - config.origin.value) / (SECONDS_PER_DAY * NS_PER_SECOND)


def _world(config: GeneratorConfig) -> tuple[np.ndarray, _Rows, _Rows]:
    """The customers' signup days, their profile rows and their activity rows."""
    seed, n = config.seed, config.n_customers
    origin_seconds = _seconds(config.origin)
    end_day = _day(config, config.end)
    base = customer_base(seed, n)
    # Profile events past the window too: activity values near the end depend on them.
    events = profile_events(base, seed, activity_horizon(config.cadence_days, end_day))
    profile_seconds = to_seconds(origin_seconds, events.day)
    region, channel, tenure, age = profile_values(base, events)
    profile = {
        "plan": events.plan.astype(np.int16),
        "region": region.astype(np.int16),
        "channel": channel.astype(np.int16),
        "tenure_months": tenure,
        "age": age,
    }
    profiles = _Rows(
        events.customer,
        profile_seconds,
        *drift_profiles(
            config.scenario, seed, n, events.customer, events.event, profile_seconds, profile
        ),
    )
    lookback_day = _day(config, config.start) - schema.ACTIVITY_TTL_DAYS - 1.0
    slots = activity_slots(base, events, seed, config.cadence_days, lookback_day, end_day)
    activity_seconds = to_seconds(origin_seconds, slots.day)
    activity = _Rows(
        slots.customer,
        activity_seconds,
        *drift_activity(
            config.scenario,
            seed,
            n,
            slots.customer,
            slots.block,
            slots.position,
            activity_seconds,
            slots.values,
        ),
    )
    return base.signup_day, profiles, activity


def _label_times(config: GeneratorConfig, signup_day: np.ndarray) -> tuple[np.ndarray, ...]:
    """Label (customer, seconds, uniform) sorted by (customer, time), without duplicates.

    Each customer gets Poisson(labels_per_customer x eligible share of the window) times,
    uniform over its eligible span (from signup + warm-up, inside the window).
    """
    rng = stream(config.seed, STREAM_LABELS, _seconds(config.start), _seconds(config.end))
    start_day, end_day = _day(config, config.start), _day(config, config.end)
    eligible_from = np.maximum(start_day, signup_day + config.warmup_days)
    span = np.clip(end_day - eligible_from, 0.0, None)
    counts = rng.poisson(config.labels_per_customer * span / (end_day - start_day))
    customer = np.repeat(np.arange(len(signup_day)), counts)
    day = eligible_from[customer] + rng.random(len(customer)) * span[customer]
    uniform = rng.random(len(customer))
    seconds = to_seconds(_seconds(config.origin), day)
    order = np.lexsort((seconds, customer))
    customer, seconds, uniform = customer[order], seconds[order], uniform[order]
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = (np.diff(customer) != 0) | (np.diff(seconds) != 0)
    keep &= seconds * NS_PER_SECOND < config.end.value
    return customer[keep], seconds[keep], uniform[keep]


def _labels(
    config: GeneratorConfig, signup_day: np.ndarray, profiles: _Rows, activity: _Rows
) -> _Labels:
    """Draw labels from the true features as of each label time (the generating function)."""
    scenario = config.scenario
    customer, seconds, uniform = _label_times(config, signup_day)
    profile_at = asof_index(
        profiles.customer,
        profiles.seconds,
        customer,
        seconds,
        schema.PROFILE_TTL_DAYS * SECONDS_PER_DAY,
    )
    activity_at = asof_index(
        activity.customer,
        activity.seconds,
        customer,
        seconds,
        schema.ACTIVITY_TTL_DAYS * SECONDS_PER_DAY,
    )
    true_features = _frame(
        customer,
        seconds,
        {**_gather(profiles.true, profile_at), **_gather(activity.true, activity_at)},
        (schema.ENTITY, schema.TIMESTAMP, *schema.FEATURES),
        (scenario.new_category_feature, scenario.new_category_value),
    )
    logit = churn_logit(true_features, BASE_COEFFICIENTS)
    after = np.zeros(len(seconds), dtype=bool)
    if scenario.start is not None:
        after = seconds * NS_PER_SECOND >= scenario.start.value
    if scenario.has("concept_drift"):
        drifted = BASE_COEFFICIENTS.blend(DRIFTED_COEFFICIENTS, scenario.concept_strength)
        logit = np.where(after, churn_logit(true_features, drifted), logit)
    churned = (uniform < sigmoid(logit)).astype(np.int64)
    keep = np.ones(len(churned), dtype=bool)
    if scenario.has("label_shift"):
        factor = scenario.churn_odds_factor
        u_accept = stream(
            config.seed, STREAM_LABEL_SHIFT, _seconds(config.start), _seconds(config.end)
        ).random(len(churned))
        # Prior shift: thin one class so the odds of churn scale by ``factor`` while
        # P(features | churned) stays the same; the posterior logit moves by log(factor).
        accept = np.where(churned == 1, min(factor, 1.0), min(1.0 / factor, 1.0))
        keep = ~after | (u_accept < accept)
        logit = np.where(after, logit + np.log(factor), logit)
    return _Labels(
        customer[keep],
        seconds[keep],
        churned[keep],
        sigmoid(logit)[keep],
        after[keep],
        profile_at[keep],
        activity_at[keep],
    )


def _summary(
    config: GeneratorConfig, frames: dict[str, pd.DataFrame], labels: _Labels
) -> dict[str, Any]:
    """Row counts, churn rate, ceiling AUC (overall and around the drift start), config."""
    summary: dict[str, Any] = {
        "config": config.to_dict(),
        "rows": {name: len(frame) for name, frame in frames.items()},
        "customers_labelled": len(np.unique(labels.customer)),
        **_rate_and_auc(labels.churned, labels.probability),
        "activity_ttl_null_rate": round(float((labels.activity_at < 0).mean()), 6)
        if len(labels.customer)
        else None,
    }
    if config.scenario.start is not None:
        after = labels.after_drift
        summary["before_drift"] = _rate_and_auc(labels.churned[~after], labels.probability[~after])
        summary["after_drift"] = _rate_and_auc(labels.churned[after], labels.probability[after])
    return summary


def _emit(
    rows: _Rows,
    mask: np.ndarray,
    columns: tuple[str, ...],
    new_category: tuple[str, str | None],
) -> pd.DataFrame:
    """The recorded rows under ``mask`` as a frame with ``columns``."""
    picked = np.flatnonzero(mask)
    return _frame(
        rows.customer[picked],
        rows.seconds[picked],
        {name: array[picked] for name, array in rows.seen.items()},
        columns,
        new_category,
    )


def generate(config: GeneratorConfig) -> ChurnData:
    """Generate one window of the churn world.

    Args:
        config: What to generate.

    Returns:
        The sources, the ground-truth snapshot and a summary.
    """
    new_category = (config.scenario.new_category_feature, config.scenario.new_category_value)
    signup_day, profiles, activity = _world(config)
    labels = _labels(config, signup_day, profiles, activity)

    snapshot = _frame(
        labels.customer,
        labels.seconds,
        {**_gather(profiles.seen, labels.profile_at), **_gather(activity.seen, labels.activity_at)},
        (schema.ENTITY, schema.TIMESTAMP, *schema.FEATURES),
        new_category,
    )
    snapshot.insert(2, schema.LABEL, labels.churned)
    snapshot[schema.PROBABILITY] = labels.probability

    # The first period also carries the history later labels need; later periods only
    # their own window, so appending never duplicates a row.
    end = config.end.value
    profile_ns = profiles.seconds * NS_PER_SECOND
    profile_from = np.iinfo(np.int64).min if config.is_first_period else config.start.value
    activity_ns = activity.seconds * NS_PER_SECOND
    activity_from = config.start.value
    if config.is_first_period:
        activity_from -= schema.ACTIVITY_TTL_DAYS * SECONDS_PER_DAY * NS_PER_SECOND
    frames = {
        "profiles": _emit(
            profiles,
            (profile_ns >= profile_from) & (profile_ns < end),
            schema.PROFILE_COLUMNS,
            new_category,
        ),
        "activity": _emit(
            activity,
            (activity_ns >= activity_from) & (activity_ns < end),
            schema.ACTIVITY_COLUMNS,
            new_category,
        ),
        "labels": snapshot[list(schema.LABEL_COLUMNS)].copy(),
    }
    return ChurnData(
        frames["profiles"],
        frames["activity"],
        frames["labels"],
        snapshot,
        _summary(config, frames, labels),
    )
