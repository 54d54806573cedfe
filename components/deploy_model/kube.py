"""Idempotent apply of rendered objects through the Kubernetes dynamic client.

Objects are applied with server-side apply (one field manager, conflicts
forced: this step owns the fields it renders). Before applying, the live object
is compared with the rendered one (:func:`apply_diff`), so applying the same
version twice sends nothing and changes nothing — not even
``metadata.generation``.

What is not proven here (no cluster on this machine): that the API server
accepts the apply, that RBAC allows it, and how a controller reacts. The
rendering, the diff and the decisions over status are pure and tested, and the
KServe and Seldon rollout flows run in the tests against an in-memory stand-in
for :class:`Cluster` (tests/_helpers/memory_cluster.py) that plays the controllers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubernetes.dynamic import DynamicClient

FIELD_MANAGER = "kfp-mlops-suite"
SUITE_LABEL_PREFIX = "mlops.kfp-suite.io"
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def check_object_name(name: str) -> str:
    """Returns ``name`` if it is a valid DNS-1035 label (InferenceService/Model names).

    Raises:
        ValueError: Naming the rule broken.
    """
    if len(name) > 63 or not _DNS1035.match(name):
        raise ValueError(
            f"{name!r} is not a valid object name: lower-case letters, digits and '-', "
            "starting with a letter, at most 63 characters"
        )
    return name


def check_label_value(value: str) -> str:
    """Returns ``value`` if it is a valid Kubernetes label value.

    Raises:
        ValueError: Naming the rule broken.
    """
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        raise ValueError(
            f"{value!r} is not a valid label value: at most 63 characters of [A-Za-z0-9-_.], "
            "starting and ending alphanumeric"
        )
    return value


def suite_labels(model_name: str, model_version: str, suite_version: str) -> dict[str, str]:
    """Labels every rendered object carries: model name/version and suite version."""
    return {
        "app.kubernetes.io/part-of": "kfp-mlops-suite",
        "app.kubernetes.io/managed-by": FIELD_MANAGER,
        "app.kubernetes.io/version": check_label_value(suite_version),
        f"{SUITE_LABEL_PREFIX}/model-name": check_label_value(model_name),
        f"{SUITE_LABEL_PREFIX}/model-version": check_label_value(str(model_version)),
    }


def live_model_version(obj: dict[str, Any] | None) -> str | None:
    """Returns the model-version label of a live object, or None."""
    labels = ((obj or {}).get("metadata") or {}).get("labels") or {}
    return labels.get(f"{SUITE_LABEL_PREFIX}/model-version")


def apply_diff(
    desired: dict[str, Any],
    live: dict[str, Any] | None,
    absent: tuple[tuple[str, ...], ...] = (),
) -> list[str]:
    """Returns the paths where applying ``desired`` would change ``live``.

    Every field of ``desired`` must be present with the same value in ``live``
    (server-populated extras such as ``status``, ``uid`` or defaulted fields
    are ignored), and every path in ``absent`` must be missing from ``live``
    (a field this step owns and no longer renders, e.g.
    ``spec.predictor.canaryTrafficPercent`` after a promotion). An empty list
    means the apply can be skipped.

    Args:
        desired: The rendered object.
        live: The object as read from the cluster, or None if it does not exist.
        absent: Paths (tuples of keys) that must not be set in ``live``.
    """
    if live is None:
        return ["<object does not exist>"]
    changes: list[str] = []
    _diff(desired, live, "", changes)
    for path in absent:
        if _lookup(desired, path) is None and _lookup(live, path) is not None:
            changes.append(".".join(path) + " (to remove)")
    return changes


def _diff(desired: Any, live: Any, path: str, changes: list[str]) -> None:
    if isinstance(desired, dict) and isinstance(live, dict):
        for key, value in desired.items():
            _diff(value, live.get(key), f"{path}.{key}" if path else key, changes)
    elif isinstance(desired, list) and isinstance(live, list) and len(desired) == len(live):
        for i, (d, lv) in enumerate(zip(desired, live, strict=True)):
            _diff(d, lv, f"{path}[{i}]", changes)
    elif not _same_scalar(desired, live):
        changes.append(path)


def _same_scalar(desired: Any, live: Any) -> bool:
    # The API server may return quantities/ints as strings and vice versa ("1" vs 1).
    if desired == live:
        return True
    return (
        isinstance(desired, int | str)
        and isinstance(live, int | str)
        and not isinstance(desired, bool)
        and str(desired) == str(live)
    )


def _lookup(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """Returns the ``status.conditions`` entry of type ``kind``, or None."""
    for entry in (obj.get("status") or {}).get("conditions") or []:
        if entry.get("type") == kind:
            return entry
    return None


def generation_observed(obj: dict[str, Any]) -> bool:
    """Whether the controller has seen the latest spec (observedGeneration >= generation)."""
    generation = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    if generation is None:
        return True
    return observed is not None and int(observed) >= int(generation)


@dataclass
class Cluster:
    """The few Kubernetes calls deploy_model makes, over a ``DynamicClient``.

    The class itself is not exercised here (no API server); the tests run the
    rollout flows against a stand-in with the same three methods.
    """

    client: DynamicClient
    field_manager: str = FIELD_MANAGER
    dry_run: bool = False

    def _resource(self, api_version: str, kind: str) -> Any:
        return self.client.resources.get(api_version=api_version, kind=kind)

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> dict | None:
        """Returns the live object as a dict, or None if it does not exist."""
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            found = self.client.get(
                self._resource(api_version, kind), name=name, namespace=namespace
            )
        except NotFoundError:
            return None
        return found.to_dict()

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side applies ``obj`` (forcing conflicts) and returns the result."""
        meta = obj["metadata"]
        result = self.client.server_side_apply(
            self._resource(obj["apiVersion"], obj["kind"]),
            body=obj,
            name=meta["name"],
            namespace=meta.get("namespace"),
            field_manager=self.field_manager,
            force_conflicts=True,
            dry_run="All" if self.dry_run else None,
        )
        return result.to_dict()

    def delete(self, api_version: str, kind: str, name: str, namespace: str) -> bool:
        """Deletes an object; returns False if it was already gone."""
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            self.client.delete(
                self._resource(api_version, kind),
                name=name,
                namespace=namespace,
                dry_run="All" if self.dry_run else None,
            )
        except NotFoundError:
            return False
        return True


def cluster_from_environment(dry_run: bool = False) -> Cluster:
    """Builds a :class:`Cluster` from in-cluster config, else the local kubeconfig.

    Not exercised here (no cluster).
    """
    from kubernetes import client, config
    from kubernetes.dynamic import DynamicClient

    try:
        config.load_incluster_config()
    except config.ConfigException:
        config.load_kube_config()
    return Cluster(DynamicClient(client.ApiClient()), dry_run=dry_run)
