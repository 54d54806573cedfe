"""The drift reference: what build_reference writes, and its round trip through MLflow."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from drift_data import CATEGORICAL, FEATURES, NUMERIC, churn_frame

from churn_data.schema import DRIFT_ROLES
from components._contract import write_reports
from components._drift_reference import (
    REFERENCE_ARTIFACT_PATH,
    build_reference,
    load_reference,
    log_reference,
)
from components._mlflow import positive_probability
from components.check_drift.core import (
    DriftCheckConfig,
    DriftParams,
    champion_uri,
    check_drift,
    load_champion,
    run,
)


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory, model, reference_dir):
    """A sqlite MLflow store in tmp with the fixture model registered as churn@champion.

    The model is logged the way a plain sklearn churn model would be (pyfunc
    answers predict_proba) and the reference is logged on its run.
    """
    import mlflow
    from mlflow import MlflowClient

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiment = client.create_experiment("drift", artifact_location=str(root / "artifacts"))
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    sample = churn_frame(5, seed=3)[FEATURES]
    with mlflow.start_run(experiment_id=experiment) as run:
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            pyfunc_predict_fn="predict_proba",
            input_example=sample,
            registered_model_name="churn",
            pip_requirements=["scikit-learn"],  # skips MLflow's slow requirement inference
        )
        mlflow.log_metric("roc_auc", 0.5)
    client.set_registered_model_alias("churn", "champion", "1")
    log_reference(run.info.run_id, reference_dir, client)
    with mlflow.start_run(experiment_id=experiment) as bare:
        mlflow.sklearn.log_model(
            model, name="model", registered_model_name="bare", pip_requirements=["scikit-learn"]
        )
    return {
        "uri": uri,
        "client": client,
        "run_id": run.info.run_id,
        "model_id": info.model_id,
        "root": root,
        "bare_run_id": bare.info.run_id,
    }


def test_build_reference_writes_a_bounded_seeded_sample(tmp_path, holdout_frame, predict_fn):
    """The reference holds at most sample_size rows, chosen by the seed, plus its manifest.

    Proves: the files are written; the sample has sample_size rows, equal for the
    same seed and different for another; vocabularies come from the whole frame;
    the holdout ROC AUC is stored when labels are given. Cannot prove the sample is
    representative (it is uniform without replacement, nothing more).
    """
    scores = predict_fn(holdout_frame)
    args = (holdout_frame, scores, CATEGORICAL, NUMERIC)
    a = build_reference(
        *args, sample_size=500, seed=1, out_dir=tmp_path / "a", labels=holdout_frame["churned"]
    )
    b = build_reference(*args, sample_size=500, seed=1, out_dir=tmp_path / "b")
    c = build_reference(*args, sample_size=500, seed=2, out_dir=tmp_path / "c")

    names = {p.name for p in a.iterdir()}
    assert names == {
        "manifest.json",
        "psi_bins.json",
        "reference_features.parquet",
        "reference_scores.parquet",
        "tabular_detector",
        "classifier_detector",
    }
    sample_a = pd.read_parquet(a / "reference_features.parquet")
    assert len(sample_a) == 500
    assert list(sample_a.columns) == CATEGORICAL + NUMERIC
    assert sample_a.equals(pd.read_parquet(b / "reference_features.parquet"))
    assert not sample_a.equals(pd.read_parquet(c / "reference_features.parquet"))
    manifest = json.loads((a / "manifest.json").read_text())
    assert manifest["vocabulary"]["plan"] == ["basic", "premium", "standard"]
    assert manifest["n_source_rows"] == len(holdout_frame)
    assert 0.6 < manifest["holdout_roc_auc"] < 1.0
    assert json.loads((b / "manifest.json").read_text())["holdout_roc_auc"] is None
    edges = json.loads((a / "psi_bins.json").read_text())["features"]["age"]
    assert len(edges) == 9
    assert edges == sorted(edges)


def test_encoding_maps_unseen_and_null_categories_to_their_own_codes(reference):
    """Known values get vocabulary indices, nulls len(vocab), unseen len(vocab)+1.

    Proves: the encoding the detectors see for plan, and that numeric nulls stay NaN.
    Cannot prove the model's own encoder agrees (it has its own).
    """
    frame = pd.DataFrame(
        {
            "plan": ["basic", "standard", None, "family"],
            "region": ["north"] * 4,
            "tenure_months": [1.0, np.nan, 3.0, 4.0],
            "age": 40.0,
            "sessions_7d": 1.0,
            "spend_30d": 10.0,
        }
    )
    encoded = reference.encode(frame)

    assert encoded[:, 0].tolist() == [0.0, 2.0, 3.0, 4.0]
    assert np.isnan(encoded[1, 2])


def test_build_reference_rejects_bad_inputs(tmp_path, holdout_frame, predict_fn):
    """Missing columns, misaligned scores and bad sizes fail with a clear message.

    Proves: each error names what is wrong. Cannot prove the scores really are
    the model's.
    """
    scores = predict_fn(holdout_frame)
    with pytest.raises(ValueError, match=r"missing reference columns \['churn_score'\]"):
        build_reference(holdout_frame, scores, CATEGORICAL, ["churn_score"], out_dir=tmp_path)
    with pytest.raises(ValueError, match="scores has 3 values"):
        build_reference(holdout_frame, scores[:3], CATEGORICAL, NUMERIC, out_dir=tmp_path)
    with pytest.raises(ValueError, match="both categorical and numeric"):
        build_reference(holdout_frame, scores, ["age"], NUMERIC, out_dir=tmp_path)
    with pytest.raises(ValueError, match="sample_size"):
        build_reference(holdout_frame, scores, CATEGORICAL, NUMERIC, 0, out_dir=tmp_path)


@pytest.mark.parametrize(
    "form",
    [
        "run_id",
        "runs:/{run_id}/model",
        "models:/churn@champion",
        "models:/churn/1",
        "models:/{model_id}",
    ],
)
def test_reference_round_trips_through_mlflow(mlflow_store, reference, form):
    """log_reference + load_reference give back the same reference from every URI form.

    Proves: with a real sqlite store and a real logged sklearn model, the reference
    is found from a run id, a runs:/ URI, a registry alias, a version and a
    logged-model id; manifest, sample, scores and detector results are equal to the
    local copy. Cannot prove it against a remote MLflow server or S3 artifacts.
    """
    target = form.format(**mlflow_store) if "{" in form else form
    if form == "run_id":
        target = mlflow_store["run_id"]
    loaded = load_reference(target, mlflow_store["client"])

    assert loaded.run_id == mlflow_store["run_id"]
    assert loaded.manifest == reference.manifest
    assert loaded.features.equals(reference.features)
    np.testing.assert_array_equal(loaded.scores, reference.scores)
    window = churn_frame(800, seed=40, age_shift=3.0)
    ours = check_drift(
        window, reference, DriftParams(**DRIFT_ROLES, checks=("feature", "multivariate"))
    )
    theirs = check_drift(
        window, loaded, DriftParams(**DRIFT_ROLES, checks=("feature", "multivariate"))
    )
    assert theirs.report()["features"] == ours.report()["features"]
    assert theirs.multivariate == ours.multivariate


def test_a_run_without_reference_is_a_clear_error(mlflow_store):
    """A model whose run never logged a drift reference fails with what to do about it.

    Proves: the error names the run and drift_reference and says to call
    build_reference + log_reference. Cannot prove train_model calls them.
    """
    with pytest.raises(
        FileNotFoundError,
        match=f"{mlflow_store['bare_run_id']}.*{REFERENCE_ARTIFACT_PATH}.*build_reference",
    ):
        load_reference("models:/bare/1", mlflow_store["client"])


def test_load_champion_scores_with_the_registered_model(mlflow_store, predict_fn, reference):
    """The champion is loaded by alias as pyfunc and scores exactly like the in-process model.

    Proves: models:/churn@champion resolves to the run holding the reference, its
    pyfunc (predict_proba) scores equal the fixture model's, and the holdout ROC
    AUC comes from the manifest (not the run's roc_auc metric of 0.5). Cannot prove
    the same for a model flavour other than sklearn.
    """
    champion = load_champion(mlflow_store["client"], champion_uri("churn"))
    window = churn_frame(300, seed=41)

    assert champion.run_id == mlflow_store["run_id"]
    np.testing.assert_allclose(positive_probability(champion.predict(window)), predict_fn(window))
    assert champion.holdout_roc_auc == reference.holdout_roc_auc
    with pytest.raises(ValueError, match="model_uri or model_name"):
        champion_uri()


def test_run_drift_check_writes_html_and_json(mlflow_store, tmp_path):
    """The component's core entry point, with the shared report writer, gives both reports.

    Proves: from a tracking URI and a model name, a shifted window is detected and
    the JSON report on disk is strict JSON with the status and drifted features;
    the HTML file is written. Cannot prove the KFP wiring (tests/components does).
    """
    config = DriftCheckConfig(
        churn_frame(1000, seed=42, age_shift=8.0),
        DriftParams(**DRIFT_ROLES),
        tracking_uri=mlflow_store["uri"],
        model_name="churn",
    )
    report = run(config)
    write_reports(
        report, report_path=tmp_path / "r" / "report.json", html_path=tmp_path / "r" / "report.html"
    )

    on_disk = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report.drift_detected is True
    assert on_disk["status"] == "drift"
    assert on_disk["drifted_features"] == ["age"]
    assert on_disk["model_uri"] == "models:/churn@champion"
    assert on_disk["run_id"] == mlflow_store["run_id"]
    assert (tmp_path / "r" / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_reference_sample_takes_one_row_per_customer(tmp_path, holdout_frame, predict_fn):
    """A holdout with repeated customers is sampled from each customer's latest row.

    Proves: doubling every customer (an older copy with other values) gives a manifest
    counting 3,000 entities and a sample drawn only from the latest copies. Cannot
    prove the holdout's time range is the right reference (train_model chooses it).
    """
    latest = holdout_frame.assign(event_timestamp=pd.Timestamp("2024-06-02", tz="UTC"))
    older = holdout_frame.assign(event_timestamp=pd.Timestamp("2024-06-01", tz="UTC"), age=-1.0)
    frame = pd.concat([older, latest], ignore_index=True)
    out = build_reference(
        frame, predict_fn(frame), CATEGORICAL, NUMERIC, 5000, seed=0, out_dir=tmp_path,
        entity_column="customer_id", timestamp_column="event_timestamp",
    )  # fmt: skip

    manifest = json.loads((out / "manifest.json").read_text())
    sample = pd.read_parquet(out / "reference_features.parquet")
    assert manifest["n_source_rows"] == 6000
    assert manifest["n_source_entities"] == 3000
    assert manifest["entity_column"] == "customer_id"
    assert len(sample) == 3000
    assert not (sample["age"] == -1.0).any()
