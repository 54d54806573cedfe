"""Seldon Core 2: render Model and Experiment objects and read their status.

Canary = a candidate ``Model`` (the new artifact) plus an ``Experiment`` that
splits traffic between the current default Model and the candidate. Shadow = the
challenger's ``Model`` plus an ``Experiment`` whose only candidate is the champion
(weight 100) and whose ``mirror`` sends a copy of a share of the requests to the
challenger: clients get the champion's answer, the challenger's is only logged
(`render_shadow_experiment`). Promote =
point the default Model at the new artifact, then delete the Experiment and
the candidate; roll back = delete the Experiment and the candidate.
``requirements: [mlflow]`` schedules the model on an MLServer server.

Proven here: rendered objects validate against the Seldon Core 2 CRD schemas;
status interpretation over realistic status dicts. Not proven without a
cluster: scheduling, the Experiment's actual traffic split, and that the
chosen Server runs the suite runtime (it does only if that Server uses the
suite serve image and the artifact folder carries a ``model-settings.json``
naming it, or the Server sets ``MLSERVER_MODEL_IMPLEMENTATION``).
"""

from __future__ import annotations

from typing import Any

from components.deploy_model.canary import Phase, State
from components.deploy_model.kube import check_object_name, condition, generation_observed

API_VERSION = "mlops.seldon.io/v1alpha1"
MODEL_KIND = "Model"
EXPERIMENT_KIND = "Experiment"
SUITE_SERVER = "kfp-mlops-suite-mlserver"  # the Server running the suite image (manifests/)
# Model states Seldon reports (in the condition's reason or message) that mean "will not serve".
_FAILED_STATES = ("ModelFailed", "ScheduleFailed", "ModelTerminateFailed", "LoadFailed")


def candidate_name(served_name: str, version: str) -> str:
    """Name of the candidate Model for a version, e.g. ``<served name>-v7``."""
    return check_object_name(f"{served_name}-v{version}")


def experiment_name(served_name: str) -> str:
    """Name of the canary Experiment, e.g. ``<served name>-canary``."""
    return check_object_name(f"{served_name}-canary")


def render_model(
    *,
    name: str,
    namespace: str,
    storage_uri: str,
    labels: dict[str, str],
    replicas: int = 1,
    memory: str | None = None,
    server: str | None = None,
) -> dict[str, Any]:
    """Returns a Seldon Core 2 Model.

    Args:
        name: Model name (the ``Seldon-Model`` header routes to it).
        namespace: Namespace of the Seldon runtime.
        storage_uri: The model's artifact folder (an rclone URI, e.g. ``s3://...``).
        labels: Object labels.
        replicas: Model replicas.
        memory: Memory the model needs (e.g. ``"500Mi"``), for scheduling.
        server: Pin to a Server (e.g. one running the suite image); None lets
            Seldon pick any server with the ``mlflow`` capability.

    Raises:
        ValueError: On an invalid name or a local storage path.
    """
    check_object_name(name)
    if "://" not in storage_uri:
        raise ValueError(
            f"storage_uri {storage_uri!r} is a local path; Seldon needs an rclone URI (s3://...)"
        )
    spec: dict[str, Any] = {
        "storageUri": storage_uri,
        "requirements": ["mlflow"],
        "replicas": replicas,
    }
    if memory:
        spec["memory"] = memory
    if server:
        spec["server"] = server
    return {
        "apiVersion": API_VERSION,
        "kind": MODEL_KIND,
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": spec,
    }


def render_experiment(
    *,
    name: str,
    namespace: str,
    default_model: str,
    candidate_model: str,
    candidate_percent: int,
    labels: dict[str, str],
) -> dict[str, Any]:
    """Returns an Experiment that sends ``candidate_percent`` % of traffic to the candidate.

    Raises:
        ValueError: If the percent is not within 1-99.
    """
    if not 0 < candidate_percent < 100:
        raise ValueError(f"candidate_percent must be 1-99 for a split, got {candidate_percent}")
    return {
        "apiVersion": API_VERSION,
        "kind": EXPERIMENT_KIND,
        "metadata": {
            "name": check_object_name(name),
            "namespace": namespace,
            "labels": dict(labels),
        },
        "spec": {
            "default": default_model,
            "candidates": [
                {"name": default_model, "weight": 100 - candidate_percent},
                {"name": candidate_model, "weight": candidate_percent},
            ],
        },
    }


def shadow_model_name(served_name: str) -> str:
    """Name of the challenger's Model while it serves in shadow, e.g. ``<served name>-shadow``.

    The shadow Experiment has the same name (`shadow_experiment_name`); the kinds differ.
    """
    return shadow_experiment_name(served_name)


def shadow_experiment_name(served_name: str) -> str:
    """Name of the shadow Experiment, e.g. ``<served name>-shadow``."""
    return check_object_name(f"{served_name}-shadow")


def render_shadow_experiment(
    *,
    name: str,
    namespace: str,
    champion_model: str,
    shadow_model: str,
    mirror_percent: int = 100,
    labels: dict[str, str],
) -> dict[str, Any]:
    """Returns an Experiment serving the champion and mirroring requests to a shadow Model.

    Args:
        name: Experiment name (see `shadow_experiment_name`).
        namespace: Namespace of the Seldon runtime.
        champion_model: The Model that answers (default, the only weighted candidate).
        shadow_model: The challenger's Model; it gets a copy of `mirror_percent` % of
            the requests and its answers go nowhere but its own logs.
        mirror_percent: Share of requests mirrored, 1-100.
        labels: Object labels.

    Raises:
        ValueError: If the percent is not within 1-100 or both models are the same.
    """
    if not 0 < mirror_percent <= 100:
        raise ValueError(f"mirror_percent must be 1-100, got {mirror_percent}")
    if champion_model == shadow_model:
        raise ValueError(f"the shadow model must differ from the champion ({champion_model!r})")
    return {
        "apiVersion": API_VERSION,
        "kind": EXPERIMENT_KIND,
        "metadata": {
            "name": check_object_name(name),
            "namespace": namespace,
            "labels": dict(labels),
        },
        "spec": {
            "default": champion_model,
            "candidates": [{"name": champion_model, "weight": 100}],
            "mirror": {"name": check_object_name(shadow_model), "percent": mirror_percent},
        },
    }


def object_state(obj: dict[str, Any], ready_type: str) -> State:
    """Reads a Seldon Model (``ModelReady``) or Experiment (``ExperimentReady``) status.

    Seldon keeps a condition False while a model is still progressing, so
    False alone is not failure: the model state (``ModelFailed``,
    ``ScheduleFailed`` ...) in the condition's reason or message decides.
    """
    if not generation_observed(obj):
        return State(Phase.PENDING, "controller has not observed the latest generation")
    entries = [condition(obj, ready_type), condition(obj, "Ready")]
    for entry in entries:
        if not entry:
            continue
        words = f"{entry.get('reason', '')} {entry.get('message', '')}"
        if entry.get("status") == "False" and any(s in words for s in _FAILED_STATES):
            return State(Phase.FAILED, f"{entry.get('type')}=False: {words.strip()}")
    present = [e for e in entries if e]
    if present and all(e.get("status") == "True" for e in present):
        return State(Phase.SERVING, f"{ready_type}=True")
    first = present[0] if present else {}
    return State(
        Phase.PENDING,
        f"{ready_type} {first.get('status', 'not reported')}: "
        f"{first.get('reason', '')} {first.get('message', '')}".strip(),
    )
