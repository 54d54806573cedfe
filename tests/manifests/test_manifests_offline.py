"""Offline kustomizations build with `kubectl kustomize` and validate against schemas.

Every kustomization under manifests/ that references no remote base is built here
(no network, no cluster) and each resulting object is validated: core kinds against
the kind node's Kubernetes JSON schemas of kubernetes-validate in strict mode (unknown
fields fail), KServe / Seldon kinds against the CRD openAPIV3Schema in tests/crds
with unknown fields made errors too. What this cannot prove: that the objects are
accepted by admission webhooks, that the images pull, or that the pods become Ready.
"""

import copy
import re
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest

REPO = Path(__file__).resolve().parents[2]

# Kinds installed by remote bases whose CRD schema is not in tests/crds. Objects
# of these kinds are only checked for apiVersion/kind/name here. Kept exact, so a new
# unvalidated kind fails the test instead of slipping through.
NO_SCHEMA_HERE = {
    ("mlops.seldon.io/v1alpha1", "SeldonRuntime"),
    ("mlops.seldon.io/v1alpha1", "Server"),
}


def _core_kind(obj) -> bool:
    group = obj["apiVersion"].rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def test_every_offline_kustomization_builds(local_kustomization, built):
    """Proves `kubectl kustomize` builds it offline and it yields objects.

    Cannot prove `kubectl apply` succeeds (no cluster here).
    """
    objects = built(local_kustomization)
    assert objects
    for obj in objects:
        assert {"apiVersion", "kind", "metadata"} <= set(obj), obj
        assert obj["metadata"].get("name"), obj


def test_core_objects_validate_strictly_against_kubernetes_schemas(
    local_kustomization, built, kube_version
):
    """Proves every core object matches the kind node's Kubernetes schema, unknown fields rejected.

    Cannot prove semantic rules that only the API server checks (e.g. immutable
    fields, quota, admission).
    """
    checked = 0
    for obj in built(local_kustomization):
        if not _core_kind(obj):
            continue
        try:
            kubernetes_validate.validate(obj, kube_version, strict=True)
        except kubernetes_validate.ValidationError as error:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {error.message}")
        checked += 1
    custom = [obj for obj in built(local_kustomization) if not _core_kind(obj)]
    assert checked or custom


def test_custom_resources_validate_against_the_shared_crd_schemas(
    local_kustomization, built, schemas, strict
):
    """Proves each KServe/Seldon object matches its CRD schema (tests/crds), strictly.

    Kinds whose CRD is not shared (Seldon SeldonRuntime/Server) are listed in
    NO_SCHEMA_HERE and only checked structurally. Cannot prove the operators accept
    the object at runtime.
    """
    for obj in built(local_kustomization):
        if _core_kind(obj):
            continue
        group, _, version = obj["apiVersion"].rpartition("/")
        key = (group, version, obj["kind"])
        if key not in schemas:
            assert (obj["apiVersion"], obj["kind"]) in NO_SCHEMA_HERE, (
                f"{obj['apiVersion']} {obj['kind']} has no CRD schema in tests/crds"
            )
            continue
        validator = jsonschema.Draft7Validator(strict(schemas[key]))
        errors = sorted(validator.iter_errors(obj), key=lambda error: list(error.path))
        assert not errors, "\n".join(
            f"{obj['kind']}/{obj['metadata']['name']} {list(e.path)}: {e.message}" for e in errors
        )


def test_strict_crd_validation_catches_a_misspelt_field(schemas, strict):
    """Proves the CRD check is not vacuous: a typo in a ServingRuntime field fails it.

    Cannot prove every kind of mistake is caught, only unknown fields.
    """
    schema = strict(schemas[("serving.kserve.io", "v1alpha1", "ServingRuntime")])
    good = {
        "apiVersion": "serving.kserve.io/v1alpha1",
        "kind": "ServingRuntime",
        "metadata": {"name": "x"},
        "spec": {"containers": [{"name": "kserve-container", "image": "img:1"}]},
    }
    jsonschema.Draft7Validator(schema).validate(good)
    bad = copy.deepcopy(good)
    bad["spec"]["protocolVersion"] = ["v2"]  # the field is protocolVersions
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(bad)


def test_images_are_pinned_and_never_latest(local_kustomization, built):
    """Proves every container image in the built output has an explicit, non-latest tag.

    Cannot prove the tags exist on their registries.
    """
    for obj in built(local_kustomization):
        for image in _images(obj):
            name, _, tag = image.rpartition(":")
            assert name, f"{obj['kind']}/{obj['metadata']['name']}: image {image!r} has no tag"
            assert "/" not in tag, f"image {image!r} has no tag"
            assert tag != "latest", f"image {image!r} uses latest"


def test_no_latest_tag_in_any_manifest_file():
    """Proves the text `:latest` appears in no file under manifests/ (remote ones included).

    Cannot prove what the remote upstream files reference.
    """
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "manifests").rglob("*")
        if path.is_file() and ":latest" in path.read_text(encoding="utf-8")
    ]
    assert not offenders


def test_no_secret_objects_or_credentials_in_the_repo(local_kustomization, built):
    """Proves no Secret is committed: credentials only come from `make secrets`.

    Cannot prove a credential is not hidden in some other field; the env-example
    test below checks the only file meant to hold credential names.
    """
    secrets = [obj for obj in built(local_kustomization) if obj["kind"] == "Secret"]
    assert not secrets


def test_no_secret_manifest_or_env_file_is_tracked():
    """Proves manifests/ holds no Secret manifest and manifests/.env is git-ignored.

    Cannot prove a user never commits a copy under another name.
    """
    texts = {
        path: path.read_text(encoding="utf-8") for path in (REPO / "manifests").rglob("*.yaml")
    }
    assert not [path for path, text in texts.items() if re.search(r"(?m)^kind:\s*Secret\b", text)]
    assert not (REPO / "manifests" / ".env").exists() or _git_ignored("manifests/.env")
    example = (REPO / "manifests" / ".env.example").read_text(encoding="utf-8")
    values = dict(
        line.split("=", 1) for line in example.splitlines() if line and not line.startswith("#")
    )
    assert set(values) == {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "REDIS_PASSWORD"}
    assert all(value.startswith("change-me") for key, value in values.items() if "PASS" in key)


def _git_ignored(relative: str) -> bool:
    import subprocess

    result = subprocess.run(
        ["git", "check-ignore", "-q", relative], cwd=REPO, check=False, timeout=30
    )
    return result.returncode == 0


def _images(obj):
    """Yields container images of workloads, pod templates and serving runtimes."""
    spec = obj.get("spec") or {}
    pod_specs = [spec.get("template", {}).get("spec", {}), spec.get("podSpec", {}), spec]
    if obj["kind"] == "Job":
        pod_specs = [spec["template"]["spec"]]
    for pod_spec in pod_specs:
        for key in ("containers", "initContainers"):
            for container in pod_spec.get(key) or []:
                if "image" in container:
                    yield container["image"]
