"""The objects a saved suite model is made of, beyond scikit-learn and XGBoost.

A logged model references these by import path (``components.train_model.estimator``),
so this module is shipped inside every logged model (MLflow ``code_paths``) and a
stock MLServer / ``mlflow models serve`` loads the model without the suite
installed. Keep it dependency-light (numpy and pandas only) and keep the names
stable: renaming anything here breaks loading of models already registered.
"""

from __future__ import annotations

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


class PositiveClassModel:
    """A fitted preprocessing + classifier pipeline whose ``predict`` answers P(label = 1).

    MLflow's pyfunc for a scikit-learn classifier calls ``predict`` (class
    labels) or, with ``pyfunc_predict_fn="predict_proba"``, answers two columns
    [P(0), P(1)]. A scoring service should answer one number per row, the
    positive-class probability, so the served signature is simply ``float64[-1]``. This
    wrapper is that contract; ``predict_proba`` keeps the scikit-learn meaning
    for in-process use.

    Attributes:
        pipeline: The fitted scikit-learn ``Pipeline`` (preprocessing + classifier).
    """

    def __init__(self, pipeline: Any) -> None:
        self.pipeline = pipeline

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        """Returns [P(label = 0), P(label = 1)] per row, as scikit-learn does."""
        return np.asarray(self.pipeline.predict_proba(frame), dtype="float64")

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Returns P(label = 1) per row as a 1-D float64 array (what the served model answers)."""
        return self.predict_proba(frame)[:, 1]
