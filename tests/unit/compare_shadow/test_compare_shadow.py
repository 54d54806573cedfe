"""compare_shadow: the paired test on generator data, the registry moves, both score paths."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from churn_data import GeneratorConfig, generate, schema
from components._contract import report_json
from components.compare_shadow.core import (
    DECISION_KEEP,
    DECISION_PROMOTE,
    DECISION_WAITING,
    TAG_SHADOW_REJECTED,
    CompareShadowConfig,
    ShadowConfig,
    auc_replicates,
    compare_paired,
    paired_replicates,
    per_row_log_loss,
    run,
)

REPO = Path(__file__).resolve().parents[3] / "feature_repo"
OUTPUT = f"{schema.LABEL}_probability"


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


@pytest.fixture(scope="module")
def world() -> pd.DataFrame:
    """3,000 customers of churn_data with the generator's true churn probability."""
    frame = generate(GeneratorConfig(3_000, "2024-01-01", "2024-03-01", seed=4)).snapshot
    return frame.reset_index(drop=True)


def _scores(world: pd.DataFrame) -> dict[str, np.ndarray]:
    """Three models of known quality: the truth, a blurred champion, a worse one."""
    rng = np.random.default_rng(0)
    logit = _logit(world[schema.PROBABILITY].to_numpy())
    return {
        "truth": world[schema.PROBABILITY].to_numpy(),
        "champion": 1 / (1 + np.exp(-(0.6 * logit + rng.normal(0, 0.6, len(logit))))),
        "worse": 1 / (1 + np.exp(-(0.3 * logit + rng.normal(0, 1.2, len(logit))))),
    }


def test_paired_test_promotes_the_truth_and_keeps_a_worse_model(world):
    """On generator labels the true probability beats a blurred champion; a worse model loses.

    Proves: the challenger scoring with the generator's true probability is promoted
    (log-loss gain interval above 0, ROC AUC not worse); a model blurrier than the
    champion is kept with the log-loss rule named; the reported log losses and ROC AUCs
    equal sklearn's on the same rows (reference computation), and so do the bootstrap's
    ROC AUC differences on every resample (NaN for a one-class resample); below
    min_labels nothing is decided. Cannot prove: the power of the test at other sizes or
    effect sizes.
    """
    y = world[schema.LABEL].to_numpy()
    s = _scores(world)
    config = ShadowConfig(min_labels=500, bootstrap_samples=300)
    better = compare_paired(y, s["champion"], s["truth"], config)
    assert better.decision == DECISION_PROMOTE, better.reason
    assert better.log_loss_improvement["low"] > 0
    assert better.champion_log_loss == pytest.approx(log_loss(y, s["champion"]), rel=1e-9)
    assert better.challenger_roc_auc == pytest.approx(roc_auc_score(y, s["truth"]), rel=1e-12)
    worse = compare_paired(y, s["champion"], s["worse"], config)
    assert worse.decision == DECISION_KEEP
    assert "log loss not lower" in worse.reason
    assert worse.log_loss_improvement["high"] < 0
    # The AUC replicates are scikit-learn's on each resample (one class: NaN).
    index = np.random.default_rng(3).integers(0, len(y), size=(40, len(y)))
    index[0] = np.flatnonzero(y == 0)[0]
    expected = [
        roc_auc_score(y[rows], s["truth"][rows]) - roc_auc_score(y[rows], s["champion"][rows])
        for rows in index[1:]
    ]
    replicates = auc_replicates(y, s["champion"], s["truth"], index)
    assert np.isnan(replicates[0])
    np.testing.assert_allclose(replicates[1:], expected, rtol=0, atol=1e-12)
    waiting = compare_paired(y[:100], s["champion"][:100], s["truth"][:100], config)
    assert waiting.decision == DECISION_WAITING
    assert waiting.log_loss_improvement is None


def test_paired_replicates_in_batches_equal_one_full_draw(world, monkeypatch) -> None:
    """Drawing the resamples in batches changes nothing (memory is bounded, not the test).

    Proves: with batches of 7 resamples, the log-loss gain and ROC AUC difference
    replicates equal, to the bit, those computed from one (resamples x rows) draw of the
    same seeded generator (the reference, built here with numpy and scikit-learn).
    Cannot prove the memory bound itself (it only sizes the batches).
    """
    from components import _performance

    y = world[schema.LABEL].to_numpy().astype("float64")
    s = _scores(world)
    gain = per_row_log_loss(y, s["champion"]) - per_row_log_loss(y, s["truth"])
    index = np.random.default_rng(9).integers(0, len(y), size=(30, len(y)))
    expected_auc = [
        roc_auc_score(y[rows], s["truth"][rows]) - roc_auc_score(y[rows], s["champion"][rows])
        for rows in index
    ]
    monkeypatch.setattr(_performance, "BOOTSTRAP_BATCH_VALUES", 7 * len(y))
    gains, auc_diffs = paired_replicates(y, s["champion"], s["truth"], gain, 30, seed=9)
    np.testing.assert_array_equal(gains, gain[index].mean(axis=1))
    np.testing.assert_allclose(auc_diffs, expected_auc, rtol=0, atol=1e-12)


def _registry(tmp_path: Path):
    from components._aliases import promote
    from components._mlflow import ALIAS_CHALLENGER, mlflow_client

    client = mlflow_client(f"sqlite:///{tmp_path / 'mlflow.db'}")
    client.create_registered_model("churn")
    for _ in range(2):
        client.create_model_version("churn", source=str(tmp_path / "model"))
    promote(client, "churn", "1")
    client.set_registered_model_alias("churn", ALIAS_CHALLENGER, "2")
    return client


def _shadow_log(root: Path, world: pd.DataFrame, champion: np.ndarray, shadow: np.ndarray):
    """Writes both answers per request (50 rows each) with the real log writer.

    Returns the labels file: request id and row of each labelled row, answered 2 days later.
    """
    from components._serving.prediction_log import PredictionRecord, write_records

    when = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    records, ids, rows = [], [], []
    for start in range(0, len(world), 50):
        part = slice(start, min(start + 50, len(world)))
        inputs = world.iloc[part][["customer_id", "plan", "tenure_months"]].reset_index(drop=True)
        for role, version, values in (("champion", "1", champion), ("shadow", "2", shadow)):
            records.append(
                PredictionRecord(
                    f"req-{start}", "churn", version, when, inputs, {OUTPUT: values[part]}, role
                )
            )
        ids += [f"req-{start}"] * len(inputs)
        rows += list(range(len(inputs)))
    write_records(root / "predictions", records)
    labels = pd.DataFrame(
        {
            "request_id": ids,
            "row": rows,
            schema.ENTITY: world[schema.ENTITY],
            schema.TIMESTAMP: pd.Timestamp(when) + pd.Timedelta(days=2),
            schema.LABEL: world[schema.LABEL],
        }
    )
    labels.to_parquet(root / "labels.parquet", index=False)
    return root / "labels.parquet"


@pytest.mark.parametrize("challenger", ["truth", "worse"])
def test_shadow_comparison_moves_aliases_or_tags_the_rejected_challenger(
    tmp_path, world, challenger
):
    """From a prediction log with both answers to the registry: promote, or reject with why.

    Proves, through compare_shadow's run over a log written by the real writer, labels
    joined by request id and a sqlite MLflow registry: the truth challenger (v2) becomes
    champion with v1 as previous and no challenger alias left, with audit records; the
    worse one leaves the aliases as they were and carries suite.shadow.rejected (the
    reason and numbers) plus a shadow_rejected audit record. The JSON report says
    which path scored (through the shared contract's JSON writer). Cannot prove: the
    Seldon mirror delivering those answers.
    """
    from components import _governance as gov
    from components._mlflow import alias_version

    client = _registry(tmp_path)
    s = _scores(world)
    labels = _shadow_log(tmp_path, world, s["champion"], s[challenger])
    config = CompareShadowConfig(
        str(tmp_path / "predictions"), "2026-12-01", "2026-12-02", str(labels), REPO, "churn",
        ShadowConfig(min_labels=500, bootstrap_samples=300), join_by="request_id",
    )  # fmt: skip
    result = run(config, client=client)
    assert result.labelled_rows == len(world)
    assert "both answers logged" in result.score_source
    report = json.loads(report_json(result))
    assert report["decision"] == result.decision == result.return_value()
    tags = client.get_model_version("churn", "2").tags
    if challenger == "truth":
        assert result.decision == DECISION_PROMOTE
        assert alias_version(client, "churn", "champion") == "2"
        assert alias_version(client, "churn", "previous") == "1"
        assert alias_version(client, "churn", "challenger") is None
        assert any("shadow comparison" in r["why"] for r in gov.audit_history(tags))
        assert TAG_SHADOW_REJECTED not in tags
    else:
        assert result.decision == DECISION_KEEP
        assert alias_version(client, "churn", "champion") == "1"
        assert alias_version(client, "churn", "challenger") == "2"
        rejected = json.loads(tags[TAG_SHADOW_REJECTED])
        assert "log loss not lower" in rejected["reason"]
        assert rejected["labelled_rows"] == len(world)
        assert [r["action"] for r in gov.audit_history(tags)][-1] == "shadow_rejected"


def test_kserve_path_scores_the_logged_inputs_with_the_challenger(tmp_path):
    """No shadow answers in the log (KServe has no mirror): the challenger scores here.

    Proves: with only the champion's answers logged, the step loads the challenger
    (a real MLflow model) and scores the logged inputs; labels joined by entity and time
    within the maximum delay; the challenger's log loss equals sklearn's on the in-process
    predictions of that model. Cannot prove: KServe's logger (tests/unit/_serving does).
    """
    import mlflow.pyfunc

    from components._aliases import promote
    from components._mlflow import ALIAS_CHALLENGER, mlflow_client
    from components._serving.prediction_log import PredictionRecord, write_records
    from tests._helpers.demo_model import FEATURES, demo_frame, log_demo_model

    client = mlflow_client(f"sqlite:///{tmp_path / 'mlflow.db'}")
    log_demo_model(client, "churn")
    log_demo_model(client, "churn", seed=5, c=0.02)
    promote(client, "churn", "1")
    client.set_registered_model_alias("churn", ALIAS_CHALLENGER, "2")
    rows = demo_frame(600, seed=21)
    champion = mlflow.pyfunc.load_model("models:/churn/1")
    challenger = mlflow.pyfunc.load_model("models:/churn/2")
    when = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
    inputs = rows[["customer_id", *FEATURES]]
    record = PredictionRecord(
        "batch-1", "churn", "1", when, inputs, {OUTPUT: champion.predict(inputs[list(FEATURES)])}
    )
    write_records(tmp_path / "predictions", [record])
    labels = rows[["customer_id", schema.LABEL]].assign(
        **{schema.TIMESTAMP: pd.Timestamp(when) + pd.Timedelta(days=3)}
    )
    labels.to_parquet(tmp_path / "labels.parquet", index=False)
    config = CompareShadowConfig(
        str(tmp_path / "predictions"), "2026-12-01", "2026-12-02",
        str(tmp_path / "labels.parquet"), REPO, "churn",
        ShadowConfig(min_labels=200, bootstrap_samples=200), max_delay="30D",
    )  # fmt: skip
    result = run(config, client=client)
    assert "scored the champion's logged inputs" in result.score_source
    assert result.labelled_rows == len(rows)
    expected = log_loss(rows[schema.LABEL], challenger.predict(inputs[list(FEATURES)]))
    assert result.challenger_log_loss == pytest.approx(expected, rel=1e-9)
    assert result.decision in (DECISION_PROMOTE, DECISION_KEEP)
