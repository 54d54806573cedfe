"""A feature repo's roles: the one parser of `suite.yaml`.

`suite.yaml` sits next to `feature_store.yaml` and tells the suite what the repo's
columns mean: the entity and its key, the label-time column, the label (and which
value of it is the positive class), the feature service to train on, the data
contract, the registered model name and the pipeline name prefix. Optional keys
override the categorical detection and name the slice features of the gate.

The feature columns themselves are not listed here: they are whatever the feature
service returns (Feast knows its features and their types), see `feature_roles`.

Everything reads `suite.yaml` through `load_suite_config`, so one set of rules
applies everywhere: a missing or unknown key is an error that names the key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SUITE_CONFIG_FILE = "suite.yaml"

REQUIRED_KEYS: dict[str, str] = {
    "entity": "Feast entity name",
    "entity_key": "its join key, a column of the labels file",
    "timestamp": "label-time column of the labels file (tz-aware UTC)",
    "label": "target column of the labels file",
    "feature_service": "feature service to train on",
    "contract": "data contract file, relative to the feature repo",
    "model_name": "registered model name in MLflow (also the served name)",
}
OPTIONAL_KEYS: dict[str, str] = {
    "pipeline_prefix": "pipeline name prefix (<prefix>-training, <prefix>-monitoring); "
    "default: model_name",
    "experiment_name": "MLflow experiment; default: model_name",
    "positive_label": "label value that means the positive class (e.g. 'bad'); "
    "default: the label is already 0/1",
    "categorical_features": "feature columns to treat as categorical although numeric",
    "slice_features": "categorical features the gate reports and checks per slice (every one)",
}


class SuiteConfigError(ValueError):
    """`suite.yaml` is missing, incomplete, or names something that does not exist."""


@dataclass(frozen=True)
class SuiteConfig:
    """What the suite needs to know about a feature repo (`suite.yaml`).

    Attributes:
        entity: Feast entity name.
        entity_key: Its join key, a column of the labels file.
        timestamp: Label-time column of the labels file.
        label: Target column of the labels file.
        feature_service: Feature service to train on.
        contract: Data contract file, relative to the feature repo (or absolute).
        model_name: Registered model name (also the served model's name).
        pipeline_prefix: Pipeline names are ``<prefix>-training`` / ``<prefix>-monitoring``.
        experiment_name: MLflow experiment of the training runs.
        positive_label: Label value of the positive class; None = the label is 0/1.
        categorical_features: Numeric-typed features to treat as categorical.
        slice_features: Categorical features reported per slice by the gate.
        repo_path: The feature repo this was read from.
    """

    entity: str
    entity_key: str
    timestamp: str
    label: str
    feature_service: str
    contract: str
    model_name: str
    pipeline_prefix: str = ""
    experiment_name: str = ""
    positive_label: str | int | None = None
    categorical_features: tuple[str, ...] = ()
    slice_features: tuple[str, ...] = ()
    repo_path: Path = field(default=Path("."), compare=False)

    def __post_init__(self) -> None:
        if not self.pipeline_prefix:
            object.__setattr__(self, "pipeline_prefix", self.model_name)
        if not self.experiment_name:
            object.__setattr__(self, "experiment_name", self.model_name)

    @property
    def entity_columns(self) -> list[str]:
        """The columns of a labels file, in training-frame order."""
        return [self.entity_key, self.timestamp, self.label]

    @property
    def contract_path(self) -> Path:
        """The data contract file."""
        path = Path(self.contract)
        return path if path.is_absolute() else Path(self.repo_path) / path

    def pipeline_name(self, kind: str) -> str:
        """Returns the name of a pipeline of this repo, e.g. ``<prefix>-training``."""
        return f"{self.pipeline_prefix}-{kind}"


def _names(value: Any, key: str, path: Path) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise SuiteConfigError(f"{path}: {key} must be a list of column names, got {value!r}")
    return tuple(str(v) for v in value)


def parse_suite_config(raw: Mapping[str, Any], path: Path, repo_path: Path) -> SuiteConfig:
    """Builds a `SuiteConfig` from the parsed YAML mapping.

    Args:
        raw: The mapping read from `suite.yaml`.
        path: The file (named in errors).
        repo_path: The feature repo directory.

    Raises:
        SuiteConfigError: A required key is missing or empty, or a key is unknown.
    """
    if not isinstance(raw, Mapping):
        raise SuiteConfigError(f"{path}: expected a YAML mapping, got {type(raw).__name__}")
    missing = [key for key in REQUIRED_KEYS if raw.get(key) in (None, "")]
    unknown = sorted(set(raw) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if missing or unknown:
        problems = []
        if missing:
            problems.append("missing " + "; ".join(f"{k!r} ({REQUIRED_KEYS[k]})" for k in missing))
        if unknown:
            problems.append(
                f"unknown {unknown} (known: {sorted({*REQUIRED_KEYS, *OPTIONAL_KEYS})})"
            )
        raise SuiteConfigError(f"{path}: " + "; ".join(problems))
    positive = raw.get("positive_label")
    return SuiteConfig(
        **{key: str(raw[key]) for key in REQUIRED_KEYS},
        pipeline_prefix=str(raw.get("pipeline_prefix") or ""),
        experiment_name=str(raw.get("experiment_name") or ""),
        positive_label=positive if isinstance(positive, int | str) else None,
        categorical_features=_names(raw.get("categorical_features"), "categorical_features", path),
        slice_features=_names(raw.get("slice_features"), "slice_features", path),
        repo_path=Path(repo_path),
    )


def load_suite_config(repo_path: str | Path) -> SuiteConfig:
    """Reads `suite.yaml` from a feature repo.

    Args:
        repo_path: The feature repo directory.

    Raises:
        FileNotFoundError: If the repo has no `suite.yaml`.
        SuiteConfigError: If a required key is missing or an unknown key is present.
    """
    repo_path = Path(repo_path)
    path = repo_path / SUITE_CONFIG_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"feature repo {repo_path} has no {SUITE_CONFIG_FILE} (required keys: "
            f"{', '.join(REQUIRED_KEYS)})"
        )
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return parse_suite_config(raw, path, repo_path)


@dataclass(frozen=True)
class FeatureRoles:
    """The feature columns of a training frame, split by how the model treats them.

    Attributes:
        categorical: Categorical features (strings, booleans, categories, overrides).
        numeric: Numeric features.
    """

    categorical: tuple[str, ...]
    numeric: tuple[str, ...]

    @property
    def all(self) -> tuple[str, ...]:
        """Every feature column, categorical first."""
        return (*self.categorical, *self.numeric)


def feature_roles(
    dtypes: Mapping[str, Any],
    non_features: Iterable[str],
    categorical_overrides: Iterable[str] = (),
) -> FeatureRoles:
    """Splits a frame's feature columns into categorical and numeric by their types.

    The frame is what `get_features` returned for a feature service, so its columns
    are exactly the service's features (typed by Feast: String and Bool features
    arrive as object/bool columns, numbers as numeric columns).

    Args:
        dtypes: Column name -> dtype (``frame.dtypes``), in frame order.
        non_features: Entity key, timestamp, label and any other non-feature column.
        categorical_overrides: Numeric-typed columns to treat as categorical.

    Raises:
        ValueError: An override names a column that is not a feature, or a feature
            column has a type that is neither categorical nor numeric.
    """
    import pandas as pd

    skip = set(non_features)
    features = [c for c in dtypes if c not in skip]
    overrides = tuple(categorical_overrides)
    unknown = [c for c in overrides if c not in features]
    if unknown:
        raise ValueError(
            f"categorical_features {unknown} are not feature columns of the frame "
            f"(features: {features})"
        )
    categorical, numeric, other = [], [], []
    for column in features:
        dtype = dtypes[column]
        if column in overrides or not (
            pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
        ):
            if pd.api.types.is_datetime64_any_dtype(dtype):
                other.append(f"{column} ({dtype})")
            else:
                categorical.append(column)
        else:
            numeric.append(column)
    if other:
        raise ValueError(
            f"feature columns {other} are timestamps: the suite's models take categorical "
            "and numeric features; derive a numeric feature (e.g. an age in days) in the "
            "feature view instead"
        )
    return FeatureRoles(tuple(categorical), tuple(numeric))


def binary_label(values: Any, suite: SuiteConfig) -> Any:
    """Returns the label column as int64 0/1, mapping `positive_label` to 1.

    Args:
        values: The label column (a pandas Series).
        suite: The repo's roles (label name and positive class).

    Raises:
        ValueError: The label has nulls, is not binary 0/1 (with no `positive_label`),
            or `positive_label` is not one of its two values.
    """
    import pandas as pd

    series = pd.Series(values)
    nulls = int(series.isna().sum())
    if nulls:
        raise ValueError(f"label column {suite.label!r} has {nulls} missing values")
    distinct = sorted(series.unique().tolist(), key=str)
    if suite.positive_label is not None:
        if suite.positive_label not in distinct or len(distinct) > 2:
            raise ValueError(
                f"label column {suite.label!r} has values {distinct[:10]}; positive_label "
                f"{suite.positive_label!r} must be one of exactly two values"
            )
        return (series == suite.positive_label).astype("int64")
    if not set(distinct) <= {0, 1}:
        raise ValueError(
            f"label column {suite.label!r} must be binary 0/1, got values {distinct[:10]}; "
            "name the positive class with `positive_label:` in suite.yaml (e.g. "
            "positive_label: bad)"
        )
    return series.astype("int64")
