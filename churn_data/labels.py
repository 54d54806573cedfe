"""The label generating function and the ROC AUC used for the Bayes ceiling."""

from __future__ import annotations

import numpy as np
import pandas as pd

from churn_data import schema
from churn_data.config import BASE_COEFFICIENTS, LabelCoefficients


def _category_effect(
    values: pd.Series, known: tuple[str, ...], effects: tuple[float, ...], new_effect: float
) -> np.ndarray:
    """Per-row effect of a categorical.

    ``effects`` for ``known`` values, ``new_effect`` for any other non-null value, 0 for null.
    """
    codes = pd.Categorical(values, categories=list(known)).codes
    effect = np.asarray(effects, dtype=np.float64)[np.maximum(codes, 0)]
    return np.where(codes >= 0, effect, np.where(values.notna().to_numpy(), new_effect, 0.0))


def _term(values: pd.Series) -> np.ndarray:
    """A numeric feature as float64 with nulls contributing 0."""
    return np.nan_to_num(values.to_numpy(dtype=np.float64), nan=0.0)


def churn_logit(
    features: pd.DataFrame, coefficients: LabelCoefficients = BASE_COEFFICIENTS
) -> np.ndarray:
    """The churn logit of feature rows (the formula is in the package docstring).

    Activity counts as missing when ``sessions_7d`` is null (the point-in-time lookup found
    no snapshot within the TTL); any other null feature contributes 0.

    Args:
        features: A frame with every column of ``schema.FEATURES``.
        coefficients: The coefficients to apply.

    Returns:
        The logit per row, float64.
    """
    c = coefficients
    plan = features["plan"]
    z = np.full(len(features), c.intercept)
    z += _category_effect(plan, schema.PLANS, (c.plan_basic, 0.0, c.plan_premium), c.plan_new)
    z += _category_effect(
        features["channel"],
        schema.CHANNELS,
        (0.0, c.channel_mobile, c.channel_store, c.channel_partner),
        c.channel_new,
    )
    z += _category_effect(
        features["region"], schema.REGIONS, (0.0, c.region_south, 0.0, c.region_west), c.region_new
    )
    z += c.log_tenure * np.log1p(_term(features["tenure_months"]))
    age = features["age"].to_numpy(dtype=np.float64)
    z += c.age_sq * np.nan_to_num(((age - 45.0) / 15.0) ** 2, nan=0.0)
    present = features["sessions_7d"].notna().to_numpy()
    tickets = _term(features["support_tickets_30d"])
    since_login = features["days_since_last_login"].to_numpy(dtype=np.float64)
    premium = (plan == "premium").to_numpy()
    activity = (
        c.log_sessions * np.log1p(_term(features["sessions_7d"]))
        + c.tickets * tickets
        + c.tickets_premium * tickets * premium
        + c.log_days_since_login * np.log1p(np.nan_to_num(since_login, nan=0.0))
        + c.inactive_14d * (since_login > 14.0)
        + c.log_spend * np.log1p(_term(features["spend_30d"]))
    )
    return z + np.where(present, activity, c.activity_missing)


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula, ties counted half.

    Args:
        labels: 0/1 outcomes.
        scores: Higher means more likely 1.

    Returns:
        The AUC, or NaN when only one class is present.
    """
    labels = np.asarray(labels)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = pd.Series(np.asarray(scores, dtype=np.float64)).rank(method="average").to_numpy()
    rank_sum = ranks[labels == 1].sum()
    return float((rank_sum - positives * (positives + 1) / 2) / (positives * negatives))
