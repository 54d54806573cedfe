"""Shared MLflow helpers for `train_model`, `evaluate_model` and `register_model`.

One place for: where tracking goes by default (a sqlite file plus a local
artifact directory, so a laptop run needs no server), the tag and alias names the
components agree on, how the served
probability is read out of a loaded model. MLflow is imported inside functions
only: importing this module is cheap.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from mlflow import MlflowClient

DEFAULT_EXPERIMENT = "suite"
# Relative to the working directory of the process (the repo root for `make run`).
DEFAULT_TRACKING_DIR = "mlruns"
SQLITE_DB_NAME = "mlflow.db"
ARTIFACT_DIR_NAME = "artifacts"
MODEL_ARTIFACT_NAME = "model"

# Registry aliases (MLflow stages are deprecated; the suite uses aliases).
ALIAS_CHALLENGER = "challenger"
ALIAS_CHAMPION = "champion"
ALIAS_PREVIOUS = "previous"

# Tags set on training runs and on registered model versions.
TAG_SUITE_VERSION = "suite.version"
TAG_GIT_SHA = "suite.git_sha"
TAG_PIPELINE_RUN_ID = "suite.pipeline_run_id"
TAG_FEATURE_SERVICE = "suite.feature_service"
TAG_DATA_FINGERPRINT = "suite.data_fingerprint"
TAG_DATA_SOURCE = "suite.data_source"
TAG_HOLDOUT_FINGERPRINT = "suite.holdout_fingerprint"
TAG_MODEL_TYPE = "suite.model_type"
TAG_RUN_ID = "suite.mlflow_run_id"
TAG_GATE_BLESSED = "suite.gate.blessed"
TAG_ROLLED_BACK = "suite.rolled_back"
# Prefix of the holdout-metric tags on a model version and of the metrics
# `evaluate_model` logs to the challenger's run.
HOLDOUT_PREFIX = "holdout_"

# MLflow's dataset digest column holds at most 36 characters.
DIGEST_CHARS = 32


def resolve_tracking_uri(tracking_uri: str | None = None) -> str:
    """Returns the tracking URI to use.

    Precedence: the explicit argument, then ``MLFLOW_TRACKING_URI``, then a sqlite
    file ``mlruns/mlflow.db`` under the current working directory.

    Args:
        tracking_uri: An explicit URI; empty or None means "use the default".
    """
    if tracking_uri:
        return tracking_uri
    from_env = os.environ.get("MLFLOW_TRACKING_URI")
    if from_env:
        return from_env
    db = (Path.cwd() / DEFAULT_TRACKING_DIR / SQLITE_DB_NAME).resolve()
    return f"sqlite:///{db}"


def _sqlite_path(tracking_uri: str) -> Path | None:
    """Returns the database file of a ``sqlite:///`` URI, or None for other URIs."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return None
    return Path(tracking_uri[len(prefix) :])


def default_artifact_location(tracking_uri: str) -> str | None:
    """Returns the artifact root for new experiments under a tracking URI.

    For a sqlite backend the artifacts live in ``artifacts/`` next to the
    database file (so a test's ``tmp_path`` holds everything). For a tracking
    server (http, https, databricks) the server decides, so this returns None.

    Args:
        tracking_uri: A resolved tracking URI.
    """
    db = _sqlite_path(tracking_uri)
    if db is None:
        return None
    return str(db.parent / ARTIFACT_DIR_NAME)


def mlflow_client(tracking_uri: str | None = None) -> MlflowClient:
    """Returns a client for tracking and registry at one URI, and points fluent MLflow there.

    The model registry lives in the same backend as tracking. For a sqlite URI
    the database's directory is created first.

    Args:
        tracking_uri: Tracking URI; see `resolve_tracking_uri` for the default.
    """
    import mlflow

    uri = resolve_tracking_uri(tracking_uri)
    db = _sqlite_path(uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def ensure_experiment(client: MlflowClient, name: str = DEFAULT_EXPERIMENT) -> str:
    """Returns the id of experiment `name`, creating it with the default artifact root.

    Safe when several runs start at once: the loser of a create race reads the
    winner's experiment.

    Args:
        client: MLflow client.
        name: Experiment name.
    """
    from mlflow.exceptions import MlflowException

    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    try:
        return client.create_experiment(
            name, artifact_location=default_artifact_location(client.tracking_uri)
        )
    except MlflowException:
        # Another run created it between the lookup and the create (concurrent first
        # runs); anything else is re-raised.
        created = client.get_experiment_by_name(name)
        if created is None:
            raise
        return created.experiment_id


def dataset_digest(fingerprint: str) -> str:
    """Returns a `data_fingerprint` shortened to fit MLflow's dataset digest (36 chars).

    Args:
        fingerprint: A ``sha256:<hex>`` fingerprint.
    """
    return fingerprint.removeprefix("sha256:")[:DIGEST_CHARS]


def positive_probability(predictions: Any) -> np.ndarray:
    """Returns P(positive class) as a 1-D float64 array from a model's predictions.

    Suite models answer P(positive class) directly (one value per row). A plain sklearn
    classifier logged with ``pyfunc_predict_fn="predict_proba"`` answers two
    columns, [P(0), P(1)]; column 1 is taken. Anything else is an error.

    Args:
        predictions: What ``pyfunc_model.predict`` returned (array, Series or frame).

    Raises:
        ValueError: If the predictions are not one column or two columns.
    """
    import numpy as np

    values = np.asarray(predictions, dtype="float64")
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    elif values.ndim == 2 and values.shape[1] == 2:
        values = values[:, 1]
    if values.ndim != 1:
        raise ValueError(
            "expected the model to answer one P(positive class) per row (or [P(0), P(1)] columns), "
            f"got an array of shape {values.shape}"
        )
    return values


def models_uri(name: str, *, version: str | int | None = None, alias: str = "") -> str:
    """Returns the registry URI of a version (``models:/<name>/<version>``) or an alias.

    Args:
        name: Registered model name.
        version: Version number; exactly one of `version` and `alias` is given.
        alias: Alias, e.g. ``champion`` (``models:/<name>@<alias>``).

    Raises:
        ValueError: If `name` is empty, or not exactly one of version and alias is given.
    """
    if not name:
        raise ValueError("models_uri needs a registered model name")
    if (version is None) == (not alias):
        raise ValueError(f"give exactly one of version and alias for {name!r}")
    return f"models:/{name}@{alias}" if alias else f"models:/{name}/{version}"


def parse_models_uri(uri: str) -> tuple[str, str | None, str | None]:
    """Splits ``models:/`` URIs into (name or model id, version, alias).

    Accepts ``models:/<name>/<version>``, ``models:/<name>@<alias>`` and
    ``models:/<model_id>`` (an MLflow 3 logged model).

    Raises:
        ValueError: If the URI is not a ``models:/`` URI of those forms.
    """
    from urllib.parse import urlparse

    parsed = urlparse(uri)
    if parsed.scheme != "models":
        raise ValueError(f"not a models:/ URI: {uri!r}")
    path = (parsed.netloc + parsed.path).strip("/")
    if not path:
        raise ValueError(f"models:/ URI names no model: {uri!r}")
    if "@" in path:
        name, alias = path.split("@", 1)
        if not name or not alias or "/" in alias:
            raise ValueError(f"expected models:/<name>@<alias>, got {uri!r}")
        return name, None, alias
    parts = path.split("/")
    if len(parts) == 1:
        return parts[0], None, None
    if len(parts) == 2 and parts[1]:
        return parts[0], parts[1], None
    raise ValueError(f"expected models:/<name>/<version>, got {uri!r}")


def registered_name(model_uri: str) -> str:
    """Returns the registered model name of a ``models:/<name>/<version>`` or ``@alias`` URI.

    Args:
        model_uri: A registry model URI.

    Raises:
        ValueError: If the URI is not a ``models:/`` URI naming a registered model.
    """
    try:
        name, _, _ = parse_models_uri(model_uri)
    except ValueError as err:
        raise ValueError(
            f"{model_uri!r} names no registered model (expected models:/<name>/<version> "
            "or models:/<name>@<alias>)"
        ) from err
    return name


def alias_model_version(client: MlflowClient, name: str, alias: str) -> Any | None:
    """Returns the model version `alias` points at in registered model `name`, or None.

    None when the registered model does not exist or has no such alias; any other
    registry error is raised.

    Args:
        client: MLflow client.
        name: Registered model name.
        alias: Alias, e.g. ``champion``.
    """
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException as error:
        if error.error_code in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST"):
            return None
        raise


def alias_version(client: MlflowClient, name: str, alias: str) -> str | None:
    """Returns the version number `alias` points at in registered model `name`, or None.

    Args:
        client: MLflow client.
        name: Registered model name.
        alias: Alias, e.g. ``champion``.
    """
    version = alias_model_version(client, name, alias)
    return None if version is None else str(version.version)
