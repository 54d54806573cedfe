"""The cluster half of the prediction log: InferenceService `logger` -> the suite sink Service."""

from __future__ import annotations

import subprocess
from pathlib import Path

import jsonschema
import yaml

from components.deploy_model import kserve

REPO_ROOT = Path(__file__).resolve().parents[3]
CRD = REPO_ROOT / "tests" / "crds" / "serving.kserve.io_inferenceservices.yaml"


def _built() -> list[dict]:
    kubectl = REPO_ROOT / ".venv" / "bin" / "kubectl"
    out = subprocess.run(
        [str(kubectl), "kustomize", str(REPO_ROOT / "manifests" / "serving-logger")],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    return list(yaml.safe_load_all(out))


def test_inference_service_logger_points_at_the_suite_sink():
    """The rendered InferenceService sends every request and response to the sink Service.

    Proves: `spec.predictor.logger` is `{mode: all, url: http://<sink>.<ns>.svc...}`, that
    host is the Service `manifests/serving-logger` builds (same name and namespace, port
    80 to the container's http port), the whole object validates against the KServe
    v0.20 CRD schema, the sink Deployment runs the suite's `log-sink` command on the
    object store, and `prediction_logger=None` renders no logger.

    Cannot prove: KServe's agent delivers the events (no cluster here) or that the
    Deployment's S3 credentials work.
    """
    isvc = kserve.render_inference_service(
        name="churn", namespace="suite-serving", storage_uri="s3://mlflow/1/m",
        labels={}, service_account="kserve-s3",
    )  # fmt: skip
    crd = yaml.safe_load(CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v.get("storage")]
    jsonschema.Draft7Validator(version["schema"]["openAPIV3Schema"]).validate(isvc)
    logger = isvc["spec"]["predictor"]["logger"]
    assert logger["mode"] == "all"
    objects = {obj["kind"]: obj for obj in _built()}
    service, deployment = objects["Service"], objects["Deployment"]
    host = f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local"
    assert logger["url"] == f"http://{host}/"
    assert service["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "components._serving", "log-sink"]
    assert container["args"][:2] == ["--root", "s3://suite-data/predictions"]
    assert container["ports"][0]["name"] == "http"
    quiet = kserve.render_inference_service(
        name="churn", namespace="suite-serving", storage_uri="s3://mlflow/1/m",
        labels={}, service_account="kserve-s3", prediction_logger=None,
    )  # fmt: skip
    assert "logger" not in quiet["spec"]["predictor"]
