"""`make manifests` renders the serving objects of a model version, and they validate.

Runs the real make target (the renderer pipelines/render_serving.py, which calls
deploy_model's own render functions, and `kubectl kustomize` of the runtime overlays)
into a temporary directory, then validates every object: KServe / Seldon kinds strictly
against the CRD schemas in tests/crds, core kinds against the kind node's Kubernetes
schemas. What this cannot prove: that the controllers accept the objects, or that
`kubectl diff -f` against a live cluster shows only the intended change.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
STORAGE = "s3://mlflow/artifacts/1/models/m-0123/artifacts"
NO_SCHEMA_HERE = {("mlops.seldon.io/v1alpha1", "Server")}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The files `make manifests` writes for models:/churn/7 with a 25 % canary."""
    if shutil.which("make") is None:
        pytest.fail("GNU make is required (the project is driven by make)")
    root = tmp_path_factory.mktemp("manifests")
    makefile = root / "Makefile"
    makefile.write_text(
        f"SHELL := /bin/bash\nPYTHON := {sys.executable}\nPY := {sys.executable}\n"
        f"include {REPO / 'mk' / 'cluster.mk'}\n",
        encoding="utf-8",
    )
    out = root / "serving"
    result = subprocess.run(
        ["make", "--no-print-directory", "-f", str(makefile), "manifests",
         "MODEL_URI=models:/churn/7", f"STORAGE_URI={STORAGE}", "CANARY_PERCENT=25",
         f"SERVING_OUT={out}", f"CLUSTER_BUILD={root / 'build'}", "SUITE_VERSION=9.9.9"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    return {
        path.relative_to(out).as_posix(): [d for d in yaml.safe_load_all(path.read_text()) if d]
        for path in sorted(out.rglob("*.yaml"))
    }


def test_make_manifests_writes_every_serving_object(rendered):
    """Proves the files and kinds: InferenceService, runtime, Model, Experiment, log sink.

    The InferenceService's logger posts to the rendered prediction-log sink. Cannot
    prove KServe's agent delivers the events (needs a cluster).
    """
    kinds = {name: sorted(o["kind"] for o in objs) for name, objs in rendered.items()}
    assert kinds == {
        "kserve/inferenceservice.yaml": ["InferenceService"],
        "kserve/inferenceservice-canary.yaml": ["InferenceService"],
        "kserve/runtime.yaml": ["ServiceAccount", "ServingRuntime"],
        "kserve/prediction-logger.yaml": ["Deployment", "Service"],
        "seldon/model.yaml": ["Model"],
        "seldon/model-candidate.yaml": ["Model"],
        "seldon/experiment.yaml": ["Experiment"],
        "seldon/runtime.yaml": ["SeldonRuntime", "Server"],
    }
    (canary,) = rendered["kserve/inferenceservice-canary.yaml"]
    assert canary["spec"]["predictor"]["canaryTrafficPercent"] == 25
    assert canary["spec"]["predictor"]["model"]["storageUri"] == STORAGE
    (full,) = rendered["kserve/inferenceservice.yaml"]
    assert "canaryTrafficPercent" not in full["spec"]["predictor"]
    (experiment,) = rendered["seldon/experiment.yaml"]
    assert {c["name"]: c["weight"] for c in experiment["spec"]["candidates"]} == {
        "churn": 75,
        "churn-v7": 25,
    }
    runtime = {o["kind"]: o for o in rendered["kserve/runtime.yaml"]}["ServingRuntime"]
    assert runtime["spec"]["containers"][0]["image"] == "ghcr.io/kfp-mlops-suite/suite-serve:9.9.9"
    assert canary["spec"]["predictor"]["model"]["runtime"] == runtime["metadata"]["name"]
    sink = {o["kind"]: o for o in rendered["kserve/prediction-logger.yaml"]}["Service"]
    sink_url = (
        f"http://{sink['metadata']['name']}.{sink['metadata']['namespace']}.svc.cluster.local/"
    )
    assert canary["spec"]["predictor"]["logger"] == {"mode": "all", "url": sink_url}


def test_rendered_objects_validate_against_the_crd_and_kubernetes_schemas(
    rendered, schemas, strict, kube_version
):
    """Proves every rendered object matches its schema, unknown fields rejected.

    Seldon's Server/SeldonRuntime CRDs are not in tests/crds; they are only checked by
    kind. Cannot prove admission webhooks accept them.
    """
    checked = 0
    for name, objects in rendered.items():
        for obj in objects:
            group, _, version = obj["apiVersion"].rpartition("/")
            if "." not in group or group.endswith(".k8s.io"):
                kubernetes_validate.validate(obj, kube_version, strict=True)
            elif (group, version, obj["kind"]) in schemas:
                validator = jsonschema.Draft7Validator(
                    strict(schemas[(group, version, obj["kind"])])
                )
                errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(obj)]
                assert not errors, (name, errors)
            else:
                assert (obj["apiVersion"], obj["kind"]) in NO_SCHEMA_HERE | {
                    ("mlops.seldon.io/v1alpha1", "SeldonRuntime")
                }, name
                continue
            checked += 1
    assert checked >= 7
