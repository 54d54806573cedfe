"""Unit tests of `components.train_model.core` on real scikit-learn, XGBoost and MLflow."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from churn_data import schema
from churn_data.schema import TRAIN_ROLES
from components import _mlflow as mlf
from components._fingerprint import frame_fingerprint
from components.train_model import core
from components.train_model.estimator import MISSING_CATEGORY, normalize_categories


@pytest.fixture(scope="module")
def split(training_frame: pd.DataFrame) -> core.TimeSplit:
    return core.time_split(training_frame, core.TrainConfig(**TRAIN_ROLES))


@pytest.fixture(scope="module")
def trained(training_frame: pd.DataFrame, tracking_uri: str) -> core.TrainResult:
    """One full training run (XGBoost defaults) shared by the MLflow-content tests."""
    lineage = core.Lineage("9.9.9-test", "kfp-run-123", "churn_v1", "/data/train.parquet")
    return core.run(
        core.TrainJob(
            training_frame, core.TrainConfig(**TRAIN_ROLES), lineage, experiment_name="train-shared"
        ),
        client=mlf.mlflow_client(tracking_uri),
    )


def test_time_split_trains_strictly_before_the_holdout(
    training_frame: pd.DataFrame, split: core.TimeSplit
) -> None:
    """The time split puts every training row before every holdout row.

    Proves: training rows are strictly earlier than holdout rows, no row is lost or
    duplicated, and the holdout is about the requested latest fraction.

    Cannot prove the split is right for data whose timestamps are heavily tied (then the
    holdout can be larger than the fraction, by design: a timestamp is never split).
    """
    ts = "event_timestamp"
    assert split.train[ts].max() < split.holdout[ts].min() == split.cutoff
    assert len(split.train) + len(split.holdout) == len(training_frame)
    assert set(split.train.customer_id.astype(str) + split.train[ts].astype(str)).isdisjoint(
        set(split.holdout.customer_id.astype(str) + split.holdout[ts].astype(str))
    )
    assert len(split.holdout) / len(training_frame) == pytest.approx(0.2, abs=0.01)


@pytest.mark.parametrize("model_type", core.MODEL_TYPES)
def test_fit_is_deterministic(split: core.TimeSplit, model_type: str) -> None:
    """Two fits with the same data, parameters and seed give bit-identical P(churn).

    Proves: determinism of preprocessing + classifier for each model type, and the 1-D
    float64 output. Cannot prove determinism across machines or library versions (XGBoost and OpenMP
    summation order may differ elsewhere); this is the same process and environment.
    """
    config = core.TrainConfig(**TRAIN_ROLES, model_type=model_type)
    first = core.fit_model(split.train, config).model.predict(split.holdout)
    second = core.fit_model(split.train, config).model.predict(split.holdout)
    assert np.array_equal(first, second)
    assert first.dtype == np.float64
    assert first.shape == (len(split.holdout),)


def test_two_training_runs_log_identical_metrics_and_models(
    training_frame: pd.DataFrame, client, experiment: str
) -> None:
    """Two full training runs log identical metrics, and their served models agree.

    Proves: two `train` runs on the same data and params (with a search) log identical
    metrics and hyperparameters, and their logged models, loaded back through MLflow
    pyfunc, answer identical predictions.

    Cannot prove it for different row orders of the same data (the fingerprint and the
    time split's tie order would differ) - that is intended.
    """
    config = core.TrainConfig(**TRAIN_ROLES, model_type="logistic_regression", search_trials=3)
    runs = [
        core.run(core.TrainJob(training_frame, config, experiment_name=experiment), client=client)
        for _ in "ab"
    ]
    assert runs[0].run_id != runs[1].run_id
    assert runs[0].run_metrics == runs[1].run_metrics
    assert runs[0].hyperparameters == runs[1].hyperparameters
    logged = [client.get_run(r.run_id).data.metrics for r in runs]
    assert logged[0] == logged[1]
    answers = [mlflow.pyfunc.load_model(r.model_uri).predict(r.holdout) for r in runs]
    assert np.array_equal(answers[0], answers[1])


@pytest.mark.parametrize("model_type", core.MODEL_TYPES)
def test_preprocessing_handles_unseen_categories_and_missing_values(
    split: core.TimeSplit, model_type: str
) -> None:
    """The pipeline scores unseen categories and every kind of missing value.

    Proves: rows with an unseen category, None / NaN / pd.NA categoricals and NaN
    numerics get finite probabilities in [0, 1]; an unseen category is one-hot encoded
    as all zeros; None, NaN and pd.NA are one and the same category.

    Cannot prove the scores for such rows are good - only that they are well-formed.
    """
    fitted = core.fit_model(
        split.train, core.TrainConfig(**TRAIN_ROLES, model_type=model_type)
    ).model
    rows = split.holdout.head(4).copy()
    rows["plan"] = pd.Series(["platinum", None, np.nan, pd.NA], dtype=object).to_numpy()
    rows["channel"] = "carrier-pigeon"
    rows.loc[rows.index[:2], "sessions_7d"] = np.nan
    probability = fitted.predict(rows)
    assert np.all(np.isfinite(probability))
    assert np.all((probability >= 0) & (probability <= 1))

    preprocess = fitted.pipeline.named_steps["preprocess"]
    encoded = pd.DataFrame(preprocess.transform(rows), columns=preprocess.get_feature_names_out())
    channel_columns = [c for c in encoded.columns if c.startswith("categorical__channel_")]
    assert (encoded[channel_columns] == 0).all().all()
    plan_columns = [c for c in encoded.columns if c.startswith("categorical__plan_")]
    assert (encoded.loc[1:3, plan_columns].nunique() == 1).all()
    assert normalize_categories(rows[["plan"]])["plan"].tolist()[1:] == [MISSING_CATEGORY] * 3


def test_served_model_answers_churn_probability_like_in_process(
    trained: core.TrainResult, training_frame: pd.DataFrame
) -> None:
    """The served (pyfunc) model answers P(churn), equal to in-process predict_proba[:, 1].

    Proves: the logged model, loaded through MLflow pyfunc (the path MLServer's MLflow
    runtime takes), answers ONE float per row in [0, 1] for the raw holdout frame (extra
    entity/timestamp/label columns ignored), equal to the in-process ``predict_proba``
    class-1 column, with a float64[-1] output signature and the feature columns as input;
    the loaded model kept its fast path and answers what its sklearn pipeline answers.

    Cannot prove what a V2 HTTP round trip does to the numbers (validate_serving does).
    """
    served = mlflow.pyfunc.load_model(trained.model_uri)
    answer = served.predict(trained.holdout)
    assert answer.shape == (len(trained.holdout),)
    assert np.all((answer >= 0) & (answer <= 1))
    native = mlflow.sklearn.load_model(trained.model_uri)
    in_process = native.predict_proba(trained.holdout[trained.feature_columns])[:, 1]
    np.testing.assert_allclose(answer, in_process, rtol=0, atol=1e-12)
    assert native.fast_path is not None
    reference = native.reference_predict_proba(trained.holdout[trained.feature_columns])[:, 1]
    np.testing.assert_allclose(answer, reference, rtol=0, atol=1e-9)
    output = served.metadata.signature.outputs.inputs[0]
    assert output.type == np.dtype("float64")
    assert output.shape == (-1,)
    assert served.metadata.get_input_schema().input_names() == trained.feature_columns


def test_exported_model_loads_without_the_suite_installed(
    trained: core.TrainResult, tmp_path: Path
) -> None:
    """The exported model carries its own code and loads where the suite is not installed.

    Proves: the directory `export_model` writes has ``code/components/train_model/
    estimator.py`` and loads and predicts (same numbers) in a fresh interpreter where
    the suite's editable install is hidden, as a stock MLServer would load it.

    Cannot prove it loads with other scikit-learn / XGBoost / skops versions than this
    environment's (the model pins them in requirements.txt).
    """
    core.export_model(trained.model_uri, str(tmp_path / "model"))
    assert (tmp_path / "model" / "code" / "components" / "train_model" / "estimator.py").is_file()
    trained.holdout.head(5).to_parquet(tmp_path / "rows.parquet")
    script = textwrap.dedent(
        f"""
        import json, sys
        sys.meta_path[:] = [f for f in sys.meta_path if "editable" not in repr(f)]
        import mlflow.pyfunc, pandas as pd
        model = mlflow.pyfunc.load_model({str(tmp_path / "model")!r})
        import components.train_model.estimator as e
        rows = pd.read_parquet({str(tmp_path / "rows.parquet")!r})
        print(json.dumps({{"origin": e.__file__, "p": model.predict(rows).tolist()}}))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    assert answer["origin"].startswith(str(tmp_path / "model" / "code"))
    expected = mlflow.pyfunc.load_model(trained.model_uri).predict(trained.holdout.head(5))
    np.testing.assert_allclose(answer["p"], expected, rtol=0, atol=1e-12)


def test_run_records_params_metrics_tags_inputs_and_model(
    trained: core.TrainResult, client, training_frame: pd.DataFrame
) -> None:
    """The MLflow run records params, metrics, lineage tags, data inputs and the model.

    Proves: params, training metrics, lineage tags (suite version, git SHA, KFP run id,
    feature service, data fingerprint), training and holdout data as run inputs with
    fingerprint and source, a model with an input example; `TrainResult.metadata()` is
    JSON-safe and names the run and model.

    Cannot prove the git SHA is the commit that will be released (it is the checkout's).
    """
    run = client.get_run(trained.run_id)
    assert run.data.params["model_type"] == "xgboost"
    assert run.data.params["hp.max_depth"] == "4"
    assert run.data.params["holdout_start"] == trained.holdout_start
    assert {"train_roc_auc", "train_log_loss", "train_rows", "holdout_rows"} <= set(
        run.data.metrics
    )
    tags = run.data.tags
    assert tags[mlf.TAG_SUITE_VERSION] == "9.9.9-test"
    assert tags[mlf.TAG_PIPELINE_RUN_ID] == "kfp-run-123"
    assert tags[mlf.TAG_FEATURE_SERVICE] == "churn_v1"
    assert tags[mlf.TAG_DATA_FINGERPRINT] == frame_fingerprint(training_frame)
    assert tags[mlf.TAG_GIT_SHA]
    inputs = {
        next(t.value for t in d.tags if t.key == "mlflow.data.context"): d
        for d in run.inputs.dataset_inputs
    }
    train_rows = core.time_split(training_frame, core.TrainConfig(**TRAIN_ROLES)).train
    for context, rows in (("training", train_rows), ("holdout", trained.holdout)):
        logged = inputs[context]
        assert logged.dataset.digest == mlf.dataset_digest(frame_fingerprint(rows))
        assert json.loads(logged.dataset.source) == {"uri": "/data/train.parquet"}
        input_tags = {t.key: t.value for t in logged.tags}
        assert input_tags["source_fingerprint"] == trained.data_fingerprint
    info = mlflow.models.get_model_info(trained.model_uri)
    assert info.saved_input_example_info is not None
    metadata = json.loads(json.dumps(trained.metadata()))
    assert metadata["run_id"] == trained.run_id
    assert metadata["model_uri"] == trained.model_uri


def test_search_runs_a_bounded_number_of_time_series_trials(split: core.TimeSplit) -> None:
    """The randomized search runs a bounded number of candidates.

    Proves: `search_trials` > 0 runs exactly that many candidates (capped by the space),
    picks hyperparameters from the search space, reports a CV ROC AUC, and leaves
    user-fixed hyperparameters alone.

    Cannot prove the time-series CV never leaks across time inside a fold (that is
    scikit-learn's TimeSeriesSplit contract on time-sorted rows, which `time_split` gives).
    """
    config = core.TrainConfig(
        **TRAIN_ROLES, model_type="xgboost", hyperparameters={"n_estimators": 50}, search_trials=2
    )
    fitted = core.fit_model(split.train, config)
    assert fitted.search_trials_run == 2
    assert 0.5 < fitted.search_best_score <= 1.0
    assert fitted.hyperparameters["n_estimators"] == 50
    assert fitted.hyperparameters["max_depth"] in core.SEARCH_SPACES["xgboost"]["max_depth"]
    capped = core.fit_model(
        split.train,
        core.TrainConfig(**TRAIN_ROLES, model_type="logistic_regression", search_trials=50),
    )
    assert capped.search_trials_run == len(core.SEARCH_SPACES["logistic_regression"]["C"])


def test_hyperparameters_are_validated_with_clear_errors() -> None:
    """Hyperparameters are validated with errors that name the offending keys.

    Proves: unknown names are refused with a message naming them and the accepted ones;
    seeds and suite-fixed parameters are refused; KFP's float-typed integers (4.0) are
    turned back into ints.

    Cannot prove a known name with a bad value fails early: the estimator rejects it at fit.
    """
    with pytest.raises(ValueError, match=r"unknown hyperparameters \['max_dept'\].*max_depth"):
        core.resolve_hyperparameters("xgboost", {"max_dept": 3})
    with pytest.raises(ValueError, match="seed"):
        core.resolve_hyperparameters("logistic_regression", {"random_state": 1})
    with pytest.raises(ValueError, match="fixed by the suite"):
        core.resolve_hyperparameters("xgboost", {"n_jobs": 4})
    with pytest.raises(ValueError, match="model_type 'lightgbm' is not supported"):
        core.resolve_hyperparameters("lightgbm", {})
    resolved = core.resolve_hyperparameters("hist_gradient_boosting", {"max_leaf_nodes": 7.0})
    assert resolved["max_leaf_nodes"] == 7
    assert isinstance(resolved["max_leaf_nodes"], int)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda f: f.drop(columns=["churned"]), "label column 'churned' is missing"),
        (lambda f: f.assign(churned=f.churned * 2), "must be binary 0/1"),
        (lambda f: f.assign(churned=0), "single class"),
        (lambda f: f.drop(columns=["age", "plan"]), r"feature columns \['plan', 'age'\]"),
        (lambda f: f.assign(age=f.age.astype(str)), "not numeric"),
        (lambda f: f.head(40), "too few rows for the time split"),
        (lambda f: f.assign(event_timestamp=f.event_timestamp.min()), "too few rows"),
    ],
    ids=[
        "no-label",
        "label-not-binary",
        "one-class",
        "missing-features",
        "bad-dtype",
        "tiny",
        "one-time",
    ],
)
def test_bad_training_frames_fail_loudly(training_frame: pd.DataFrame, mutate, message) -> None:
    """Bad training frames fail before anything is fitted or logged.

    Proves: each kind of bad input raises ValueError naming the problem (column, values,
    row counts).

    Cannot prove every possible malformation is caught (validate_data owns the contract).
    The feature lists are given explicitly here; derived from the frame (the pipeline's
    mode), a dropped feature is caught earlier, by get_features and the data contract.
    """
    config = core.TrainConfig(
        **TRAIN_ROLES,
        categorical_features=schema.CATEGORICAL_FEATURES,
        numeric_features=schema.NUMERIC_FEATURES,
    )
    with pytest.raises(ValueError, match=message):
        core.split_training_frame(mutate(training_frame), config)


def test_run_carries_the_drift_reference_of_its_model(trained: core.TrainResult, client) -> None:
    """A trained run logs its drift reference: detectors, holdout sample and the model's scores.

    Proves: `check_drift.reference.load_reference` finds the reference on the run, its
    sample is drawn from the holdout (bounded, the model's features only) and the stored
    scores are the model's own P(churn) on those rows.
    Cannot prove the reference detects drift (tests/unit/check_drift does).
    """
    from components._drift_reference import load_reference

    reference = load_reference(trained.run_id, client)
    assert 0 < len(reference.features) <= min(len(trained.holdout), 5000)
    features = set(schema.CATEGORICAL_FEATURES) | set(schema.NUMERIC_FEATURES)
    assert features <= set(reference.features)
    model = mlflow.pyfunc.load_model(trained.model_uri)
    expected = mlf.positive_probability(model.predict(reference.features))
    assert np.allclose(reference.scores, expected, atol=1e-9)
