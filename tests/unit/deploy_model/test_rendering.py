"""Rendered InferenceService / Model / Experiment objects against the CRD schemas.

Schemas: ``tests/crds`` (KServe v0.20 InferenceService, Seldon Core 2 Model and
Experiment), validated with jsonschema on the served version's ``openAPIV3Schema``, plus
a pruning check (no field the API server would silently drop). Embedded core parts
(ObjectMeta, container ResourceRequirements) are validated with kubernetes-validate's
strict Kubernetes schemas. None of this proves a cluster accepts or reconciles them.
"""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
import yaml
from kubernetes_validate.utils import latest_version, schema_contents
from referencing import Registry, Resource

from components.deploy_model import kserve, seldon
from components.deploy_model.core import (
    DeployRequest,
    ResolvedModel,
    cluster_storage_uri,
    deploy_kserve,
    deploy_seldon,
    kserve_objects,
    require_remote,
    seldon_objects,
)
from components.deploy_model.kube import check_label_value, suite_labels
from tests._helpers.crd import assert_valid_against_crd, crd_schema, pruned_fields

MODEL = ResolvedModel("churn", "7", "s3://mlflow/1/models/m-abc/artifacts")
REQUEST = DeployRequest(
    "models:/churn/7", "kserve", canary_percent=20, suite_version="0.1.0-3f2a9c1d"
)


def k8s_validate(obj: Any, schema_file: str) -> None:
    """Validates a core Kubernetes fragment with kubernetes-validate's strict schemas."""
    version = latest_version()
    folder = f"kubernetes-json-schema/v{version}-local-strict"
    schema = schema_contents(f"{folder}/{schema_file}", version)
    definitions = schema_contents(f"{folder}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    jsonschema.Draft202012Validator(schema, registry=registry).validate(obj)


def test_inference_service_variants_validate_against_kserve_crd():
    """The full, canary and rollback InferenceServices validate against KServe v0.20.

    Proves: every variant passes the CRD's openAPIV3Schema and has no field the server
    would prune; metadata and resources pass Kubernetes' strict ObjectMeta and
    ResourceRequirements schemas.

    Cannot prove KServe's admission webhook accepts them (it runs extra checks).
    """
    objects = kserve_objects(REQUEST, MODEL)
    for obj in objects.values():
        assert_valid_against_crd(obj, "serving.kserve.io_inferenceservices.yaml")
        k8s_validate(obj["metadata"], "objectmeta-meta-v1.json")
        k8s_validate(obj["spec"]["predictor"]["model"]["resources"], "resourcerequirements-v1.json")


def test_inference_service_fields_that_matter():
    """The InferenceService names the suite runtime, canary mode and the metrics port.

    Proves: modelFormat mlflow + protocol v2 + the suite ServingRuntime (not
    kserve-mlserver, which forces the stock modelClass); Serverless deployment mode
    (needed for canaryTrafficPercent); Prometheus annotations on MLServer's metrics port
    8082; the canary variant carries the percent, full omits it, rollback sets 0; labels
    carry model name/version and suite version.

    Cannot prove the ServingRuntime with that name exists in the cluster (manifests/).
    """
    objects = kserve_objects(REQUEST, MODEL)
    full, canary, rollback = objects["full"], objects["canary"], objects["rollback"]
    model = full["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "mlflow"}
    assert model["protocolVersion"] == "v2"
    assert model["runtime"] == kserve.SUITE_SERVING_RUNTIME != "kserve-mlserver"
    assert model["storageUri"] == MODEL.storage_uri
    assert full["spec"]["predictor"]["serviceAccountName"] == "kserve-s3"
    annotations = full["metadata"]["annotations"]
    assert annotations["serving.kserve.io/deploymentMode"] == "Serverless"
    assert annotations["prometheus.kserve.io/port"] == "8082"
    assert annotations["serving.kserve.io/enable-prometheus-scraping"] == "true"
    assert "canaryTrafficPercent" not in full["spec"]["predictor"]
    assert canary["spec"]["predictor"]["canaryTrafficPercent"] == 20
    assert rollback["spec"]["predictor"]["canaryTrafficPercent"] == 0
    labels = full["metadata"]["labels"]
    assert labels["mlops.kfp-suite.io/model-name"] == "churn"
    assert labels["mlops.kfp-suite.io/model-version"] == "7"
    assert labels["app.kubernetes.io/version"] == "0.1.0-3f2a9c1d"


def test_seldon_objects_validate_against_seldon_crds():
    """Seldon Core 2 Model and Experiment validate against the v2.10 CRDs.

    Proves: default and candidate Models (storageUri, requirements [mlflow]) and the
    Experiment (default + weighted candidates summing to 100) pass the CRD schemas with
    nothing pruned, and their metadata passes Kubernetes' ObjectMeta schema.

    Cannot prove Seldon schedules them on a server running the suite image.
    """
    objects = seldon_objects(REQUEST, MODEL)
    for key in ("default", "candidate"):
        assert_valid_against_crd(objects[key], "mlops.seldon.io_models.yaml")
        assert objects[key]["spec"]["requirements"] == ["mlflow"]
        k8s_validate(objects[key]["metadata"], "objectmeta-meta-v1.json")
    experiment = objects["experiment"]
    assert_valid_against_crd(experiment, "mlops.seldon.io_experiments.yaml")
    k8s_validate(experiment["metadata"], "objectmeta-meta-v1.json")
    assert experiment["spec"]["default"] == "churn"
    assert experiment["spec"]["candidates"] == [
        {"name": "churn", "weight": 80},
        {"name": "churn-v7", "weight": 20},
    ]
    assert objects["candidate"]["metadata"]["name"] == "churn-v7"
    assert objects["default"]["spec"]["server"] == seldon.SUITE_SERVER


def test_seldon_shadow_experiment_mirrors_to_the_challenger_and_validates():
    """The shadow Experiment: champion answers (weight 100), the challenger gets a mirror.

    Proves: the Experiment with ``mirror: {name, percent}`` and the challenger's Model
    validate against the Seldon Core 2 v2.10 CRDs with nothing pruned; bad percents and a
    shadow equal to the champion are refused by name. Cannot prove: that Seldon's
    pipeline gateway mirrors traffic (no cluster here).
    """
    shadow = seldon.render_model(
        name=seldon.candidate_name("churn", "8"),
        namespace="seldon-mesh",
        storage_uri="s3://mlflow/1/models/m-def/artifacts",
        labels={"app": "churn"},
    )
    experiment = seldon.render_shadow_experiment(
        name=seldon.shadow_experiment_name("churn"),
        namespace="seldon-mesh",
        champion_model="churn",
        shadow_model=shadow["metadata"]["name"],
        labels={"app": "churn"},
    )
    assert_valid_against_crd(shadow, "mlops.seldon.io_models.yaml")
    assert_valid_against_crd(experiment, "mlops.seldon.io_experiments.yaml")
    k8s_validate(experiment["metadata"], "objectmeta-meta-v1.json")
    assert experiment["spec"]["mirror"] == {"name": "churn-v8", "percent": 100}
    assert experiment["spec"]["candidates"] == [{"name": "churn", "weight": 100}]
    assert experiment["metadata"]["name"] == "churn-shadow"
    for bad in (0, 101):
        with pytest.raises(ValueError, match="mirror_percent"):
            seldon.render_shadow_experiment(
                name="x", namespace="n", champion_model="a", shadow_model="b",
                mirror_percent=bad, labels={},
            )  # fmt: skip
    with pytest.raises(ValueError, match="must differ"):
        seldon.render_shadow_experiment(
            name="x", namespace="n", champion_model="a", shadow_model="a", labels={}
        )


def test_render_only_publishes_multi_document_yaml():
    """Without a cluster, deploy renders the objects in apply order as YAML.

    Proves: deploy_kserve/deploy_seldon with cluster=None apply nothing, report
    "rendered", and the manifest YAML round-trips to the same objects.

    Cannot prove the apply order is what a controller needs (it is what the code applies).
    """
    from components.deploy_model.canary import CanaryPolicy

    result = deploy_kserve(REQUEST, MODEL, None, CanaryPolicy())
    assert result.action == "rendered"
    assert [o["kind"] for o in result.manifests] == ["InferenceService"] * 2
    assert list(yaml.safe_load_all(result.manifests_yaml())) == result.manifests
    seldon_result = deploy_seldon(REQUEST, MODEL, None, CanaryPolicy())
    assert [o["kind"] for o in seldon_result.manifests] == ["Model", "Experiment", "Model"]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: require_remote("/home/me/mlruns/1/models/m/artifacts"), "not reachable"),
        (lambda: check_label_value("has space"), "label value"),
        (lambda: suite_labels("churn", "1", "x" * 64), "label value"),
        (lambda: seldon.candidate_name("Churn_Model", "1"), "object name"),
        (
            lambda: kserve.render_inference_service(
                name="churn", namespace="ns", storage_uri="s3://b/m", labels={},
                service_account="sa", canary_traffic_percent=101,
            ),
            "0-100",
        ),
        (lambda: DeployRequest("models:/churn/1", "docker"), "target must be one of"),
        (lambda: DeployRequest("models:/churn/1", "kserve", canary_percent=100), "1-99"),
    ],
)  # fmt: skip
def test_bad_inputs_are_refused_by_name(call, match):
    """Invalid names, labels, percents, targets and local storage paths are refused.

    Proves: each raises ValueError naming the rule, before anything is applied.

    Cannot prove every server-side validation rule is mirrored here.
    """
    with pytest.raises(ValueError, match=match):
        call()


def test_schema_checks_catch_typos_and_wrong_types():
    """The CRD check is not vacuous: a misspelt field and a wrong type are both caught.

    Proves: ``storageURI`` (typo) is reported as pruned and a string percent fails the
    schema, so the passing tests above mean something.

    Cannot prove the CRD schemas themselves are complete.
    """
    obj = kserve_objects(REQUEST, MODEL)["canary"]
    obj["spec"]["predictor"]["model"]["storageURI"] = obj["spec"]["predictor"]["model"].pop(
        "storageUri"
    )
    schema = crd_schema("serving.kserve.io_inferenceservices.yaml")
    assert pruned_fields(obj, schema) == [".spec.predictor.model.storageURI"]
    obj["spec"]["predictor"]["canaryTrafficPercent"] = "20"
    with pytest.raises(jsonschema.ValidationError, match="'20' is not of type 'integer'"):
        jsonschema.Draft7Validator(schema).validate(obj)


def test_artifact_proxy_uris_map_to_the_bucket():
    """MLflow artifact-proxy URIs are mapped to the bucket KServe/Seldon read.

    Proves: ``mlflow-artifacts:/1/models/m-x/artifacts`` (with or without a host) becomes
    ``s3://mlflow/artifacts/1/models/m-x/artifacts``; other URIs pass unchanged; a proxy
    URI without a known destination is refused naming the setting.

    Cannot prove the MLflow server was started with that destination.
    """
    dest = "s3://mlflow/artifacts/"
    expected = "s3://mlflow/artifacts/1/models/m-x/artifacts"
    assert cluster_storage_uri("mlflow-artifacts:/1/models/m-x/artifacts", dest) == expected
    assert cluster_storage_uri("mlflow-artifacts://mlflow:5000/1/models/m-x/artifacts", dest) == (
        expected
    )
    assert cluster_storage_uri("s3://other/m", dest) == "s3://other/m"
    with pytest.raises(ValueError, match="SUITE_MLFLOW_ARTIFACTS_DESTINATION"):
        cluster_storage_uri("mlflow-artifacts:/1/m")


def test_seldon_rollback_restores_the_previous_default_model():
    """A failed promotion re-renders the default Model exactly as it was before.

    Proves: from a live Model (server fields, status, previous artifact and labels), the
    restored object names the previous artifact and version label, keeps the server pin,
    validates against the Seldon CRD, and re-applying it over that live Model is a no-op.

    Cannot prove Seldon reloads the previous artifact in time (needs a cluster).
    """
    from components.deploy_model.core import restore_default_model
    from components.deploy_model.kube import apply_diff

    previous = ResolvedModel("churn", "6", "s3://mlflow/1/models/m-old/artifacts")
    live = seldon_objects(REQUEST, previous)["default"]
    live["metadata"].update({"uid": "u-1", "generation": 4, "resourceVersion": "99"})
    live["status"] = {"observedGeneration": 4, "replicas": 1, "availableReplicas": 1}
    restored = restore_default_model(REQUEST, live)
    assert restored["spec"]["storageUri"] == previous.storage_uri
    assert restored["metadata"]["labels"]["mlops.kfp-suite.io/model-version"] == "6"
    assert restored["spec"]["server"] == seldon.SUITE_SERVER
    assert_valid_against_crd(restored, "mlops.seldon.io_models.yaml")
    assert apply_diff(restored, live) == []
