"""KFP wrapper of `components.train_model.core.train`."""

from typing import Optional

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

from components._images import image_for


@dsl.component(base_image=image_for("train_model"), install_kfp_package=False)
def train_model(
    training_data: Input[Dataset],
    label_column: str,
    timestamp_column: str,
    entity_column: str,
    tracking_uri: str = "",
    experiment_name: str = "suite",
    model_type: str = "xgboost",
    hyperparameters: Optional[dict] = None,  # noqa: UP045 - KFP reads the annotation
    search_trials: int = 0,
    search_cv_splits: int = 3,
    holdout_fraction: float = 0.2,
    seed: int = 42,
    categorical_features: Optional[list] = None,  # noqa: UP045
    numeric_features: Optional[list] = None,  # noqa: UP045
    feature_service: str = "",
    suite_version: str = "",
    pipeline_run_id: str = dsl.PIPELINE_JOB_ID_PLACEHOLDER,
    *,
    model: Output[Model],
    holdout: Output[Dataset],
):
    """Trains a binary classifier on a time-ordered split and logs it to MLflow.

    Args:
        training_data: Parquet training frame (entity key, timestamp, label, features):
            `get_features`' output, whose feature columns are the feature service's.
        label_column: Binary 0/1 label.
        timestamp_column: Label time of each row (the split orders by it).
        entity_column: Entity key (kept in the holdout, not a feature).
        model: The MLflow model directory; metadata has run_id, model_uri and lineage.
        holdout: Parquet of the latest `holdout_fraction` of rows, by event time.
        tracking_uri: MLflow tracking URI; empty = MLFLOW_TRACKING_URI or ./mlruns sqlite.
        experiment_name: MLflow experiment.
        model_type: xgboost, hist_gradient_boosting or logistic_regression.
        hyperparameters: Estimator parameter overrides; unknown names are an error.
        search_trials: Randomized-search candidates (0 = off), time-series CV.
        search_cv_splits: Folds of the search's time-series CV.
        holdout_fraction: Share of rows held out, latest first.
        seed: Seed for every random choice.
        categorical_features: With `numeric_features` None: numeric-typed features to
            treat as categorical (strings and booleans always are); else the full list.
        numeric_features: Numeric columns; None = every other feature of the frame.
        feature_service: Feast feature service of the training frame (lineage); "" =
            the one `get_features` recorded on `training_data`.
        suite_version: Suite version tag; empty = this image's version.
        pipeline_run_id: KFP run id (lineage).
    """
    import pandas as pd

    from components._contract import publish
    from components.train_model import core

    config = core.TrainConfig(
        model_type=model_type, hyperparameters=hyperparameters or {},
        search_trials=search_trials, search_cv_splits=search_cv_splits,
        holdout_fraction=holdout_fraction, seed=seed, label_column=label_column,
        timestamp_column=timestamp_column, entity_column=entity_column,
        categorical_features=tuple(categorical_features or ()),
        numeric_features=None if numeric_features is None else tuple(numeric_features),
    )  # fmt: skip
    job = core.TrainJob(
        pd.read_parquet(training_data.path), config,
        core.Lineage(suite_version, pipeline_run_id, feature_service, training_data.uri),
        experiment_name=experiment_name, tracking_uri=tracking_uri, model_dir=model.path,
        recorded_feature_service=training_data.metadata.get("feature_service", ""),
    )  # fmt: skip
    result = core.run(job)
    publish(result, metadata=[model])
    publish(result.holdout_set(), metadata=[holdout], frames={holdout: result.holdout})
