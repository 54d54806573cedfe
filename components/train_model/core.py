"""Train a binary classifier on a time-ordered split and track it in MLflow.

The training frame is what `get_features` returns (see CONVENTIONS): entity,
``event_timestamp``, the binary label and the feature columns by plain name. The
latest `holdout_fraction` of event timestamps is held out (never seen by the fit
or the search); the rest trains ONE scikit-learn ``Pipeline`` (categorical
normalisation + one-hot with unseen categories ignored, missing values, the
classifier) wrapped so the served model answers P(positive class) for the raw feature
frame. Everything random takes `TrainConfig.seed`.

No heavy import at module level: scikit-learn, XGBoost and MLflow are imported
inside the functions that need them.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from components import _mlflow as mlf
from components._fingerprint import frame_fingerprint
from components._suite import feature_roles
from components.train_model import estimator as estimator_module
from components.train_model.estimator import (
    MISSING_CATEGORY,
    FastPreprocessor,
    PositiveClassModel,
    normalize_categories,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

MODEL_TYPES = ("xgboost", "hist_gradient_boosting", "logistic_regression")
DEFAULT_MODEL_TYPE = "xgboost"

MIN_TRAIN_ROWS = 50
MIN_HOLDOUT_ROWS = 20
MAX_SEARCH_TRIALS = 50

# Defaults a user's `hyperparameters` override key by key.
DEFAULT_HYPERPARAMETERS: dict[str, dict[str, Any]] = {
    "xgboost": {
        "n_estimators": 200,
        "max_depth": 4,
        "learning_rate": 0.05,
        "subsample": 0.9,
        "colsample_bytree": 0.9,
        "min_child_weight": 1.0,
        "reg_lambda": 1.0,
    },
    "hist_gradient_boosting": {
        "max_iter": 200,
        "learning_rate": 0.05,
        "max_leaf_nodes": 31,
        "min_samples_leaf": 20,
        "l2_regularization": 0.0,
    },
    "logistic_regression": {"C": 1.0, "max_iter": 1000},
}
# Set by the suite, not tunable: determinism (one thread, no early-stopping split)
# and the objective.
FIXED_HYPERPARAMETERS: dict[str, dict[str, Any]] = {
    "xgboost": {"tree_method": "hist", "n_jobs": 1, "eval_metric": "logloss"},
    "hist_gradient_boosting": {"early_stopping": False},
    "logistic_regression": {},
}
# Candidates for the optional randomized search (sampled without replacement).
SEARCH_SPACES: dict[str, dict[str, list[Any]]] = {
    "xgboost": {
        "n_estimators": [100, 200, 400],
        "max_depth": [2, 3, 4, 6],
        "learning_rate": [0.03, 0.05, 0.1, 0.2],
        "min_child_weight": [1.0, 3.0, 10.0],
        "subsample": [0.7, 0.85, 1.0],
    },
    "hist_gradient_boosting": {
        "max_iter": [100, 200, 400],
        "learning_rate": [0.03, 0.05, 0.1, 0.2],
        "max_leaf_nodes": [7, 15, 31, 63],
        "min_samples_leaf": [10, 20, 50],
        "l2_regularization": [0.0, 0.1, 1.0],
    },
    "logistic_regression": {"C": [0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0]},
}
_SEED_KEYS = frozenset({"random_state", "seed"})
# Types a logged model may reference; anything else in the skops file is refused.
_TRUSTED_TYPE_PREFIXES = (f"{estimator_module.__name__}.", "sklearn.", "xgboost.", "numpy.")
# Distributions the served model needs (pinned to this environment's versions).
_MODEL_REQUIREMENTS = ("mlflow", "scikit-learn", "skops", "pandas", "numpy")


@dataclass(frozen=True)
class TrainConfig:
    """What to train and how.

    Attributes:
        model_type: One of `MODEL_TYPES`.
        hyperparameters: Overrides of `DEFAULT_HYPERPARAMETERS` for the model type
            (estimator parameter names, e.g. ``{"max_depth": 3}``).
        search_trials: Randomized-search candidates to try (0 = no search).
        search_cv_splits: Folds of the time-series cross-validation in the search.
        holdout_fraction: Share of rows, latest event timestamps first, held out.
        seed: Seed for every random choice.
        label_column: Binary label (0/1).
        timestamp_column: Event timestamp the split orders by.
        entity_column: Entity key (kept in the holdout, not a feature).
        categorical_features: Categorical feature columns. With `numeric_features`
            None these are only overrides: the split is derived from the frame's
            types (see `components._suite.feature_roles`), and these numeric-typed
            columns are treated as categorical too.
        numeric_features: Numeric feature columns; None = derive both lists from the
            training frame, whose feature columns are exactly the feature service's.
        drift_reference_rows: Holdout rows (at most) kept as the drift reference logged
            with the model, so a champion always carries what "no drift" looks like for
            it (`check_drift`); 0 logs none.
    """

    model_type: str = DEFAULT_MODEL_TYPE
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    search_trials: int = 0
    search_cv_splits: int = 3
    holdout_fraction: float = 0.2
    seed: int = 42
    label_column: str = "label"
    timestamp_column: str = "event_timestamp"
    entity_column: str = "entity_id"
    categorical_features: tuple[str, ...] = ()
    numeric_features: tuple[str, ...] | None = None
    drift_reference_rows: int = 5000

    def with_features_of(self, frame: pd.DataFrame) -> TrainConfig:
        """Returns this config with both feature lists resolved against a training frame.

        Args:
            frame: The training frame (entity key, timestamp, label, features).

        Raises:
            ValueError: The entity, timestamp or label column is missing (the frame's
                other columns would be taken for features), an override is not a
                feature column, or a feature column is a timestamp.
        """
        if self.numeric_features is not None:
            return self
        roles = {
            "entity_column": self.entity_column,
            "timestamp_column": self.timestamp_column,
            "label_column": self.label_column,
        }
        missing = {k: v for k, v in roles.items() if v not in frame.columns}
        if missing:
            raise ValueError(
                f"{missing} not in the training frame (columns {list(frame.columns)}): the "
                "feature columns are the frame's other columns, so every role must be named"
            )
        roles = feature_roles(
            frame.dtypes.to_dict(),
            non_features=(self.entity_column, self.timestamp_column, self.label_column),
            categorical_overrides=self.categorical_features,
        )
        return dataclasses.replace(
            self, categorical_features=roles.categorical, numeric_features=roles.numeric
        )

    @property
    def feature_columns(self) -> list[str]:
        """Categorical then numeric feature columns, the served model's input order."""
        return [*self.categorical_features, *(self.numeric_features or ())]


@dataclass(frozen=True)
class Lineage:
    """Where a training run came from; written as MLflow tags and artifact metadata.

    Attributes:
        suite_version: Suite version; empty means the checkout's / image's version.
        pipeline_run_id: KFP run id of the pipeline that trains.
        feature_service: Feast feature service the training frame was built from.
        data_source: URI or path of the training frame.
    """

    suite_version: str = ""
    pipeline_run_id: str = ""
    feature_service: str = ""
    data_source: str = ""


@dataclass(frozen=True)
class TimeSplit:
    """A time-ordered train / holdout split.

    Attributes:
        train: Rows before `cutoff`, sorted by time.
        holdout: Rows at or after `cutoff`, sorted by time.
        cutoff: First event timestamp of the holdout.
    """

    train: pd.DataFrame
    holdout: pd.DataFrame
    cutoff: pd.Timestamp


@dataclass(frozen=True)
class FittedModel:
    """A fitted model and how it was chosen.

    Attributes:
        model: The served model (pipeline wrapped to answer P(positive class)).
        hyperparameters: Final estimator parameters (defaults, overrides, search).
        search_best_score: Mean time-series-CV ROC AUC of the chosen candidate,
            or None without a search.
        search_trials_run: Candidates evaluated by the search (0 without one).
    """

    model: PositiveClassModel
    hyperparameters: dict[str, Any]
    search_best_score: float | None = None
    search_trials_run: int = 0


@dataclass(frozen=True)
class TrainResult:
    """What a training run produced.

    Attributes:
        run_id: MLflow run id.
        model_uri: MLflow URI of the logged model (``models:/m-...``).
        model_id: MLflow logged-model id.
        model_type: The model type trained.
        hyperparameters: Final estimator parameters.
        run_metrics: Metrics logged to the run (training-set and search metrics).
        data_fingerprint: Content hash of the whole training frame.
        feature_service: Feast feature service of the training frame.
        suite_version: Suite version stamped on the run.
        train_rows: Rows the model was fit on.
        holdout_rows: Rows held out.
        holdout_start: First holdout event timestamp (ISO 8601).
        label_column: Label column.
        feature_columns: Input columns of the served model.
        holdout: The holdout rows (all columns), time-sorted.
        tracking_uri: Tracking URI of the run (where later steps find it).

    Implements `components._contract.ComponentResult`.
    """

    run_id: str
    model_uri: str
    model_id: str
    model_type: str
    hyperparameters: dict[str, Any]
    run_metrics: dict[str, float]
    data_fingerprint: str
    feature_service: str
    suite_version: str
    train_rows: int
    holdout_rows: int
    holdout_start: str
    label_column: str
    feature_columns: list[str]
    holdout: pd.DataFrame = field(repr=False)

    tracking_uri: str = ""

    def metadata(self) -> dict[str, Any]:
        """Returns the JSON-safe lineage for a KFP ``Model`` artifact (everything but the frame)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields.pop("holdout")
        fields["metrics"] = fields.pop("run_metrics")
        return fields

    def metrics(self) -> dict[str, float]:
        """Returns the metrics logged to the run (training-set and search metrics)."""
        return dict(self.run_metrics)

    def report(self) -> dict[str, Any]:
        """Returns the run's lineage and metrics (the Model artifact's metadata)."""
        return self.metadata()

    def holdout_set(self) -> HoldoutSet:
        """Returns the holdout as a result of its own (its Dataset has its own lineage)."""
        return HoldoutSet(self)


@dataclass(frozen=True)
class HoldoutSet:
    """The holdout ``Dataset`` of a training run (implements the component-result protocol).

    Attributes:
        run: The training run that produced it.
    """

    run: TrainResult

    def metadata(self) -> dict[str, Any]:
        """Returns the lineage of the holdout ``Dataset`` artifact."""
        result = self.run
        label = result.holdout[result.label_column]
        return {
            "rows": result.holdout_rows,
            "holdout_start": result.holdout_start,
            "positive_rate": float(label.mean()),
            "data_fingerprint": frame_fingerprint(result.holdout),
            "training_data_fingerprint": result.data_fingerprint,
            "label_column": result.label_column,
            "feature_columns": result.feature_columns,
            "mlflow_run_id": result.run_id,
        }

    def metrics(self) -> dict[str, float]:
        """Returns ``rows`` and ``positive_rate`` of the holdout."""
        meta = self.metadata()
        return {"rows": float(meta["rows"]), "positive_rate": meta["positive_rate"]}

    def report(self) -> dict[str, Any]:
        """Returns the holdout's lineage."""
        return self.metadata()


def resolve_hyperparameters(model_type: str, overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Returns the defaults for `model_type` updated with validated `overrides`.

    KFP hands dict parameters over as JSON, where 4 arrives as 4.0; integral
    floats are therefore turned back into ints (estimators accept ints for
    real-valued parameters, but not the reverse).

    Args:
        model_type: One of `MODEL_TYPES`.
        overrides: Estimator parameter names and values.

    Raises:
        ValueError: For an unknown model type, unknown parameter names (the
            message lists them and the accepted ones) or a seed given as a
            hyperparameter.
    """
    if model_type not in MODEL_TYPES:
        raise ValueError(
            f"model_type {model_type!r} is not supported; expected one of {MODEL_TYPES}"
        )
    overrides = dict(overrides or {})
    seeded = sorted(_SEED_KEYS & overrides.keys())
    if seeded:
        raise ValueError(f"hyperparameters {seeded} are not allowed: the seed comes from `seed`")
    fixed = sorted(FIXED_HYPERPARAMETERS[model_type].keys() & overrides.keys())
    if fixed:
        raise ValueError(f"hyperparameters {fixed} are fixed by the suite for {model_type}")
    accepted = set(_make_estimator(model_type, {}, seed=0).get_params(deep=False)) - _SEED_KEYS
    unknown = sorted(overrides.keys() - accepted)
    if unknown:
        raise ValueError(
            f"unknown hyperparameters {unknown} for model_type {model_type!r}; "
            f"accepted: {sorted(accepted - FIXED_HYPERPARAMETERS[model_type].keys())}"
        )
    coerced = {
        key: int(value) if isinstance(value, float) and value.is_integer() else value
        for key, value in overrides.items()
    }
    return {**DEFAULT_HYPERPARAMETERS[model_type], **coerced}


def validate_training_frame(frame: pd.DataFrame, config: TrainConfig) -> None:
    """Checks the frame can be trained on; raises naming what is wrong.

    Args:
        frame: The training frame.
        config: Column names and feature lists.

    Raises:
        ValueError: Missing label / timestamp / feature columns, a label that is
            not binary 0/1 (or has nulls, or only one class), a timestamp column
            that is not datetime, numeric features that are not numeric, or a
            column listed as both categorical and numeric.
    """
    available = list(frame.columns)
    for role, column in (
        ("entity", config.entity_column),
        ("label", config.label_column),
        ("timestamp", config.timestamp_column),
    ):
        if column not in frame.columns:
            raise ValueError(f"{role} column {column!r} is missing; columns present: {available}")
    config = config.with_features_of(frame)
    both = sorted(set(config.categorical_features) & set(config.numeric_features))
    if both:
        raise ValueError(f"columns {both} are listed as both categorical and numeric features")
    if not config.feature_columns:
        raise ValueError("no feature columns configured")
    missing = [c for c in config.feature_columns if c not in frame.columns]
    if missing:
        raise ValueError(f"feature columns {missing} are missing; columns present: {available}")
    label = frame[config.label_column]
    if label.isna().any():
        raise ValueError(
            f"label column {config.label_column!r} has {int(label.isna().sum())} null values"
        )
    values = set(pd.unique(label).tolist())
    if not values <= {0, 1}:
        shown = sorted(map(repr, values))[:10]
        raise ValueError(
            f"label column {config.label_column!r} must be binary 0/1; found values {shown}"
        )
    if len(values) < 2:
        raise ValueError(
            f"label column {config.label_column!r} has a single class {sorted(values)}; "
            "a classifier needs both 0 and 1"
        )
    if not pd.api.types.is_datetime64_any_dtype(frame[config.timestamp_column]):
        raise ValueError(
            f"timestamp column {config.timestamp_column!r} must be datetime64, "
            f"got {frame[config.timestamp_column].dtype}"
        )
    not_numeric = [
        c for c in config.numeric_features if not pd.api.types.is_numeric_dtype(frame[c])
    ]
    if not_numeric:
        dtypes = {c: str(frame[c].dtype) for c in not_numeric}
        raise ValueError(f"numeric feature columns are not numeric: {dtypes}")


def time_split(frame: pd.DataFrame, config: TrainConfig) -> TimeSplit:
    """Splits by event time: the latest `holdout_fraction` of rows is the holdout.

    All rows sharing the cutoff timestamp go to the holdout, so no timestamp is
    on both sides and every training row is strictly earlier than every holdout
    row.

    Args:
        frame: A validated training frame.
        config: Holdout fraction and column names.

    Raises:
        ValueError: If the fraction is not in (0, 1), a side has too few rows
            (`MIN_TRAIN_ROWS`, `MIN_HOLDOUT_ROWS`) or a side lacks a class.
    """
    fraction = config.holdout_fraction
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {fraction}")
    order = [config.timestamp_column]
    if config.entity_column in frame.columns:
        order.append(config.entity_column)
    ordered = frame.sort_values(order, kind="mergesort").reset_index(drop=True)
    timestamps = ordered[config.timestamp_column]
    cutoff = timestamps.iloc[min(len(ordered) - 1, math.floor(len(ordered) * (1.0 - fraction)))]
    train = ordered[timestamps < cutoff].reset_index(drop=True)
    holdout = ordered[timestamps >= cutoff].reset_index(drop=True)
    if len(train) < MIN_TRAIN_ROWS or len(holdout) < MIN_HOLDOUT_ROWS:
        raise ValueError(
            f"too few rows for the time split: {len(frame)} rows gave {len(train)} training "
            f"and {len(holdout)} holdout rows (holdout_fraction={fraction}, cutoff {cutoff}); "
            f"need at least {MIN_TRAIN_ROWS} and {MIN_HOLDOUT_ROWS}"
        )
    for name, part in (("training", train), ("holdout", holdout)):
        classes = sorted(part[config.label_column].unique().tolist())
        if len(classes) < 2:
            raise ValueError(
                f"the {name} side of the time split (cutoff {cutoff}) has only label "
                f"values {classes}; both 0 and 1 are needed"
            )
    return TimeSplit(train=train, holdout=holdout, cutoff=cutoff)


def split_training_frame(frame: pd.DataFrame, config: TrainConfig) -> TimeSplit:
    """Validates the frame (`validate_training_frame`) and splits it by time (`time_split`).

    Args:
        frame: The training frame.
        config: Column names, feature lists and holdout fraction.

    Raises:
        ValueError: As the two steps do.
    """
    validate_training_frame(frame, config)
    return time_split(frame, config)


def _make_estimator(model_type: str, hyperparameters: Mapping[str, Any], seed: int) -> Any:
    """Returns an unfitted classifier of `model_type` with the given parameters."""
    params = {**FIXED_HYPERPARAMETERS[model_type], **hyperparameters, "random_state": seed}
    if model_type == "xgboost":
        from xgboost import XGBClassifier

        return XGBClassifier(**params)
    if model_type == "hist_gradient_boosting":
        from sklearn.ensemble import HistGradientBoostingClassifier

        return HistGradientBoostingClassifier(**params)
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(**params)


def build_pipeline(config: TrainConfig, hyperparameters: Mapping[str, Any]) -> Any:
    """Returns the unfitted preprocessing + classifier ``Pipeline`` for the raw feature frame.

    Categorical columns: every missing value becomes one category, then one-hot
    encoding that maps unseen categories to all zeros. Numeric columns: trees
    (XGBoost, HistGradientBoosting) take NaN natively; logistic regression gets
    median imputation with missing indicators and standard scaling. Columns
    not in the config (entity, timestamp, label, anything else) are dropped.

    Args:
        config: Model type, feature columns and seed.
        hyperparameters: Estimator parameters (see `resolve_hyperparameters`).
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    categorical = Pipeline(
        [
            (
                "normalize",
                FunctionTransformer(normalize_categories, feature_names_out="one-to-one"),
            ),
            ("one_hot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
        ]
    )
    if config.model_type == "logistic_regression":
        numeric: Any = Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", add_indicator=True)),
                ("scale", StandardScaler()),
            ]
        )
    else:
        numeric = "passthrough"
    transformers = []
    if config.categorical_features:
        transformers.append(("categorical", categorical, list(config.categorical_features)))
    if config.numeric_features:
        transformers.append(("numeric", numeric, list(config.numeric_features)))
    return Pipeline(
        [
            ("preprocess", ColumnTransformer(transformers, remainder="drop")),
            ("model", _make_estimator(config.model_type, hyperparameters, config.seed)),
        ]
    )


def compile_fast_path(pipeline: Any, sample: pd.DataFrame) -> FastPreprocessor | None:
    """Returns the fitted pipeline's preprocessing as a `FastPreprocessor`, checked on `sample`.

    Reads the fitted constants of the ``ColumnTransformer`` `build_pipeline` makes:
    the one-hot categories, the numeric column order and, for logistic
    regression, the imputer medians, indicator columns and scaler constants.
    The result must give bit-identical encodings to the pipeline's own
    ``transform`` on `sample` (its first rows, plus the same rows with every
    value missing and every category unseen); otherwise, or for a pipeline of
    another shape, the model keeps no fast path and always uses the pipeline.

    Args:
        pipeline: A fitted pipeline from `build_pipeline`.
        sample: Raw training rows (feature columns) to check the compiled path on.
    """
    preprocess = pipeline.named_steps["preprocess"]
    width = len(preprocess.get_feature_names_out())
    fields: dict[str, Any] = {
        "width": width,
        "categorical_columns": [],
        "category_positions": [],
        "numeric_columns": [],
        "numeric_start": width,
    }
    for name, transformer, columns in preprocess.transformers_:
        if name == "remainder":
            continue
        start = preprocess.output_indices_[name].start
        if name == "categorical":
            one_hot = transformer.named_steps["one_hot"]
            grouped = one_hot.min_frequency is not None or one_hot.max_categories is not None
            if one_hot.drop_idx_ is not None or grouped:
                return None
            for categories in one_hot.categories_:
                fields["category_positions"].append(
                    {str(c): start + i for i, c in enumerate(categories)}
                )
                start += len(categories)
            fields["categorical_columns"] = list(columns)
        elif name == "numeric":
            fields["numeric_columns"] = list(columns)
            fields["numeric_start"] = start
            if hasattr(transformer, "named_steps"):
                impute, scale = transformer.named_steps["impute"], transformer.named_steps["scale"]
                if not (scale.with_mean and scale.with_std) or impute.keep_empty_features:
                    return None
                statistics = np.asarray(impute.statistics_, dtype="float64")
                indicator = impute.indicator_
                fields.update(
                    impute_values=statistics,
                    kept_columns=np.flatnonzero(~np.isnan(statistics)),
                    indicator_columns=np.asarray(
                        indicator.features_ if indicator is not None else [], dtype="int64"
                    ),
                    scale_mean=np.asarray(scale.mean_, dtype="float64"),
                    scale_scale=np.asarray(scale.scale_, dtype="float64"),
                )
        else:
            return None
    fast_path = FastPreprocessor(**fields)
    rows = sample.head(64)
    unseen = rows.copy()
    for column in fast_path.categorical_columns:
        unseen[column] = "__unseen_category__"
    blank = rows.copy()
    for column in fast_path.categorical_columns:
        blank[column] = pd.Series([None, np.nan, pd.NA, MISSING_CATEGORY] * len(rows))[
            : len(rows)
        ].to_numpy(dtype=object)
    for column in fast_path.numeric_columns:
        if pd.api.types.is_float_dtype(blank[column].dtype):
            blank[column] = np.nan
    for check in (rows, unseen, blank):
        encoded = fast_path.transform(check)
        expected = np.asarray(preprocess.transform(check), dtype="float64")
        if encoded is None or not np.array_equal(encoded, expected, equal_nan=True):
            return None
    return fast_path


def fit_model(train: pd.DataFrame, config: TrainConfig) -> FittedModel:
    """Fits the pipeline on time-sorted training rows, with the optional randomized search.

    The search (``search_trials`` > 0) samples that many candidates without
    replacement from `SEARCH_SPACES` (keys the user fixed in
    ``hyperparameters`` are not searched), scores them by ROC AUC over a
    ``TimeSeriesSplit`` (each fold validates on later rows than it trains on),
    and refits the best on all training rows.

    Args:
        train: Training rows sorted by event time (as `time_split` returns them).
        config: Model type, hyperparameters, search settings and seed.

    Raises:
        ValueError: Invalid hyperparameters or search settings.
    """
    config = config.with_features_of(train)
    hyperparameters = resolve_hyperparameters(config.model_type, config.hyperparameters)
    pipeline = build_pipeline(config, hyperparameters)
    features = train[config.feature_columns]
    label = train[config.label_column].astype("int64")
    if config.search_trials < 0 or config.search_trials > MAX_SEARCH_TRIALS:
        raise ValueError(
            f"search_trials must be between 0 and {MAX_SEARCH_TRIALS}, got {config.search_trials}"
        )
    space = {
        key: values
        for key, values in SEARCH_SPACES[config.model_type].items()
        if key not in config.hyperparameters
    }
    if config.search_trials > 0 and config.search_cv_splits < 2:
        raise ValueError(f"search_cv_splits must be at least 2, got {config.search_cv_splits}")

    from threadpoolctl import threadpool_limits

    # One BLAS / OpenMP thread: on the suite's frame sizes the thread pools only
    # add overhead (measured here: LogisticRegression 16x, HistGradientBoosting
    # ~10x slower with 2 threads, worst once XGBoost's own OpenMP runtime is
    # loaded in the same process), and single-threaded sums are reproducible.
    with threadpool_limits(limits=1):
        if config.search_trials == 0 or not space:
            pipeline.fit(features, label)
            model = PositiveClassModel(pipeline, compile_fast_path(pipeline, features))
            return FittedModel(model, hyperparameters)
        return _search(pipeline, space, features, label, hyperparameters, config)


def _search(
    pipeline: Any,
    space: Mapping[str, list[Any]],
    features: pd.DataFrame,
    label: pd.Series,
    hyperparameters: Mapping[str, Any],
    config: TrainConfig,
) -> FittedModel:
    """Runs the bounded randomized search over `space` and refits the best candidate."""
    from sklearn.model_selection import RandomizedSearchCV, TimeSeriesSplit

    trials = min(config.search_trials, math.prod(len(v) for v in space.values()))
    search = RandomizedSearchCV(
        pipeline,
        {f"model__{key}": values for key, values in space.items()},
        n_iter=trials,
        scoring="roc_auc",
        cv=TimeSeriesSplit(n_splits=config.search_cv_splits),
        refit=True,
        random_state=config.seed,
        n_jobs=1,
        error_score="raise",
    )
    search.fit(features, label)
    chosen = {key.removeprefix("model__"): value for key, value in search.best_params_.items()}
    best = search.best_estimator_
    return FittedModel(
        PositiveClassModel(best, compile_fast_path(best, features)),
        {**hyperparameters, **chosen},
        search_best_score=float(search.best_score_),
        search_trials_run=trials,
    )


def training_metrics(
    model: PositiveClassModel, train: pd.DataFrame, config: TrainConfig
) -> dict[str, float]:
    """Returns the in-sample metrics logged with a training run (holdout ones come from evaluate).

    Args:
        model: The fitted model.
        train: Its training rows.
        config: Label and feature columns.
    """
    from sklearn.metrics import log_loss, roc_auc_score

    label = train[config.label_column].astype("int64")
    probability = model.predict(train[config.feature_columns])
    return {
        "train_roc_auc": float(roc_auc_score(label, probability)),
        "train_log_loss": float(log_loss(label, probability, labels=[0, 1])),
        "train_positive_rate": float(label.mean()),
    }


def model_signature(config: TrainConfig, dtypes: Mapping[str, Any] | None = None) -> Any:
    """Returns the served model's MLflow signature: raw features in, ``<label>_probability`` out.

    Each feature keeps the type the training frame gave it (the feature service's
    Feast type): integers are ``long``, other numbers ``double``, booleans
    ``boolean``, everything else ``string``. MLflow's schema enforcement refuses an
    unsafe cast (int64 data for a double column), so a type the data does not have
    would make the model refuse its own holdout. Without `dtypes`, categorical
    features are strings and numeric ones doubles. Every column must be present but
    may hold missing values (None / NaN). The output is one float64 per row.

    Args:
        config: Feature columns.
        dtypes: The training frame's column dtypes.
    """
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, DataType, Schema, TensorSpec

    def column_type(column: str, fallback: Any) -> Any:
        dtype = (dtypes or {}).get(column)
        if dtype is None:
            return fallback
        if pd.api.types.is_bool_dtype(dtype):
            return DataType.boolean
        if pd.api.types.is_integer_dtype(dtype):
            return DataType.long
        if pd.api.types.is_float_dtype(dtype):
            return DataType.double
        return DataType.string

    inputs = Schema(
        [ColSpec(column_type(c, DataType.string), c) for c in config.categorical_features]
        + [ColSpec(column_type(c, DataType.double), c) for c in config.numeric_features or ()]
    )
    # The served output is named after the label, so V2 clients and the prediction log
    # read `<label>_probability` instead of MLServer's `output-0`.
    output = TensorSpec(np.dtype("float64"), (-1,), name=f"{config.label_column}_probability")
    return ModelSignature(inputs=inputs, outputs=Schema([output]))


def _trusted_types(model: PositiveClassModel) -> list[str]:
    """Returns the non-default types skops must trust to load `model`; refuses unknown ones."""
    import skops.io

    untrusted = skops.io.get_untrusted_types(data=skops.io.dumps(model))
    unexpected = [t for t in untrusted if not t.startswith(_TRUSTED_TYPE_PREFIXES)]
    if unexpected:
        raise ValueError(f"the model references types the suite does not trust: {unexpected}")
    return sorted(untrusted)


def _pip_requirements(model_type: str) -> list[str]:
    """Returns pinned requirements of the served model (this environment's versions)."""
    names = [*_MODEL_REQUIREMENTS, *(["xgboost"] if model_type == "xgboost" else [])]
    return [f"{name}=={importlib_metadata.version(name)}" for name in names]


def _write_code_package(root: Path) -> Path:
    """Writes a minimal ``components.train_model.estimator`` package under `root`.

    Shipped with the model as MLflow ``code_paths``, so a serving runtime without
    the suite installed can import the model's own classes. Returns the
    ``components`` directory.
    """
    package = root / "components"
    (package / "train_model").mkdir(parents=True)
    (package / "__init__.py").write_text('"""Served-model code shipped with a model."""\n')
    (package / "train_model" / "__init__.py").write_text('"""Served-model code."""\n')
    source = Path(estimator_module.__file__).read_text(encoding="utf-8")
    (package / "train_model" / "estimator.py").write_text(source, encoding="utf-8")
    return package


def _run_params(config: TrainConfig, hyperparameters: Mapping[str, Any], cutoff: str) -> dict:
    """Returns the MLflow params of a training run."""
    params: dict[str, Any] = {
        "model_type": config.model_type,
        "seed": config.seed,
        "holdout_fraction": config.holdout_fraction,
        "holdout_start": cutoff,
        "search_trials": config.search_trials,
        "search_cv_splits": config.search_cv_splits,
        "label_column": config.label_column,
        "timestamp_column": config.timestamp_column,
        "categorical_features": ",".join(config.categorical_features),
        "numeric_features": ",".join(config.numeric_features),
    }
    params.update({f"hp.{key}": value for key, value in sorted(hyperparameters.items())})
    return params


@dataclass(frozen=True)
class TrainJob:
    """What `run` trains, on what, and where it goes.

    Attributes:
        frame: The training frame (CONVENTIONS schema).
        train: What to train (model type, roles, split, search).
        lineage: Where the data and run come from.
        experiment_name: MLflow experiment, created if missing.
        tracking_uri: MLflow tracking URI ("" = the suite default); used when `run`
            gets no client.
        model_dir: Where to export the logged MLflow model directory (a KFP ``Model``
            artifact); "" = no export.
        recorded_feature_service: The feature service `get_features` recorded on the
            training data; the lineage's when that is empty.
    """

    frame: pd.DataFrame
    train: TrainConfig = field(default_factory=TrainConfig)
    lineage: Lineage = field(default_factory=Lineage)
    experiment_name: str = mlf.DEFAULT_EXPERIMENT
    tracking_uri: str = ""
    model_dir: str = ""
    recorded_feature_service: str = ""


def run(job: TrainJob, *, client: MlflowClient | None = None) -> TrainResult:
    """The component's work: train, log to MLflow, export the model directory if asked.

    Args:
        job: Frame, training config, lineage and destinations.
        client: MLflow client; None = one for ``job.tracking_uri``.

    Raises:
        ValueError: Bad data, a split with too few rows, or invalid parameters.
    """
    client = client or mlf.mlflow_client(job.tracking_uri)
    lineage = job.lineage
    if not lineage.feature_service:
        lineage = dataclasses.replace(lineage, feature_service=job.recorded_feature_service)
    result = train(job.frame, client, job.train, lineage, job.experiment_name)
    if job.model_dir:
        export_model(result.model_uri, job.model_dir)
    return result


def train(
    frame: pd.DataFrame,
    client: MlflowClient,
    config: TrainConfig | None = None,
    lineage: Lineage | None = None,
    experiment_name: str = mlf.DEFAULT_EXPERIMENT,
) -> TrainResult:
    """Validates, splits by time, fits, and logs the run and model to MLflow.

    The MLflow run gets params, training metrics, the training and holdout data
    as run inputs (with the data fingerprint and source), the lineage tags, and
    the model (signature, input example, pinned requirements, its own code).

    Args:
        frame: The training frame (CONVENTIONS schema).
        client: MLflow client; fluent logging goes to the same tracking URI.
        config: What to train; defaults to `TrainConfig()`.
        lineage: Where the data and run come from; defaults to `Lineage()`.
        experiment_name: MLflow experiment, created if missing.

    Raises:
        ValueError: Bad data, a split with too few rows, or invalid parameters.
    """
    import mlflow
    import mlflow.data
    import mlflow.sklearn

    from components._version import git_short_sha, suite_version

    config = config or TrainConfig()
    split = split_training_frame(frame, config)  # validates (roles first), then splits
    config = config.with_features_of(frame)
    lineage = lineage or Lineage()
    fitted = fit_model(split.train, config)
    metrics = training_metrics(fitted.model, split.train, config)
    if fitted.search_best_score is not None:
        metrics["search_cv_roc_auc"] = fitted.search_best_score
    fingerprint = frame_fingerprint(frame)
    version = lineage.suite_version or suite_version()
    cutoff = split.cutoff.isoformat()
    tags = {
        mlf.TAG_SUITE_VERSION: version,
        mlf.TAG_GIT_SHA: git_short_sha() or "unknown",
        mlf.TAG_PIPELINE_RUN_ID: lineage.pipeline_run_id,
        mlf.TAG_FEATURE_SERVICE: lineage.feature_service,
        mlf.TAG_DATA_FINGERPRINT: fingerprint,
        mlf.TAG_DATA_SOURCE: lineage.data_source,
        mlf.TAG_MODEL_TYPE: config.model_type,
    }

    mlflow.set_tracking_uri(client.tracking_uri)
    experiment_id = mlf.ensure_experiment(client, experiment_name)
    run_name = f"{config.model_type}-{mlf.dataset_digest(fingerprint)[:8]}"
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags) as run:
        mlflow.log_params(_run_params(config, fitted.hyperparameters, cutoff))
        mlflow.log_metrics(
            {**metrics, "train_rows": len(split.train), "holdout_rows": len(split.holdout)}
        )
        with warnings.catch_warnings():
            # A local path is both a "local" and an "artifact" source to MLflow (either is
            # fine), and the logged frames' integer entity/label columns are not model inputs.
            warnings.filterwarnings("ignore", message="The specified dataset source")
            warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer")
            for context, part in (("training", split.train), ("holdout", split.holdout)):
                part_fingerprint = frame_fingerprint(part)
                dataset = mlflow.data.from_pandas(
                    part,
                    source=lineage.data_source or "unknown",
                    targets=config.label_column,
                    name=f"{lineage.feature_service}-{context}",
                    digest=mlf.dataset_digest(part_fingerprint),
                )
                input_tags = {"fingerprint": part_fingerprint, "source_fingerprint": fingerprint}
                mlflow.log_input(dataset, context=context, tags=input_tags)
        with tempfile.TemporaryDirectory() as code_root:
            info = mlflow.sklearn.log_model(
                fitted.model,
                name=mlf.MODEL_ARTIFACT_NAME,
                signature=model_signature(config, frame.dtypes.to_dict()),
                input_example=split.train[config.feature_columns].head(5),
                pip_requirements=_pip_requirements(config.model_type),
                code_paths=[str(_write_code_package(Path(code_root)))],
                serialization_format="skops",
                skops_trusted_types=_trusted_types(fitted.model),
            )
        if config.drift_reference_rows > 0:
            _log_drift_reference(client, run.info.run_id, fitted.model, split.holdout, config)
    return TrainResult(
        run_id=run.info.run_id,
        model_uri=info.model_uri,
        model_id=info.model_id,
        model_type=config.model_type,
        hyperparameters=fitted.hyperparameters,
        run_metrics=metrics,
        data_fingerprint=fingerprint,
        feature_service=lineage.feature_service,
        suite_version=version,
        train_rows=len(split.train),
        holdout_rows=len(split.holdout),
        holdout_start=cutoff,
        label_column=config.label_column,
        feature_columns=config.feature_columns,
        holdout=split.holdout,
        tracking_uri=client.tracking_uri,
    )


def _log_drift_reference(
    client: MlflowClient, run_id: str, model: Any, holdout: pd.DataFrame, config: TrainConfig
) -> None:
    """Fits the drift detectors on the holdout and logs them with the model's run.

    The holdout, not the training rows: it is data the model has not seen, so its
    scores are what the model's scores on fresh, undrifted data look like (training
    scores are sharper and would read as prediction drift).
    """
    from components._drift_reference import build_reference, log_reference

    with tempfile.TemporaryDirectory() as scratch:
        reference_dir = build_reference(
            holdout,
            model.predict(holdout[config.feature_columns]),
            list(config.categorical_features),
            list(config.numeric_features),
            sample_size=config.drift_reference_rows,
            seed=config.seed,
            out_dir=Path(scratch) / "drift_reference",
            labels=holdout[config.label_column],
            entity_column=config.entity_column,
            timestamp_column=config.timestamp_column,
        )
        log_reference(run_id, reference_dir, client)


def export_model(model_uri: str, path: str) -> None:
    """Copies the logged MLflow model directory to `path` (e.g. a KFP ``Model`` artifact).

    The copy is a complete MLflow model (MLmodel, model.skops, code, requirements),
    loadable with ``mlflow.pyfunc.load_model(path)`` or by MLServer without the
    tracking server.

    Args:
        model_uri: MLflow model URI.
        path: Destination directory (created; must not hold files).
    """
    import mlflow.artifacts

    Path(path).mkdir(parents=True, exist_ok=True)
    mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=path)
