"""Resolve MLflow model URIs (``models:/``, ``runs:/``, paths) to artifact locations.

The registry is reached through the ``MlflowClient`` that is passed in, never
through MLflow's process-global tracking/registry URI, so tests can point a
client at a sqlite store in ``tmp_path``.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from components._mlflow import parse_models_uri

if TYPE_CHECKING:
    from mlflow import MlflowClient

MLMODEL_FILE = "MLmodel"


@dataclass(frozen=True)
class ModelRef:
    """A model URI and what it resolved to.

    Attributes:
        uri: The URI as given.
        artifact_uri: Where the model's files are (``s3://...``, a local path).
        name: Registered model name, if the URI named one.
        version: Registered model version, if the URI named one.
    """

    uri: str
    artifact_uri: str
    name: str | None = None
    version: str | None = None


def resolve_model(client: MlflowClient, uri: str) -> ModelRef:
    """Resolves a model URI to where its artifacts are.

    Args:
        client: MLflow client for the tracking server and registry.
        uri: ``models:/name/version``, ``models:/name@alias``,
            ``models:/<model_id>``, ``runs:/<run_id>/<path>``, or a path/URL
            that MLflow can download from.

    Returns:
        The resolved reference; ``name``/``version`` are set for registry URIs.

    Raises:
        mlflow.exceptions.MlflowException: If the registry has no such model,
            version or alias.
    """
    if urlparse(uri).scheme != "models":
        return ModelRef(uri=uri, artifact_uri=uri)
    name, version, alias = parse_models_uri(uri)
    if alias is not None:
        version = str(client.get_model_version_by_alias(name, alias).version)
    if version is None:
        logged = client.get_logged_model(name)
        return ModelRef(uri=uri, artifact_uri=logged.artifact_location)
    artifact_uri = client.get_model_version_download_uri(name, version)
    return ModelRef(uri=uri, artifact_uri=artifact_uri, name=name, version=str(version))


def download_model(client: MlflowClient, uri: str, dst_dir: Path) -> Path:
    """Copies a model's files to ``dst_dir`` (created; must not exist yet).

    The copy is made in a sibling temporary folder and renamed into place, so
    ``dst_dir`` either holds a whole model or does not exist.

    Args:
        client: MLflow client for the tracking server and registry.
        uri: Any URI :func:`resolve_model` accepts.
        dst_dir: Destination folder for the model (holds ``MLmodel`` after).

    Returns:
        ``dst_dir``.

    Raises:
        FileExistsError: If ``dst_dir`` exists.
        ValueError: If the downloaded folder is not an MLflow model.
    """
    import mlflow.artifacts

    if dst_dir.exists():
        raise FileExistsError(f"model destination already exists: {dst_dir}")
    ref = resolve_model(client, uri)
    dst_dir.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dst_dir.parent, prefix=".download-") as tmp:
        local = Path(
            mlflow.artifacts.download_artifacts(
                artifact_uri=ref.artifact_uri, dst_path=tmp, tracking_uri=client.tracking_uri
            )
        )
        if not (local / MLMODEL_FILE).is_file():
            raise ValueError(
                f"{uri!r} (artifacts at {ref.artifact_uri!r}) is not an MLflow model: "
                f"no {MLMODEL_FILE} file in {sorted(p.name for p in local.iterdir())}"
            )
        shutil.move(str(local), str(dst_dir))
    return dst_dir
