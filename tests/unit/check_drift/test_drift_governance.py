"""Alarm governance: FDR + effect size, persistence k of m, cooldown after a retrain."""

from __future__ import annotations

import time

import numpy as np
import pytest
from drift_data import CATEGORICAL, NUMERIC, churn_frame

from components.check_drift.core import AlarmHistory, DriftParams, check_drift, govern

CHECKS = ("feature", "prediction")


@pytest.fixture(scope="module")
def large_reference(tmp_path_factory, predict_fn):
    """A 20,000-row reference: large enough for KS to see a 0.07 SD shift."""
    from components._drift_reference import build_reference, load_reference_dir

    holdout = churn_frame(20_000, seed=12)
    out = build_reference(
        holdout,
        predict_fn(holdout),
        CATEGORICAL,
        NUMERIC,
        sample_size=20_000,
        seed=0,
        out_dir=tmp_path_factory.mktemp("large_reference"),
        entity_column="customer_id",
    )
    return load_reference_dir(out)


def _bh_by_hand(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values written out (reference computation)."""
    n = len(p)
    order = np.argsort(p)
    ranked = p[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def test_large_window_tiny_shift_is_significant_but_not_an_alarm(large_reference, predict_fn):
    """A 0.07 SD age shift in 20,000 rows: KS significant after BH, yet no alarm.

    Proves: the raw test fires (raw_alarm, age significant with its q-value equal to a
    hand-written BH adjustment of the reported p-values) while the effect size (PSI,
    Wasserstein in SDs, both below their floors) keeps it from being an alarm; the
    measured distance is near the injected 0.8 / 12 SD. Cannot prove: that the
    default floors are the right ones for every data set (bench/drift.py measures
    them on churn_data against the champion's ROC AUC cost).
    """
    window = churn_frame(20_000, seed=13, age_shift=0.8)
    report = check_drift(
        window,
        large_reference,
        DriftParams(checks=CHECKS, entity_column="customer_id"),
        predict_fn,
    )
    age = next(f for f in report.features if f.name == "age")
    p = np.array([f.p_value for f in report.features])
    np.testing.assert_allclose([f.q_value for f in report.features], _bh_by_hand(p), rtol=1e-9)
    assert age.significant
    assert age.q_value < 0.05 / 2
    assert 0.04 < age.distance < 0.1
    assert age.psi < 0.1
    assert not age.drifted
    assert report.governance.raw_alarm
    assert not report.governance.window_alarm
    assert not report.drift_detected
    assert report.status == "no_drift"
    assert any("effect is too small" in n for n in age.notes)


def test_real_shift_is_an_alarm_with_its_effect_size(large_reference, predict_fn):
    """A 0.5 SD age shift: significant and large, so an alarm naming both reasons.

    Proves: the same rule lets a real shift through, with distance ~0.5 SD reported.
    Cannot prove: anything about shifts between the two magnitudes tested here.
    """
    window = churn_frame(5_000, seed=14, age_shift=6.0)
    report = check_drift(
        window,
        large_reference,
        DriftParams(checks=CHECKS, entity_column="customer_id", persistence_k=1),
        predict_fn,
    )
    age = next(f for f in report.features if f.name == "age")
    assert age.drifted
    assert 0.4 < age.distance < 0.6
    assert any(r.startswith(("PSI", "distance")) for r in age.reasons)
    assert report.drift_detected
    assert report.governance.governed_alarm


def test_a_moved_atom_is_not_an_alarm_by_its_binned_psi(reference, predict_fn):
    """sessions_7d (whole numbers) moved by 0.05: every atom leaves its bin, no alarm.

    Proves: the binned PSI is over the min_psi floor (a binned-PSI rule would alarm) and
    KS is significant, yet the alarm measures (Wasserstein 0.02 SD + noise, null PSI 0)
    stay under their floors, so neither the feature test nor the ``psi`` check alarms.
    Cannot prove: that no real data has an atom whose small move matters (the binned PSI
    stays in the report).
    """
    window = churn_frame(3_000, seed=15)
    window["sessions_7d"] = window["sessions_7d"] + 0.05
    params = DriftParams(checks=("feature", "psi", "prediction"), entity_column="customer_id")
    report = check_drift(window, reference, params, predict_fn)
    sessions = next(f for f in report.features if f.name == "sessions_7d")
    assert sessions.psi > DriftParams().min_psi
    assert sessions.significant
    assert sessions.distance < DriftParams().min_distance
    assert sessions.alarm_psi < 1e-9
    assert not sessions.drifted
    assert not report.drift_detected


def _run(sequence, params, history_for=lambda prior: AlarmHistory(tuple(prior))):
    governed, prior = [], []
    for alarm in sequence:
        g = govern(alarm, alarm, params, history_for(prior))
        governed.append(g.governed_alarm)
        prior.insert(0, alarm)
    return governed


def test_persistence_needs_k_of_the_last_m_windows():
    """k=2 of m=3: a lone alarm is held, a second within three windows raises it.

    Proves: the counting over the most recent m windows (a fourth window no longer
    sees the first). Cannot prove: the MLflow history (next tests).
    """
    params = DriftParams(persistence_k=2, persistence_m=3)
    assert _run([True, False, True], params) == [False, False, True]
    assert _run([True, False, False, True], params) == [False, False, False, False]
    assert _run([True, True], DriftParams(persistence_k=2, persistence_m=2)) == [False, True]
    assert _run([True], DriftParams(persistence_k=1, persistence_m=1)) == [True]


def test_cooldown_holds_alarms_after_a_retrain_only():
    """Cooldown 2: the first two windows of a retrained champion cannot alarm.

    Proves: windows_since_retrain < cooldown holds the alarm; a champion that replaced
    nothing (retrained_at None) is never in cooldown. Cannot prove: where the retrain
    time comes from (the next test reads it from the audit records).
    """
    params = DriftParams(cooldown_windows=2, persistence_k=1)
    held = [
        govern(True, True, params, AlarmHistory((), "2026-12-01T00:00:00", n)) for n in range(3)
    ]
    assert [g.in_cooldown for g in held] == [True, True, False]
    assert [g.governed_alarm for g in held] == [False, False, True]
    assert "cooldown" in held[0].rule
    assert govern(True, True, params, AlarmHistory((), None, 0)).governed_alarm


@pytest.fixture
def registry(tmp_path):
    from components._mlflow import mlflow_client

    client = mlflow_client(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client.create_registered_model("churn")
    for _ in range(2):
        client.create_model_version("churn", source=str(tmp_path / "model"))
    return client


def test_history_in_mlflow_gives_persistence_and_cooldown_after_a_real_promotion(
    registry, reference, predict_fn
):
    """Windows recorded in MLflow govern the next ones; the cooldown follows promote().

    v1 promoted first (replaced nothing): no cooldown, the first drifted window alarms
    with k=1. Then v2 replaces it through register_model's promote (audit records):
    with cooldown 1 and persistence 2 of 2, v2's first drifted window is held by the
    cooldown, its second alarms (two window alarms of v2 in a row, past the cooldown);
    v1's windows do not count for v2. Proves: load_history / record_window round-trip
    through a real sqlite MLflow and read the retrain from the audit tags. Cannot
    prove: behaviour on an MLflow server (same client calls).
    """
    from components.check_drift.history import load_history, record_window
    from components.register_model.core import promote

    drifted = churn_frame(1_000, seed=21, age_shift=8.0)
    promote(registry, "churn", "1")
    params = DriftParams(checks=CHECKS, persistence_k=1, persistence_m=1, cooldown_windows=1)
    first = check_drift(
        drifted, reference, params, predict_fn, history=load_history(registry, "churn", "1", 1)
    )
    assert first.governance.retrained_at is None
    assert first.drift_detected
    record_window(registry, "churn", "1", first)

    promote(registry, "churn", "2")
    params = DriftParams(checks=CHECKS, persistence_k=2, persistence_m=2, cooldown_windows=1)
    decisions = []
    for _ in range(2):
        history = load_history(registry, "churn", "2", 1)
        report = check_drift(drifted, reference, params, predict_fn, history=history)
        record_window(registry, "churn", "2", report)
        decisions.append(report.governance)
        time.sleep(0.01)  # distinct run start times for the ordering
    assert decisions[0].retrained_at is not None
    assert decisions[0].in_cooldown
    assert decisions[0].window_alarm
    assert not decisions[0].governed_alarm
    assert decisions[1].windows_since_retrain == 1
    assert not decisions[1].in_cooldown
    assert decisions[1].recent_alarms == 2
    assert decisions[1].governed_alarm
