"""The delayed-label join (components._labels.join_labels) against a reference loop."""

import numpy as np
import pandas as pd
import pytest

from components._labels import LABEL_TIME_COLUMN, LABELLED_COLUMN, join_labels


def _log(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-07-01", tz="UTC")
    return pd.DataFrame(
        {
            "request_id": [f"r{i // 2}" for i in range(n)],
            "row": [i % 2 for i in range(n)],
            "model_version": rng.choice(["3", "4"], n),
            "model_role": rng.choice(["champion", "shadow"], n),
            "timestamp": start + pd.to_timedelta(rng.integers(0, 60 * 86400, n), unit="s"),
            # a V2 client sends the entity key as FP64: the join must still match int64 labels
            "customer_id": rng.integers(1, 40, n).astype("float64"),
            "churned_probability": rng.uniform(0, 1, n),
        }
    )


def _labels(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-06-20", tz="UTC")
    return pd.DataFrame(
        {
            "customer_id": rng.integers(1, 40, n).astype("int64"),
            "event_timestamp": start + pd.to_timedelta(rng.integers(0, 80 * 86400, n), unit="s"),
            "churned": rng.integers(0, 2, n).astype("int64"),
        }
    )


def _reference(log: pd.DataFrame, labels: pd.DataFrame, max_delay: pd.Timedelta) -> list:
    """For each prediction: the earliest label of its entity in [t, t + max_delay], by a loop."""
    rows = list(
        zip(labels["customer_id"], labels["event_timestamp"], labels["churned"], strict=True)
    )
    out = []
    for entity, made in zip(log["customer_id"], log["timestamp"], strict=True):
        best = None
        for key, at, label in rows:
            if key == entity and made <= at <= made + max_delay and (best is None or at < best[0]):
                best = (at, float(label))
        out.append(None if best is None else best[1])
    return out


def _by_customer_and_time(log: pd.DataFrame, labels: pd.DataFrame, max_delay: str):
    return join_labels(
        log,
        labels,
        label_column="churned",
        by="entity_time",
        entity_column="customer_id",
        label_time_column="event_timestamp",
        max_delay=max_delay,
    )


def test_entity_time_join_matches_a_reference_loop_and_keeps_every_row():
    """Entity + time join equals a brute-force loop (earliest label within [t, t+max_delay]).

    Proves: every prediction row survives in order with its extra columns (model_role,
    model_version), unlabelled rows are marked labelled=False with a NaN label, labels
    before the prediction or later than max_delay never count, and an FP64 entity key
    matches int64 labels. Cannot prove: behaviour with label-time ties within one entity
    (the generator's random seconds make ties improbable; merge_asof then takes the last).
    """
    log, labels = _log(300, 1), _labels(200, 2)
    delay = pd.Timedelta("10D")
    joined = _by_customer_and_time(log, labels, "10D")
    expected = _reference(log, labels, delay)
    assert len(joined) == len(log)
    pd.testing.assert_frame_equal(joined[log.columns], log)
    got = [None if np.isnan(v) else v for v in joined["churned"]]
    assert got == expected
    assert joined[LABELLED_COLUMN].tolist() == [v is not None for v in expected]
    assert 0 < joined[LABELLED_COLUMN].sum() < len(log)  # both kinds of rows occur
    lag = joined[LABEL_TIME_COLUMN] - joined["timestamp"]
    assert (lag[joined[LABELLED_COLUMN]] >= pd.Timedelta(0)).all()
    assert (lag[joined[LABELLED_COLUMN]] <= delay).all()
    assert joined.loc[~joined[LABELLED_COLUMN], LABEL_TIME_COLUMN].isna().all()


def test_max_delay_is_respected_at_its_edge():
    """A label exactly max_delay after the prediction counts, one second later does not.

    Proves: the window is closed [t, t + max_delay] and a label one second before the
    prediction is ignored. Cannot prove: anything about sub-second timestamps.
    """
    t = pd.Timestamp("2024-07-01 12:00", tz="UTC")
    log = pd.DataFrame({"customer_id": [1, 2, 3], "timestamp": [t, t, t]})
    labels = pd.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "event_timestamp": [
                t + pd.Timedelta("2D"),
                t + pd.Timedelta("2D") + pd.Timedelta("1s"),
                t - pd.Timedelta("1s"),
            ],
            "churned": [1, 1, 0],
        }
    )
    joined = _by_customer_and_time(log, labels, "2D")
    assert joined[LABELLED_COLUMN].tolist() == [True, False, False]
    assert joined["churned"].iloc[0] == 1.0
    assert joined["churned"].iloc[1:].isna().all()


def test_request_id_join_uses_row_and_keeps_unlabelled_rows():
    """By request id (+ row when the labels carry it): exact matches, the rest stay unlabelled.

    Proves: a two-row request gets each row's own label, a request with no label is kept
    with labelled=False, a duplicated label key is refused with the key named, and a
    non-0/1 label is refused naming the column. Cannot prove: string-vs-int id coercion
    beyond str().
    """
    log = _log(6, 3)  # requests r0, r1, r2 with rows 0 and 1
    labels = pd.DataFrame(
        {"request_id": ["r0", "r0", "r2"], "row": [0, 1, 1], "churned": [1, 0, 1]}
    )
    joined = join_labels(log, labels, label_column="churned")
    assert joined[LABELLED_COLUMN].tolist() == [True, True, False, False, False, True]
    assert joined["churned"].tolist()[:2] == [1.0, 0.0]
    assert joined["churned"].iloc[5] == 1.0
    with pytest.raises(ValueError, match="appears twice"):
        join_labels(log, pd.concat([labels, labels.iloc[:1]]), label_column="churned")
    with pytest.raises(ValueError, match="'churned' must hold 0/1"):
        join_labels(log, labels.assign(churned=["yes", "no", "yes"]), label_column="churned")
    with pytest.raises(ValueError, match="no column 'customer_id'"):
        join_labels(
            log.drop(columns="customer_id"),
            _labels(5, 1),
            label_column="churned",
            by="entity_time",
            entity_column="customer_id",
            label_time_column="event_timestamp",
        )
