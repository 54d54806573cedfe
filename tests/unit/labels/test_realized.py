"""Realized performance of a joined window (components.join_labels.core) against sklearn."""

import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score

from churn_data import GeneratorConfig, generate
from components._labels import LABELLED_COLUMN
from components.join_labels.core import (
    STATUS_INSUFFICIENT,
    STATUS_MEASURED,
    LabelJoinParams,
    labelled_window,
    realized_report,
)

HOLDOUT = {"version": "1", "run_id": "r", "metrics": {"roc_auc": 0.8, "ece": 0.02}}


def test_realized_metrics_are_sklearns_on_the_labelled_rows_only():
    """A log window where only labels up to a cut-off have arrived.

    Proves: the labelled share is the share of predictions whose label arrived, ROC AUC
    and log loss equal sklearn's on exactly those rows, the interval contains the value,
    unlabelled rows stay in the joined frame, and the true probability's interval covers
    the generator's Bayes AUC for these rows. Cannot prove: coverage over many windows
    (bench/performance_estimation.py).
    """
    snap = generate(
        GeneratorConfig(n_customers=1500, start="2024-01-01", end="2024-04-01")
    ).snapshot
    window = snap.drop(columns="churned").assign(timestamp=snap["event_timestamp"])
    cutoff = snap["event_timestamp"].quantile(0.7)
    arrived = snap[snap["event_timestamp"] < cutoff][["customer_id", "event_timestamp", "churned"]]
    joined, source = labelled_window(
        window, arrived, label_column="churned", entity_column="customer_id",
        label_time_column="event_timestamp", params=LabelJoinParams(max_delay="0s"),
    )  # fmt: skip
    assert len(joined) == len(window)
    assert source.startswith("joined by entity_time")
    expected = (snap["event_timestamp"] < cutoff).to_numpy()
    assert (joined[LABELLED_COLUMN].to_numpy() == expected).all()
    p = snap["churn_probability"].to_numpy()
    report = realized_report(
        joined, p, label_column="churned", holdout=HOLDOUT, params=LabelJoinParams(),
        label_source=source, score_source="truth",
    )  # fmt: skip
    assert report.status == STATUS_MEASURED
    assert report.labelled_share == expected.mean()
    auc = report.performance["metrics"]["roc_auc"]
    y = snap.loc[expected, "churned"]
    assert np.isclose(auc["value"], roc_auc_score(y, p[expected]))
    loss = report.performance["metrics"]["log_loss"]["value"]
    assert np.isclose(loss, log_loss(y, p[expected]))
    assert auc["low"] <= auc["value"] <= auc["high"]
    few = realized_report(
        joined.assign(**{LABELLED_COLUMN: False}), p, label_column="churned", holdout=HOLDOUT,
        params=LabelJoinParams(), label_source=source, score_source="truth",
    )  # fmt: skip
    assert few.status == STATUS_INSUFFICIENT
    assert few.performance is None
    assert pd.isna(joined.loc[~expected, "churned"]).all()
