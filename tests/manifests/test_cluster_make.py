"""The cluster make targets: image builds kind can load, one registry everywhere, fast failure.

Runs mk/cluster.mk's real recipes, as dry runs (`make -n`) or with kubectl / docker /
Python replaced by small recording scripts, and reads the committed manifests. Nothing
here talks to Docker, kind or a cluster: whether an image loads, a Job succeeds or a
route answers is only proven on a machine that has them.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
PLATFORM = REPO / "manifests" / "platform"
REGISTRY = "reg.example:5000/team"
# knative.dev/pkg version.defaultMinimumVersion at the commit Knative serving
# knative-v1.21.1 pins in go.mod (v0.0.0-20260120122510-4a022ed9999a).
KNATIVE_MIN_KUBERNETES = (1, 33)


def _make(makefile, *args, env=None, check=True, timeout=120):
    result = subprocess.run(
        ["make", "--no-print-directory", "-f", str(makefile), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/bash\n" + body, encoding="utf-8")
    path.chmod(0o755)
    return path


def test_images_are_built_without_attestations_so_kind_can_load_them(makefile):
    """Proves every `docker build` of `make images` passes --provenance=false --sbom=false.

    With Docker's containerd image store, `kind load docker-image` cannot import an image
    that carries BuildKit attestations (kind#3795). Dry run: cannot prove Docker accepts
    the flags (BuildKit builder) or that kind then loads the image.
    """
    out = _make(makefile, "-n", "images", "SUITE_VERSION=1.2.3").stdout
    builds = [line for line in out.splitlines() if "docker build" in line]
    assert builds
    for line in builds:
        assert "--provenance=false" in line, line
        assert "--sbom=false" in line, line


def _suite_images(text: str) -> set[str]:
    return set(re.findall(r"([\w.:/-]+)/suite-(?:data|train|serve|\$group)\b", text))


@pytest.mark.parametrize("target", ["images", "kind-load", "cluster-up", "cluster-data"])
def test_a_custom_registry_reaches_every_cluster_target(makefile, tmp_path, target):
    """Proves SUITE_IMAGE_REGISTRY names the suite images in every target's commands.

    In cluster-up / cluster-data the images are set by generated kustomize overlays, whose
    `name:` lines keep the committed registry as what gets replaced; every other mention
    of a suite image names the custom registry. Dry run: cannot prove the images exist.
    """
    out = _make(
        makefile,
        "-n",
        target,
        "SUITE_VERSION=1.2.3",
        f"SUITE_IMAGE_REGISTRY={REGISTRY}",
        f"CLUSTER_BUILD={tmp_path}",
    ).stdout
    replaced = re.compile(r'"\s*- name: ghcr\.io/kfp-mlops-suite/suite-\$group"')
    assert _suite_images(replaced.sub("", out)) == {REGISTRY}, out


def test_compile_sees_the_registry_given_to_make(tmp_path):
    """Proves `make compile SUITE_IMAGE_REGISTRY=...` hands the registry to the compiler.

    components/_images.py reads it from the environment when it names a component's
    image. The venv Python is replaced by a script that records its environment.
    Cannot prove the compiled YAML (tests/pipelines covers image names).
    """
    seen = tmp_path / "seen"
    fake = _script(tmp_path / "python", f'echo "$SUITE_IMAGE_REGISTRY" > {seen}\n')
    stamp = tmp_path / "stamp"
    stamp.touch()  # newer than the lock: `setup` has nothing to do
    result = subprocess.run(
        ["make", "--no-print-directory", "compile", f"PY={fake}", f"STAMP={stamp}",
         "SUITE_VERSION=1.2.3", f"SUITE_IMAGE_REGISTRY={REGISTRY}"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
        env={k: v for k, v in os.environ.items() if k != "SUITE_IMAGE_REGISTRY"},
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert seen.read_text().strip() == REGISTRY


@pytest.mark.parametrize(
    ("registry", "host"),
    [
        (REGISTRY, "reg.example:5000"),
        ("localhost:5001/suite", "localhost:5001"),
        ("ghcr.io/me", "ghcr.io"),
        ("myuser", "index.docker.io"),
    ],
)
def test_knative_skips_tag_resolution_for_the_suite_registry(makefile, tmp_path, registry, host):
    """Proves the Knative overlay cluster-up applies lists the registry host of the suite images.

    Knative resolves a tag to a digest unless the image's registry (go-containerregistry
    RegistryStr; Docker Hub is index.docker.io) is in registries-skipping-tag-resolving;
    kind-loaded images are in no registry, so resolution would fail. Runs the real
    cluster-overlays; cannot build the overlay (its base is remote) nor prove Knative's
    reading of the list beyond its source (pkg/reconciler/revision/resolve.go).
    """
    _make(makefile, "cluster-overlays", "SUITE_VERSION=1.2.3",
          f"SUITE_IMAGE_REGISTRY={registry}", f"CLUSTER_BUILD={tmp_path}")  # fmt: skip
    overlay = yaml.safe_load((tmp_path / "knative" / "kustomization.yaml").read_text())
    (base,) = overlay["resources"]
    assert (tmp_path / "knative" / base).resolve() == PLATFORM / "knative"
    patch = yaml.safe_load((tmp_path / "knative" / "config-deployment.yaml").read_text())
    skipped = patch["data"]["registries-skipping-tag-resolving"].split(",")
    assert host in skipped
    assert {"kind.local", "ghcr.io", "localhost:5001"} <= set(skipped)


def test_knative_routes_answer_on_the_domain_the_readme_curls():
    """Proves Knative gets example.com as its default domain, the host the README curls.

    Without a config-domain entry Knative 1.21 gives routes the cluster-local domain and
    Kourier answers `Host: ...example.com` with 404. Knative's default domain template is
    {{.Name}}.{{.Namespace}}.{{.Domain}} (networking config.go), and a KServe predictor's
    Knative Service is <isvc>-predictor. Cannot prove Kourier routes it (needs a cluster).
    """
    kustomization = yaml.safe_load((PLATFORM / "knative" / "kustomization.yaml").read_text())
    patches = {p["path"]: yaml.safe_load((PLATFORM / "knative" / p["path"]).read_text())
               for p in kustomization["patches"]}  # fmt: skip
    domain = next(p for p in patches.values() if p["metadata"]["name"] == "config-domain")
    assert domain["metadata"]["namespace"] == "knative-serving"
    assert domain["data"] == {"example.com": ""}
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    hosts = set(re.findall(r"Host: ([\w<>.-]+)", readme))
    assert hosts == {"<name>-predictor.suite-serving.example.com"}, hosts


def test_cluster_data_stops_at_the_first_failure_of_the_job(makefile, tmp_path):
    """Proves `make cluster-data` fails within seconds once the Job is Failed, with its logs.

    kubectl is a script: the Job reports condition Failed, and `kubectl wait` would block
    (as `wait --for=condition=Complete` does on a failed Job) for a minute. Cannot prove
    the Job's real conditions on a cluster.
    """
    fake = _script(
        tmp_path / "kubectl",
        'case " $* " in\n'
        '  *" get job "*) echo -n "Failed " ;;\n'
        '  *" logs "*) echo "bootstrap: boom" ;;\n'
        '  *" wait "*) sleep 60; exit 1 ;;\n'
        "esac\n",
    )
    started = time.monotonic()
    result = _make(makefile, "cluster-data", f"KUBECTL={fake}", "SUITE_VERSION=1.2.3",
                   f"CLUSTER_BUILD={tmp_path / 'build'}", check=False)  # fmt: skip
    assert result.returncode != 0
    assert time.monotonic() - started < 30
    assert "bootstrap: boom" in result.stdout + result.stderr


def test_bootstrap_job_keeps_the_home_where_the_image_put_the_duckdb_extension(built):
    """Proves the data Job's HOME is the one the data image fetched DuckDB's httpfs into.

    DuckDB installs extensions under ~/.duckdb; the data stage runs `INSTALL httpfs` as
    the image user, whose home useradd created. Cannot prove DuckDB then loads it offline.
    """
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    user = re.search(r"useradd --uid (\d+) .*--create-home .*?(\w+)$", dockerfile, re.M)
    assert user, "the Dockerfile creates the image user with a home"
    uid, name = user.groups()
    assert re.search(rf"(?m)^USER {uid}(:\d+)?$", dockerfile)
    assert "INSTALL httpfs" in dockerfile
    (job,) = [o for o in built(REPO / "manifests" / "bootstrap") if o["kind"] == "Job"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    home = {e["name"]: e.get("value") for e in container.get("env", [])}.get("HOME")
    assert home in (None, f"/home/{name}"), home
    assert job["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(uid)


def _cluster_mk_default(name: str) -> str:
    text = (REPO / "mk" / "cluster.mk").read_text(encoding="utf-8")
    (value,) = re.findall(rf"(?m)^{name} \?= (\S+)$", text)
    return value


def test_kind_node_image_is_pinned_by_digest_above_knatives_minimum(kube_version):
    """Proves the node image is a digest-pinned kindest/node a minor above Knative 1.21's floor.

    And that the Kubernetes schemas the manifest tests validate against are that minor.
    Cannot prove the digest is still published (kind v0.31.0 names it).
    """
    image = _cluster_mk_default("KIND_NODE_IMAGE")
    match = re.fullmatch(r"kindest/node:v(\d+)\.(\d+)\.\d+@sha256:[0-9a-f]{64}", image)
    assert match, image
    minor = (int(match.group(1)), int(match.group(2)))
    assert minor > KNATIVE_MIN_KUBERNETES
    assert tuple(int(p) for p in kube_version.split(".")[:2]) == minor


def test_kfp_backend_is_the_release_of_the_locked_kfp_server_api():
    """Proves both KFP kustomizations pin the backend release kfp-server-api comes from.

    kfp-server-api is generated from the backend's API at each release; the lock's copy
    and the cluster's API server should be the same release. Cannot prove the ref exists
    upstream (no network to GitHub).
    """
    api = importlib.metadata.version("kfp-server-api")
    for directory in (PLATFORM / "kfp", PLATFORM / "kfp" / "cluster-scoped"):
        (resource,) = yaml.safe_load((directory / "kustomization.yaml").read_text())["resources"]
        assert resource.endswith(f"?ref={api}"), (resource, api)


def test_argo_retries_only_infrastructure_errors_as_the_readme_says():
    """Proves the suite owns Argo's template retry default: OnError, twice, as KFP 2.17 ships it.

    OnError retries a pod only on Argo / infrastructure errors, never a main container
    that exits non-zero, so failed verdict steps are still not retried; the README says
    so. Cannot prove Argo's semantics beyond its documentation.
    """
    kustomization = yaml.safe_load((PLATFORM / "kfp" / "kustomization.yaml").read_text())
    (path,) = [p["path"] for p in kustomization["patches"]]
    patch = yaml.safe_load((PLATFORM / "kfp" / path).read_text())
    assert patch["metadata"] == {"name": "workflow-controller-configmap", "namespace": "kubeflow"}
    defaults = yaml.safe_load(patch["data"]["workflowDefaults"])["spec"]
    assert defaults["templateDefaults"]["retryStrategy"] == {"limit": "2", "retryPolicy": "OnError"}
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "retryPolicy: OnError" in readme
