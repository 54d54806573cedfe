"""The small-frame fast path of `PositiveClassModel` against the scikit-learn pipeline."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import skops.io

from churn_data.schema import TRAIN_ROLES
from components.train_model import core
from components.train_model.estimator import (
    FAST_PATH_MAX_ROWS,
    MISSING_CATEGORY,
    PositiveClassModel,
)

TOLERANCE = 1e-9


@pytest.fixture(scope="module")
def split(training_frame: pd.DataFrame) -> core.TimeSplit:
    return core.time_split(training_frame, core.TrainConfig(**TRAIN_ROLES))


@pytest.fixture(scope="module", params=core.MODEL_TYPES)
def fitted(request: pytest.FixtureRequest, split: core.TimeSplit) -> PositiveClassModel:
    """One fitted model per model type, shared by this module's tests."""
    config = core.TrainConfig(**TRAIN_ROLES, model_type=request.param)
    return core.fit_model(split.train, config).model


def _assert_same(model: PositiveClassModel, rows: pd.DataFrame) -> None:
    """Asserts the fast path handles `rows` and answers what the pipeline answers."""
    assert model.fast_path.transform(rows) is not None, "the fast path refused these rows"
    fast = model.predict_proba(rows)
    reference = model.reference_predict_proba(rows)
    assert fast.dtype == reference.dtype == np.float64
    assert fast.shape == reference.shape == (len(rows), 2)
    np.testing.assert_allclose(fast, reference, rtol=0, atol=TOLERANCE)


def _malformed(rows: pd.DataFrame) -> pd.DataFrame:
    """Returns `rows` with every kind of missing value, unseen categories and NaN numerics."""
    rows = rows.copy()
    kinds = [None, np.nan, pd.NA, "never-seen", MISSING_CATEGORY, "", " basic", 3]
    for offset, column in enumerate(["plan", "region", "channel"]):
        values = rows[column].to_numpy(dtype=object)
        for i in range(len(rows)):
            if (i + offset) % 3 == 0:
                values[i] = kinds[(i + offset) % len(kinds)]
        rows[column] = values
    numeric = [c for c in rows.columns if pd.api.types.is_float_dtype(rows[c].dtype)]
    for offset, column in enumerate(numeric):
        rows.loc[rows.index[offset::4], column] = np.nan
    return rows


def test_fast_path_equals_the_pipeline_on_the_holdout(
    fitted: PositiveClassModel, split: core.TimeSplit
) -> None:
    """On holdout batches of 1 row up to the limit, the fast path answers the pipeline's numbers.

    Proves: for each model type the compiled fast path exists, handles the holdout
    frame as given (extra entity/timestamp/label columns included), and its
    predict_proba equals the scikit-learn pipeline's within 1e-9 (in practice
    bit-identical) for one row, a small batch, 256 rows and the row limit; a frame
    above the limit is answered by the pipeline itself.

    Cannot prove equality for data distributions the holdout does not contain
    (the malformed-row tests cover the missing/unseen cases).
    """
    assert fitted.fast_path is not None
    holdout = split.holdout
    for size in (1, 7, 256, FAST_PATH_MAX_ROWS):
        for start in range(0, min(len(holdout), 3 * size), size):
            _assert_same(fitted, holdout.iloc[start : start + size])
    for i in range(0, len(holdout), 97):
        _assert_same(fitted, holdout.iloc[[i]])
    large = pd.concat([holdout] * (FAST_PATH_MAX_ROWS // len(holdout) + 1))
    assert len(large) > FAST_PATH_MAX_ROWS
    assert fitted.fast_path.transform(large) is None
    assert np.array_equal(fitted.predict_proba(large), fitted.reference_predict_proba(large))


def test_fast_path_equals_the_pipeline_on_malformed_rows(
    fitted: PositiveClassModel, split: core.TimeSplit
) -> None:
    """Missing, unseen and oddly typed values get exactly the pipeline's answer, row by row.

    Proves: None, NaN and pd.NA categories (one category, as in training), unseen
    categories (all-zero one-hot), the literal missing token, an empty string, a
    non-string category (3 becomes "3"), NaN numerics (native NaN for trees,
    median + indicator for logistic regression), integer numeric columns, pandas
    ``string`` and ``category`` dtypes, reordered columns, and a row that is
    entirely missing all answer what the pipeline answers, within 1e-9.

    Cannot prove it for dtypes the fast path declines (float32, nullable or
    object numerics, infinities); those go to the pipeline (next test).
    """
    rows = _malformed(split.holdout.head(60))
    _assert_same(fitted, rows)
    for i in range(len(rows)):
        _assert_same(fitted, rows.iloc[[i]])
    as_string = rows.astype({"plan": "string", "region": "category"})
    _assert_same(fitted, as_string)
    integers = split.holdout.head(40).copy()
    integers["tenure_months"] = integers["tenure_months"].fillna(0).round().astype("int64")
    integers["age"] = integers["age"].fillna(0).round().astype("int32")
    _assert_same(fitted, integers)
    _assert_same(fitted, rows[list(reversed(rows.columns))])
    empty_row = rows.head(1).copy()
    for column in empty_row.columns:
        if column in ("plan", "region", "channel"):
            empty_row[column] = pd.Series([pd.NA], dtype=object, index=empty_row.index)
        elif pd.api.types.is_float_dtype(empty_row[column].dtype):
            empty_row[column] = np.nan
    _assert_same(fitted, empty_row)


def test_inputs_the_fast_path_declines_get_the_pipelines_answer_or_error(
    fitted: PositiveClassModel, split: core.TimeSplit
) -> None:
    """Inputs the fast path cannot reproduce exactly go to the pipeline, answer or error alike.

    Proves: a missing feature column raises the pipeline's own error; infinite,
    float32, nullable-Float64 and object numerics, duplicated column names and an
    empty frame are declined by the fast path (transform returns None) and
    predict_proba then gives exactly the pipeline's result or raises its error.

    Cannot prove which of these the pipeline accepts is sensible; only that the
    suite's answer does not change.
    """
    rows = split.holdout.head(5)
    with pytest.raises(ValueError, match="columns are missing"):
        fitted.predict_proba(rows.drop(columns=["age"]))
    declined = {
        "infinite": rows.assign(age=np.inf),
        "float32": rows.astype({"age": "float32"}),
        "nullable": rows.astype({"age": "Float64"}),
        "object": rows.astype({"age": object}),
        "empty": rows.head(0),
    }
    for name, frame in declined.items():
        assert fitted.fast_path.transform(frame) is None, name
        try:
            expected = fitted.reference_predict_proba(frame)
        except ValueError as exc:
            with pytest.raises(type(exc)):
                fitted.predict_proba(frame)
            continue
        assert np.array_equal(fitted.predict_proba(frame), expected, equal_nan=True), name
    duplicated = pd.concat([rows, rows[["age"]]], axis=1)
    assert fitted.fast_path.transform(duplicated) is None


def test_fast_path_survives_skops_and_old_models_still_predict(
    fitted: PositiveClassModel, split: core.TimeSplit
) -> None:
    """The fast path is saved and loaded with the model (skops), and a model without one predicts.

    Proves: a skops round trip (the format the suite logs models in, with the
    trusted types `train` computes) keeps a working fast path with identical
    answers; a model whose saved state has no ``fast_path`` (logged before it
    existed) answers through the pipeline with the same numbers.

    Cannot prove loading of a model file written by an older suite release; the
    old state is simulated by removing the attribute.
    """
    rows = _malformed(split.holdout.head(30))
    trusted = core._trusted_types(fitted)
    loaded = skops.io.loads(skops.io.dumps(fitted), trusted=trusted)
    assert loaded.fast_path is not None
    assert np.array_equal(loaded.predict_proba(rows), fitted.predict_proba(rows))
    old = copy.deepcopy(fitted)
    del old.__dict__["fast_path"]
    assert np.array_equal(old.predict_proba(rows), fitted.reference_predict_proba(rows))


def test_hist_gradient_boosting_predicts_small_frames_on_one_openmp_thread(
    split: core.TimeSplit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HistGradientBoosting's fast-path predict runs with one OpenMP thread, same answers.

    Proves: with two OpenMP threads as the process default, the classifier predicts a
    small frame through the fast path on one thread (the OpenMP wake-up dominated
    one-row latency) and through the pipeline on the default two, the default is back
    afterwards, and both answers agree to 1e-9. Cannot prove the latency gain
    (bench/serving.py measures it).
    """
    from threadpoolctl import threadpool_info, threadpool_limits

    def openmp_threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp"}

    config = core.TrainConfig(**TRAIN_ROLES, model_type="hist_gradient_boosting")
    model = core.fit_model(split.train, config).model
    classifier = model.pipeline.steps[-1][1]
    seen: list[set[int]] = []
    original = classifier.predict_proba

    def recording(encoded):
        seen.append(openmp_threads())
        return original(encoded)

    monkeypatch.setattr(classifier, "predict_proba", recording)
    with threadpool_limits(limits=2, user_api="openmp"):
        assert openmp_threads() == {2}
        _assert_same(model, split.holdout.head(7))  # fast path first, then the pipeline
        assert openmp_threads() == {2}
    assert seen == [{1}, {2}]
