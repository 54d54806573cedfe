"""The ground-truth snapshot, the label function and the Bayes ceiling."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from churn_data import (
    BASE_COEFFICIENTS,
    ChurnData,
    DriftScenario,
    GeneratorConfig,
    append_sources,
    churn_logit,
    generate,
    read_sources,
    roc_auc,
    schema,
    write_sources,
)


def _independent_pit_join(
    labels: pd.DataFrame, profiles: pd.DataFrame, activity: pd.DataFrame
) -> pd.DataFrame:
    """Point-in-time join with pandas.merge_asof and the Feast TTLs (inclusive bounds)."""
    joined = labels.sort_values(schema.TIMESTAMP)
    for frame, ttl in (
        (profiles, schema.PROFILE_TTL_DAYS),
        (activity, schema.ACTIVITY_TTL_DAYS),
    ):
        joined = pd.merge_asof(
            joined,
            frame.sort_values(schema.TIMESTAMP),
            on=schema.TIMESTAMP,
            by=schema.ENTITY,
            direction="backward",
            tolerance=pd.Timedelta(days=ttl),
        )
    return joined.sort_values([schema.ENTITY, schema.TIMESTAMP], ignore_index=True)


def test_snapshot_equals_independent_asof_join_over_appended_files(tmp_path: Path) -> None:
    """The snapshot equals a merge_asof join (TTL 3650 d / 30 d) of the written files.

    Uses a first period and an appended drifted period (every scenario on, so nulls from the
    missingness surge and new categories are included). Proves the snapshot is what a
    correct point-in-time retrieval with Feast's TTL semantics returns, across the seam
    between periods. Cannot prove Feast itself returns it (tests/unit/get_features runs the
    real store against this snapshot).
    """
    first = GeneratorConfig(n_customers=1200, start="2024-01-01", end="2024-04-01", seed=3)
    drift = DriftScenario.parse(
        "covariate_shift+new_category+concept_drift+missingness_surge+label_shift",
        start="2024-04-01",
        new_category_rate=0.5,
    )
    write_sources(generate(first), tmp_path)
    append_sources(generate(first.later_period("2024-04-01", "2024-06-01", drift)), tmp_path)
    files = read_sources(tmp_path)
    joined = _independent_pit_join(files["labels"], files["profiles"], files["activity"])
    expected = files["snapshot"].drop(columns=schema.PROBABILITY)
    pd.testing.assert_frame_equal(joined[list(schema.TRAINING_COLUMNS)], expected)
    assert expected[list(schema.ACTIVITY_FEATURES)].isna().any().all()
    assert (expected["channel"] == "marketplace").any()


def test_churn_probability_is_the_documented_formula(clean: ChurnData) -> None:
    """churn_probability = sigmoid(churn_logit(snapshot features, BASE_COEFFICIENTS)).

    Also checks churn_logit against a hand computation of the documented formula for two
    rows (one with activity, one without). Proves code, docstring and snapshot agree without
    drift. Cannot prove the coefficients are "realistic", only that they are the stated ones.
    """
    snapshot = clean.snapshot
    logit = churn_logit(snapshot[list(schema.FEATURES)])
    np.testing.assert_allclose(snapshot[schema.PROBABILITY], 1 / (1 + np.exp(-logit)))

    rows = pd.DataFrame(
        {
            "plan": ["premium", "basic"],
            "region": ["west", "north"],
            "channel": ["partner", "web"],
            "tenure_months": [12.0, 0.0],
            "age": [60.0, 45.0],
            "sessions_7d": [3.0, np.nan],
            "spend_30d": [50.0, np.nan],
            "support_tickets_30d": [2.0, np.nan],
            "avg_order_value": [25.0, np.nan],
            "days_since_last_login": [20.0, np.nan],
        }
    )
    c = BASE_COEFFICIENTS
    first = (
        c.intercept
        + c.plan_premium
        + c.region_west
        + c.channel_partner
        + c.log_tenure * np.log(13.0)
        + c.age_sq * 1.0
        + c.log_sessions * np.log(4.0)
        + c.tickets * 2
        + c.tickets_premium * 2
        + c.log_days_since_login * np.log(21.0)
        + c.inactive_14d
        + c.log_spend * np.log(51.0)
    )
    second = c.intercept + c.plan_basic + c.activity_missing
    np.testing.assert_allclose(churn_logit(rows), [first, second])


def test_labels_are_calibrated_to_churn_probability(clean: ChurnData) -> None:
    """Sampled labels match churn_probability: overall and per probability decile.

    Proves the labels are Bernoulli(churn_probability) draws (a biased sampler would fail by
    many standard errors). Cannot prove independence between rows of one customer.
    """
    snapshot = clean.snapshot
    p, y = snapshot[schema.PROBABILITY], snapshot[schema.LABEL]
    se = np.sqrt((p * (1 - p)).sum()) / len(p)
    assert abs(y.mean() - p.mean()) < 4 * se
    deciles = pd.qcut(p, 10, labels=False)
    table = pd.DataFrame({"p": p, "y": y, "bin": deciles}).groupby("bin").mean()
    assert (table["y"] - table["p"]).abs().max() < 0.06
    assert 0.10 < y.mean() < 0.25


def _documented_design(frame: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """The basis functions of the documented formula, built here independently of the code."""
    present = frame["sessions_7d"].notna().to_numpy()
    activity = frame[list(schema.ACTIVITY_FEATURES)].fillna(0.0)
    premium = (frame["plan"] == "premium").to_numpy()
    tickets = activity["support_tickets_30d"].to_numpy()
    columns = {
        "intercept": np.ones(len(frame)),
        "plan_basic": frame["plan"].eq("basic").to_numpy(),
        "plan_premium": premium,
        "channel_mobile": frame["channel"].eq("mobile").to_numpy(),
        "channel_store": frame["channel"].eq("store").to_numpy(),
        "channel_partner": frame["channel"].eq("partner").to_numpy(),
        "region_south": frame["region"].eq("south").to_numpy(),
        "region_west": frame["region"].eq("west").to_numpy(),
        "log_tenure": np.log1p(frame["tenure_months"].to_numpy()),
        "age_sq": ((frame["age"].to_numpy() - 45.0) / 15.0) ** 2,
        "log_sessions": present * np.log1p(activity["sessions_7d"].to_numpy()),
        "tickets": present * tickets,
        "tickets_premium": present * tickets * premium,
        "log_days_since_login": present * np.log1p(activity["days_since_last_login"].to_numpy()),
        "inactive_14d": present * (activity["days_since_last_login"].to_numpy() > 14),
        "log_spend": present * np.log1p(activity["spend_30d"].to_numpy()),
        "activity_missing": ~present,
    }
    return np.column_stack([np.asarray(v, dtype=float) for v in columns.values()]), list(columns)


def _fit_logistic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood logistic regression by Newton steps; returns (beta, standard errors)."""
    beta = np.zeros(x.shape[1])
    for _ in range(30):
        p = 1 / (1 + np.exp(-x @ beta))
        hessian = x.T @ (x * (p * (1 - p))[:, None])
        step = np.linalg.solve(hessian, x.T @ (y - p))
        beta += step
        if np.abs(step).max() < 1e-10:
            break
    return beta, np.sqrt(np.diag(np.linalg.inv(hessian)))


def test_documented_function_is_recovered_and_reaches_the_ceiling() -> None:
    """A logistic fit of the documented basis recovers BASE_COEFFICIENTS and the ceiling.

    Fits maximum-likelihood logistic regression (numpy Newton steps) on the first half of a
    20k-label snapshot and scores the second half. Proves: every fitted coefficient is within
    4 standard errors of the documented one (labels really follow the documented function of
    the snapshot features), the summary's ceiling AUC is the AUC of churn_probability and lies
    in 0.75-0.9, and a model estimated from data reaches the ceiling within 0.02 while not
    beating it beyond noise. Cannot prove a generic model (e.g. gradient boosting) gets as
    close; that depends on the model, and train_model's tests cover it.
    """
    data = generate(
        GeneratorConfig(
            n_customers=8000,
            start="2024-01-01",
            end="2024-07-01",
            seed=21,
            labels_per_customer=3.0,
        )
    )
    snapshot = data.snapshot
    ceiling = data.summary["ceiling_auc"]
    assert ceiling == pytest.approx(
        roc_auc(snapshot[schema.LABEL], snapshot[schema.PROBABILITY]), abs=1e-6
    )
    assert 0.75 < ceiling < 0.9
    x, names = _documented_design(snapshot)
    y = snapshot[schema.LABEL].to_numpy()
    train = (snapshot[schema.TIMESTAMP] < pd.Timestamp("2024-04-10", tz="UTC")).to_numpy()
    beta, se = _fit_logistic(x[train], y[train])
    truth = np.array([getattr(BASE_COEFFICIENTS, name) for name in names])
    z_scores = dict(zip(names, np.round((beta - truth) / se, 2), strict=True))
    assert all(abs(z) < 4 for z in z_scores.values()), z_scores
    model_auc = roc_auc(y[~train], x[~train] @ beta)
    held_out_ceiling = roc_auc(y[~train], snapshot.loc[~train, schema.PROBABILITY])
    assert held_out_ceiling - 0.02 < model_auc < held_out_ceiling + 0.01


def test_roc_auc_handles_ties_and_single_class() -> None:
    """roc_auc counts ties as half and returns NaN for one class.

    Proves the rank formula on hand-checkable inputs. Cannot prove numerical agreement with
    scikit-learn on large inputs (the ceiling test compares against a model, not sklearn).
    """
    assert roc_auc(np.array([0, 1]), np.array([0.1, 0.9])) == 1.0
    assert roc_auc(np.array([0, 1]), np.array([0.5, 0.5])) == 0.5
    assert roc_auc(np.array([1, 0, 1, 0]), np.array([0.8, 0.6, 0.4, 0.2])) == 0.75
    assert np.isnan(roc_auc(np.array([1, 1]), np.array([0.1, 0.2])))
