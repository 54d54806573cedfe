"""Validate objects against the CRD schemas vendored in tests/crds (KServe v0.20, Seldon Core 2).

jsonschema on the stored version's ``openAPIV3Schema`` plus a pruning check: a field the
structural schema does not declare would be dropped silently by the API server, so for a
test it is an error. Nothing here proves a cluster's admission webhooks accept an object.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

CRDS = Path(__file__).resolve().parents[1] / "crds"
CRD_FILES = {
    ("serving.kserve.io/v1beta1", "InferenceService"): "serving.kserve.io_inferenceservices.yaml",
    ("mlops.seldon.io/v1alpha1", "Model"): "mlops.seldon.io_models.yaml",
    ("mlops.seldon.io/v1alpha1", "Experiment"): "mlops.seldon.io_experiments.yaml",
}


@cache
def crd_schema(filename: str) -> dict[str, Any]:
    """Returns the openAPIV3Schema of the stored version of the CRD in tests/crds/filename."""
    crd = yaml.load(
        (CRDS / filename).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    )
    (served,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
    return served["schema"]["openAPIV3Schema"]


def pruned_fields(obj: Any, schema: dict[str, Any], path: str = "") -> list[str]:
    """Fields of ``obj`` that a structural schema does not declare (the server drops them)."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return []
    if isinstance(obj, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        found = []
        for key, value in obj.items():
            if props is not None and key in props:
                found += pruned_fields(value, props[key], f"{path}.{key}")
            elif isinstance(extra, dict):
                found += pruned_fields(value, extra, f"{path}.{key}")
            elif props is not None and extra is not True:
                found.append(f"{path}.{key}")
        return found
    if isinstance(obj, list) and isinstance(schema.get("items"), dict):
        return [f for item in obj for f in pruned_fields(item, schema["items"], path + "[]")]
    return []


def assert_valid_against_crd(obj: dict[str, Any], filename: str) -> None:
    """Fails unless ``obj`` passes the CRD's schema with no field the server would prune."""
    schema = crd_schema(filename)
    jsonschema.Draft7Validator(schema).validate(obj)
    assert pruned_fields(obj, schema) == []


def assert_valid_object(obj: dict[str, Any]) -> None:
    """Validates ``obj`` against the CRD of its apiVersion and kind (see :data:`CRD_FILES`).

    ``status``, when present, is checked for undeclared fields too, even where the CRD
    keeps unknown status fields (KServe's does): a status written by a test stand-in
    must use the controller's real field names.
    """
    filename = CRD_FILES[(obj["apiVersion"], obj["kind"])]
    assert_valid_against_crd(obj, filename)
    if "status" in obj:
        status_schema = dict(crd_schema(filename)["properties"]["status"])
        status_schema.pop("x-kubernetes-preserve-unknown-fields", None)
        assert pruned_fields(obj["status"], status_schema, ".status") == []
