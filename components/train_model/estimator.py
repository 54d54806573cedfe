"""The objects a saved suite model is made of, beyond scikit-learn and XGBoost.

A logged model references these by import path (``components.train_model.estimator``),
so this module is shipped inside every logged model (MLflow ``code_paths``) and a
stock MLServer / ``mlflow models serve`` loads the model without the suite
installed. Keep it dependency-light (numpy and pandas only, plus threadpoolctl, which
scikit-learn itself requires, imported lazily) and keep the names stable: renaming
anything here breaks loading of models already registered.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

MISSING_CATEGORY = "__missing__"


def normalize_categories(frame: Any) -> pd.DataFrame:
    """Returns categorical columns as strings, with every kind of missing value as one category.

    Feast and parquet give ``None`` for a missing string, pandas may give
    ``np.nan`` or ``pd.NA``; scikit-learn's encoders would treat those as
    different categories (or fail on ``pd.NA``). All of them become
    `MISSING_CATEGORY` here, so training and serving agree.

    Args:
        frame: The categorical columns (a frame, or a 2-D array).
    """
    frame = pd.DataFrame(frame)
    return frame.astype(object).where(frame.notna(), MISSING_CATEGORY).astype(str)


FAST_PATH_MAX_ROWS = 1024
"""Largest frame `PositiveClassModel` preprocesses with its `FastPreprocessor`.

Larger batches go through the scikit-learn pipeline, whose per-call overhead no
longer matters there and which stays the reference the fast path is checked
against."""

_EXACT_NUMERIC_KINDS = frozenset("iu")

SINGLE_THREAD_CLASSIFIERS = frozenset({"HistGradientBoostingClassifier"})
"""Classifiers whose small-frame predict runs with one OpenMP thread.

HistGradientBoosting opens an OpenMP parallel region over every core on each call; for
the fast path's frames (<= `FAST_PATH_MAX_ROWS` rows) waking the threads costs more than
the work (measured here on two busy cores: 3.6 ms -> 1.2 ms for one row). The answers do not
change: prediction sums each tree's value per row, whatever the thread count."""


@functools.lru_cache(maxsize=1)
def _openmp_controller() -> Any:
    """Returns the process's one `threadpoolctl.ThreadpoolController`.

    Building one scans the loaded libraries, which costs more than the prediction.
    """
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


class FastPreprocessor:
    """The fitted ``ColumnTransformer`` of a suite pipeline as plain lookups and arrays.

    scikit-learn's preprocessing costs ~3-9 ms per call whatever the batch size
    (input validation, a pandas copy per transformer, feature-name checks), which
    is almost all of a one-row prediction. This object does the same arithmetic
    with dictionaries and numpy: one-hot positions per category (unseen ones stay
    all zeros, as ``OneHotEncoder(handle_unknown="ignore")`` does), the numeric
    columns passed through as float64 or, for logistic regression, median
    imputation, missing indicators and standard scaling with the fitted constants
    (the same operations in the same order, so the same bits).

    It answers only the inputs it reproduces exactly and returns None for the rest
    (a missing or duplicated column, a numeric column that is not int or float64,
    an infinite value, an empty or large frame); the caller then uses the
    scikit-learn pipeline, which gives its own answer or error. It is built from a
    fitted pipeline by ``components.train_model.core.compile_fast_path``, which
    checks it against the pipeline before a model keeps it.

    Attributes:
        width: Number of encoded columns (the classifier's input width).
        categorical_columns: Categorical input columns, in transformer order.
        category_positions: Per categorical column, category string -> output column.
        numeric_columns: Numeric input columns, in transformer order.
        numeric_start: Output column of the first numeric feature.
        impute_values: Median per numeric column (None: numeric passthrough).
        kept_columns: Numeric columns the imputer keeps (its statistic is not NaN).
        indicator_columns: Numeric columns that get a missing indicator.
        scale_mean: ``StandardScaler.mean_`` over imputed values then indicators.
        scale_scale: ``StandardScaler.scale_``, same layout.
    """

    def __init__(
        self,
        width: int,
        categorical_columns: list[str],
        category_positions: list[dict[str, int]],
        numeric_columns: list[str],
        numeric_start: int,
        impute_values: np.ndarray | None = None,
        kept_columns: np.ndarray | None = None,
        indicator_columns: np.ndarray | None = None,
        scale_mean: np.ndarray | None = None,
        scale_scale: np.ndarray | None = None,
    ) -> None:
        self.width = width
        self.categorical_columns = categorical_columns
        self.category_positions = category_positions
        self.numeric_columns = numeric_columns
        self.numeric_start = numeric_start
        self.impute_values = impute_values
        self.kept_columns = kept_columns
        self.indicator_columns = indicator_columns
        self.scale_mean = scale_mean
        self.scale_scale = scale_scale

    def transform(self, frame: Any) -> np.ndarray | None:
        """Returns the encoded float64 matrix for `frame`, or None if the pipeline must do it.

        Args:
            frame: Raw feature rows (extra columns are ignored, as the pipeline drops them).
        """
        if not isinstance(frame, pd.DataFrame) or not 0 < len(frame) <= FAST_PATH_MAX_ROWS:
            return None
        if not frame.columns.is_unique:
            return None
        needed = [*self.categorical_columns, *self.numeric_columns]
        if any(column not in frame.columns for column in needed):
            return None
        numeric = self._numeric(frame)
        if numeric is None:
            return None
        out = np.zeros((len(frame), self.width), dtype="float64")
        for column, positions in zip(
            self.categorical_columns, self.category_positions, strict=True
        ):
            values = frame[column].to_numpy(dtype=object)
            missing = pd.isna(values)
            for row, (value, absent) in enumerate(zip(values, missing, strict=True)):
                # str(value) is what normalize_categories' astype(str) gives a present value.
                position = positions.get(MISSING_CATEGORY if absent else str(value))
                if position is not None:
                    out[row, position] = 1.0
        if numeric.shape[1]:
            out[:, self.numeric_start :] = numeric
        return out

    def _numeric(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Returns the encoded numeric block, or None for input the pipeline must handle."""
        if not self.numeric_columns:
            return np.empty((len(frame), 0), dtype="float64")
        series = [frame[column] for column in self.numeric_columns]
        for one in series:
            dtype = one.dtype
            if not isinstance(dtype, np.dtype):
                return None
            if dtype.kind not in _EXACT_NUMERIC_KINDS and dtype != np.float64:
                return None
        block = np.column_stack([one.to_numpy(dtype="float64") for one in series])
        if np.isinf(block).any():
            return None
        if self.impute_values is None:
            return block
        missing = np.isnan(block)
        imputed = np.where(missing, self.impute_values, block)[:, self.kept_columns]
        indicators = missing[:, self.indicator_columns].astype("float64")
        scaled = np.hstack([imputed, indicators])
        scaled -= self.scale_mean
        scaled /= self.scale_scale
        return scaled


class PositiveClassModel:
    """A fitted preprocessing + classifier pipeline whose ``predict`` answers P(label = 1).

    MLflow's pyfunc for a scikit-learn classifier calls ``predict`` (class
    labels) or, with ``pyfunc_predict_fn="predict_proba"``, answers two columns
    [P(0), P(1)]. A scoring service should answer one number per row, the
    positive-class probability, so the served signature is simply ``float64[-1]``. This
    wrapper is that contract; ``predict_proba`` keeps the scikit-learn meaning
    for in-process use.

    Frames of up to `FAST_PATH_MAX_ROWS` rows are encoded by `fast_path` (when
    the model has one) and handed to the classifier directly; everything else goes
    through the pipeline. Both give the same numbers (see `FastPreprocessor`).

    Attributes:
        pipeline: The fitted scikit-learn ``Pipeline`` (preprocessing + classifier).
        fast_path: The pipeline's preprocessing compiled for small frames, or None
            (models logged before it existed load without one and use the pipeline).
    """

    def __init__(self, pipeline: Any, fast_path: FastPreprocessor | None = None) -> None:
        self.pipeline = pipeline
        self.fast_path = fast_path

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Returns [P(label = 0), P(label = 1)] per row, as scikit-learn does."""
        fast_path = getattr(self, "fast_path", None)
        if fast_path is not None:
            encoded = fast_path.transform(frame)
            if encoded is not None:
                classifier = self.pipeline.steps[-1][1]
                if type(classifier).__name__ not in SINGLE_THREAD_CLASSIFIERS:
                    return np.asarray(classifier.predict_proba(encoded), dtype="float64")
                with _openmp_controller().limit(limits=1, user_api="openmp"):
                    return np.asarray(classifier.predict_proba(encoded), dtype="float64")
        return self.reference_predict_proba(frame)

    def reference_predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Returns what `predict_proba` answers, always through the scikit-learn pipeline."""
        return np.asarray(self.pipeline.predict_proba(frame), dtype="float64")

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Returns P(label = 1) per row as a 1-D float64 array (what the served model answers)."""
        return self.predict_proba(frame)[:, 1]
