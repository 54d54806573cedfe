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


def _label_times(
    config: GeneratorConfig, signup_day: np.ndarray, start_day: float, end_day: float
) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    """Random label times: per customer Poisson many, uniform over its eligible span."""
    rng = stream(config.seed, STREAM_LABELS, _seconds(config.start), _seconds(config.end))
    eligible_from = np.maximum(start_day, signup_day + config.warmup_days)
    span = np.clip(end_day - eligible_from, 0.0, None)
    counts = rng.poisson(config.labels_per_customer * span / (end_day - start_day))
    customer = np.repeat(np.arange(len(signup_day)), counts)
    day = eligible_from[customer] + rng.random(len(customer)) * span[customer]
    return customer, day, rng


def _rate_and_auc(churned: np.ndarray, probability: np.ndarray) -> dict[str, Any]:
    """Label count, churn rate and ceiling AUC of a subset."""
    return {
        "labels": len(churned),
        "churn_rate": round(float(churned.mean()), 6) if len(churned) else None,
        "ceiling_auc": round(roc_auc(churned, probability), 6) if len(churned) else None,
    }


def generate(config: GeneratorConfig) -> ChurnData:
    """Generate one window of the churn world.

    Args:
        config: What to generate.

    Returns:
        The sources, the ground-truth snapshot and a summary.
    """
    scenario = config.scenario
    origin_seconds = _seconds(config.origin)
    start_day = (config.start.value - config.origin.value) / (SECONDS_PER_DAY * NS_PER_SECOND)
    end_day = (config.end.value - config.origin.value) / (SECONDS_PER_DAY * NS_PER_SECOND)
    new_category = (scenario.new_category_feature, scenario.new_category_value)

    base = customer_base(config.seed, config.n_customers)
    # Profile events past the window too: activity values near the end depend on them.
    horizon_day = activity_horizon(config.cadence_days, end_day)
    events = profile_events(base, config.seed, horizon_day)
    profile_seconds = to_seconds(origin_seconds, events.day)
    region, channel, tenure, age = profile_values(base, events)
    profile_base = {
        "plan": events.plan.astype(np.int16),
        "region": region.astype(np.int16),
        "channel": channel.astype(np.int16),
        "tenure_months": tenure,
        "age": age,
    }
    profile_true, profile_seen = drift_profiles(
        scenario,
        config.seed,
        base.size,
        events.customer,
        events.event,
        profile_seconds,
        profile_base,
    )

    lookback_day = start_day - schema.ACTIVITY_TTL_DAYS - 1.0
    slots = activity_slots(base, events, config.seed, config.cadence_days, lookback_day, end_day)
    activity_seconds = to_seconds(origin_seconds, slots.day)
    activity_true, activity_seen = drift_activity(
        scenario,
        config.seed,
        base.size,
        slots.customer,
        slots.block,
        slots.position,
        activity_seconds,
        slots.values,
    )

    # Labels: random times, features as of each time (TTL semantics), Bernoulli draw.
    label_customer, label_day, rng = _label_times(config, base.signup_day, start_day, end_day)
    label_seconds = to_seconds(origin_seconds, label_day)
    u_label = rng.random(len(label_customer))
    order = np.lexsort((label_seconds, label_customer))
    label_customer, label_seconds, u_label = (
        label_customer[order],
        label_seconds[order],
        u_label[order],
    )
    keep = np.ones(len(order), dtype=bool)
    keep[1:] = (np.diff(label_customer) != 0) | (np.diff(label_seconds) != 0)
    keep &= label_seconds * NS_PER_SECOND < config.end.value
    label_customer, label_seconds, u_label = (
        label_customer[keep],
        label_seconds[keep],
        u_label[keep],
    )
    profile_at = asof_index(
        events.customer,
        profile_seconds,
        label_customer,
        label_seconds,
        schema.PROFILE_TTL_DAYS * SECONDS_PER_DAY,
    )
    activity_at = asof_index(
        slots.customer,
        activity_seconds,
        label_customer,
        label_seconds,
        schema.ACTIVITY_TTL_DAYS * SECONDS_PER_DAY,
    )
    true_features = _frame(
        label_customer,
        label_seconds,
        {**_gather(profile_true, profile_at), **_gather(activity_true, activity_at)},
        (schema.ENTITY, schema.TIMESTAMP, *schema.FEATURES),
        new_category,
    )
    logit = churn_logit(true_features, BASE_COEFFICIENTS)
    after = np.zeros(len(label_seconds), dtype=bool)
    if scenario.start is not None:
        after = label_seconds * NS_PER_SECOND >= scenario.start.value
    if scenario.has("concept_drift"):
        drifted = BASE_COEFFICIENTS.blend(DRIFTED_COEFFICIENTS, scenario.concept_strength)
        logit = np.where(after, churn_logit(true_features, drifted), logit)
    churned = (u_label < sigmoid(logit)).astype(np.int64)
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
    probability = sigmoid(logit)

    rows = np.flatnonzero(keep)
    seen_features = {
        **_gather(profile_seen, profile_at[rows]),
        **_gather(activity_seen, activity_at[rows]),
    }
    snapshot = _frame(
        label_customer[rows],
        label_seconds[rows],
        {**seen_features},
        (schema.ENTITY, schema.TIMESTAMP, *schema.FEATURES),
        new_category,
    )
    snapshot.insert(2, schema.LABEL, churned[rows])
    snapshot[schema.PROBABILITY] = probability[rows]
    labels = snapshot[list(schema.LABEL_COLUMNS)].copy()

    profile_ns = profile_seconds * NS_PER_SECOND
    emit = profile_ns < config.end.value
    if not config.is_first_period:
        emit &= profile_ns >= config.start.value
    emit_rows = np.flatnonzero(emit)
    profiles = _frame(
        events.customer[emit_rows],
        profile_seconds[emit_rows],
        {name: array[emit_rows] for name, array in profile_seen.items()},
        schema.PROFILE_COLUMNS,
        new_category,
    )

    activity_ns = activity_seconds * NS_PER_SECOND
    emit_from = config.start.value
    if config.is_first_period:
        emit_from -= schema.ACTIVITY_TTL_DAYS * SECONDS_PER_DAY * NS_PER_SECOND
    emit_rows = np.flatnonzero((activity_ns >= emit_from) & (activity_ns < config.end.value))
    activity = _frame(
        slots.customer[emit_rows],
        activity_seconds[emit_rows],
        {name: array[emit_rows] for name, array in activity_seen.items()},
        schema.ACTIVITY_COLUMNS,
        new_category,
    )

    final_churned = churned[rows]
    final_probability = probability[rows]
    final_after = after[rows]
    summary: dict[str, Any] = {
        "config": config.to_dict(),
        "rows": {
            "profiles": len(profiles),
            "activity": len(activity),
            "labels": len(labels),
        },
        "customers_labelled": len(np.unique(label_customer[rows])),
        **_rate_and_auc(final_churned, final_probability),
        "activity_ttl_null_rate": round(float((activity_at[rows] < 0).mean()), 6)
        if len(rows)
        else None,
    }
    if scenario.start is not None:
        summary["before_drift"] = _rate_and_auc(
            final_churned[~final_after], final_probability[~final_after]
        )
        summary["after_drift"] = _rate_and_auc(
            final_churned[final_after], final_probability[final_after]
        )
    return ChurnData(profiles, activity, labels, snapshot, summary)
