"""Render the serving objects of one model version to files, for review or GitOps.

``python -m pipelines.render_serving --model-uri models:/<name>/3 --storage-uri s3://...
--out dist/serving`` writes what ``deploy_model`` would apply, rendered by its own
functions (:func:`components.deploy_model.core.kserve_objects` and
:func:`~components.deploy_model.core.seldon_objects`), one object per file:

- ``kserve/inferenceservice.yaml`` (full rollout) and ``kserve/inferenceservice-canary.yaml``
  (``canaryTrafficPercent``);
- ``seldon/model.yaml``, ``seldon/model-candidate.yaml`` and ``seldon/experiment.yaml``
  (the canary split).

``make manifests`` adds the namespace's runtime objects (ServingRuntime, Seldon Server)
from the kustomize overlays. Without ``--storage-uri`` the artifact location is read from
the MLflow registry at ``--tracking-uri`` (``MLFLOW_TRACKING_URI``). The suite has no
prediction-log sink object yet, so none is rendered.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import yaml

from components._version import suite_version
from components.deploy_model.core import (
    DeployRequest,
    ResolvedModel,
    kserve_objects,
    resolve_registered,
    seldon_objects,
)

_VERSIONED = re.compile(r"^models:/(?P<name>[\w.-]+)/(?P<version>\d+)$")
FILES = {
    ("kserve", "full"): "kserve/inferenceservice.yaml",
    ("kserve", "canary"): "kserve/inferenceservice-canary.yaml",
    ("seldon", "default"): "seldon/model.yaml",
    ("seldon", "candidate"): "seldon/model-candidate.yaml",
    ("seldon", "experiment"): "seldon/experiment.yaml",
}


def resolve(model_uri: str, storage_uri: str, tracking_uri: str) -> ResolvedModel:
    """Returns the model version to render.

    Args:
        model_uri: ``models:/<name>/<version>``, or ``models:/<name>@<alias>`` when a
            registry is given.
        storage_uri: Where the cluster fetches the artifacts; "" to ask the registry.
        tracking_uri: MLflow tracking URI, used only without ``storage_uri``.

    Raises:
        ValueError: If the version cannot be known without a registry.
    """
    if storage_uri:
        match = _VERSIONED.match(model_uri)
        if not match:
            raise ValueError(
                f"{model_uri!r}: with --storage-uri give models:/<name>/<version> "
                "(an alias needs the registry: drop --storage-uri, set --tracking-uri)"
            )
        return ResolvedModel(match["name"], match["version"], storage_uri)
    if not tracking_uri:
        raise ValueError("give --storage-uri, or --tracking-uri to read it from the registry")
    from mlflow import MlflowClient

    return resolve_registered(
        MlflowClient(tracking_uri),
        model_uri,
        artifacts_destination=os.environ.get("SUITE_MLFLOW_ARTIFACTS_DESTINATION", ""),
    )


def render(request: DeployRequest, model: ResolvedModel, out: Path) -> list[Path]:
    """Writes the InferenceService and Seldon objects of ``model`` under ``out``.

    Returns:
        The files written.
    """
    objects = {"kserve": kserve_objects(request, model), "seldon": seldon_objects(request, model)}
    written = []
    for (target, variant), relative in FILES.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(objects[target][variant], sort_keys=False), "utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> None:
    """Command line entry point (``python -m pipelines.render_serving``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-uri", required=True)
    parser.add_argument("--storage-uri", default="")
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI", ""))
    parser.add_argument("--out", type=Path, default=Path("dist/serving"))
    parser.add_argument("--served-name", default="", help="default: the registered model's name")
    parser.add_argument("--namespace", default="suite-serving")
    parser.add_argument("--canary-percent", type=int, default=10)
    args = parser.parse_args(argv)
    model = resolve(args.model_uri, args.storage_uri, args.tracking_uri)
    request = DeployRequest(
        model_uri=args.model_uri,
        target="kserve",
        served_name=args.served_name,
        namespace=args.namespace,
        canary_percent=args.canary_percent,
        suite_version=suite_version(),
    )
    for path in render(request, model, args.out):
        print(path)


if __name__ == "__main__":
    main()
