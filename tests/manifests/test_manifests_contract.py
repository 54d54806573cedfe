"""Remote bases are pinned; RBAC is least privilege; manifests, pipelines.k8s and make agree.

Remote kustomizations (KFP, cert-manager, Knative, KServe, Seldon) cannot be built
here (no network to GitHub), so instead every remote reference must name an exact
release. Their local patches are checked as data. Nothing here talks to a cluster:
whether upstream still serves those URLs, or the installed controllers accept the
objects, is only proven by `make cluster-up` on a machine with Docker and kind.
"""

import base64
import dataclasses
import json
import os
import re
import subprocess
from pathlib import Path

import kfp
import yaml

from components.deploy_model.core import DeployRequest
from components.deploy_model.kserve import SUITE_SERVING_RUNTIME
from pipelines.config import ClusterDefaults
from pipelines.k8s import ENDPOINT_KEYS, ENDPOINTS_CONFIG_MAP, SECRET_KEYS
from pipelines.kfp_client import DEFAULT_SERVICE_ACCOUNT

REPO = Path(__file__).resolve().parents[2]
PLATFORM = REPO / "manifests" / "platform"
EXACT = r"v?\d+\.\d+\.\d+"
PINNED = [
    # git remote base: https://github.com/ORG/REPO//PATH?ref=X.Y.Z
    re.compile(rf"^https://github\.com/[\w.-]+/[\w.-]+//[\w./-]+\?ref={EXACT}$"),
    # release asset: https://github.com/ORG/REPO/releases/download/[knative-]vX.Y.Z/FILE
    re.compile(
        rf"^https://github\.com/[\w.-]+/[\w.-]+/releases/download/(knative-)?{EXACT}/[\w.-]+$"
    ),
    # raw file at a tag: https://raw.githubusercontent.com/ORG/REPO/vX.Y.Z/PATH
    re.compile(rf"^https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/{EXACT}/[\w./-]+$"),
]
SERVING_NS = "suite-serving"
PIPELINE_NS = "kubeflow"


def _kustomization(directory: Path) -> dict:
    return yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))


def test_remote_references_are_pinned_to_exact_releases(remote_kustomization):
    """Proves every remote resource names an exact version (no branch, no latest).

    Cannot prove the URL still resolves upstream (no network to GitHub here).
    """
    for resource in _kustomization(remote_kustomization)["resources"]:
        assert any(pattern.match(resource) for pattern in PINNED), (
            f"{resource} is not pinned to an exact release"
        )


def test_remote_kustomizations_only_patch_local_files(remote_kustomization):
    """Proves every patch of a remote kustomization is a committed local file that parses.

    Cannot prove the patch targets exist in the upstream files (needs the network).
    """
    for patch in _kustomization(remote_kustomization).get("patches") or []:
        path = remote_kustomization / patch["path"]
        assert path.is_file(), path
        (obj,) = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        assert {"apiVersion", "kind", "metadata"} <= set(obj)


def _versions(directory: Path) -> set[str]:
    found = set()
    for resource in _kustomization(directory)["resources"]:
        found.update(re.findall(rf"(?:ref=|download/(?:knative-)?|/)({EXACT})(?:/|$)", resource))
    return found


def test_pinned_versions_match_the_sdk_and_the_shared_crds():
    """Proves KFP backend = SDK minor, KServe = v0.20.0 and Seldon = v2.10.2 (tests/crds).

    Cannot prove API compatibility beyond what the versions promise.
    """
    sdk_minor = ".".join(kfp.__version__.split(".")[:2])
    for directory in (PLATFORM / "kfp", PLATFORM / "kfp" / "cluster-scoped"):
        (version,) = _versions(directory)
        assert version.startswith(sdk_minor + "."), (version, kfp.__version__)
    assert _versions(PLATFORM / "kserve") == {"v0.20.0"}
    assert _versions(PLATFORM / "kserve" / "cluster-resources") == {"v0.20.0"}
    assert _versions(PLATFORM / "seldon") == _versions(PLATFORM / "seldon" / "crds") == {"v2.10.2"}
    serving = _versions(PLATFORM / "knative") | _versions(PLATFORM / "knative" / "crds")
    assert {version.rsplit(".", 1)[0] for version in serving} == {"v1.21"}


def test_kserve_defaults_to_serverless_with_kourier():
    """Proves the KServe config patch selects Serverless (canary needs Knative) without Istio.

    Cannot prove KServe v0.20.0 reads every key the same way (needs the controller).
    """
    patch = yaml.safe_load((PLATFORM / "kserve" / "inferenceservice-config.yaml").read_text())
    assert json.loads(patch["data"]["deploy"]) == {"defaultDeploymentMode": "Serverless"}
    ingress = json.loads(patch["data"]["ingress"])
    assert ingress["disableIstioVirtualHost"] is True
    assert ingress["localGatewayService"] == "kourier-internal.kourier-system.svc.cluster.local"
    network = yaml.safe_load((PLATFORM / "knative" / "config-network.yaml").read_text())
    assert network["data"]["ingress-class"] == "kourier.ingress.networking.knative.dev"
    deployment = yaml.safe_load((PLATFORM / "knative" / "config-deployment.yaml").read_text())
    skipped = deployment["data"]["registries-skipping-tag-resolving"].split(",")
    assert "ghcr.io" in skipped  # kind-loaded suite images are in no registry


def _by_kind(objects, kind):
    return [obj for obj in objects if obj["kind"] == kind]


def test_runner_may_manage_models_only_in_the_serving_namespace(suite_objects):
    """Proves the serving Role is namespaced there and grants only isvc/models/experiments.

    Cannot prove the Kubernetes authorizer's answer (no cluster); this is the
    object the API server would evaluate.
    """
    roles = {
        (r["metadata"]["namespace"], r["metadata"]["name"]): r
        for r in _by_kind(suite_objects, "Role")
    }
    deployer = roles[(SERVING_NS, "suite-model-deployer")]
    verbs = ["get", "list", "watch", "create", "update", "patch", "delete"]
    assert deployer["rules"] == [
        {"apiGroups": ["serving.kserve.io"], "resources": ["inferenceservices"], "verbs": verbs},
        {"apiGroups": ["mlops.seldon.io"], "resources": ["models", "experiments"], "verbs": verbs},
    ]
    serving_roles = [key for key in roles if key[0] == SERVING_NS]
    assert serving_roles == [(SERVING_NS, "suite-model-deployer")]


def test_runner_role_in_its_own_namespace_is_the_execution_minimum(suite_objects):
    """Proves the runner's kubeflow Role is exactly what a KFP step needs, one Secret included.

    Argo's executor reports outputs (workflowtaskresults), KFP's driver/launcher read
    pods, the kfp-launcher ConfigMap and KFP's artifact-store Secret; nothing else.
    The suite's own Secrets reach steps as env vars (kubelet), so they need no RBAC.
    Cannot prove this minimum suffices on every KFP version (needs a cluster run).
    """
    (role,) = [
        r for r in _by_kind(suite_objects, "Role") if r["metadata"]["namespace"] == PIPELINE_NS
    ]
    assert role["metadata"]["name"] == DEFAULT_SERVICE_ACCOUNT
    assert role["rules"] == [
        {
            "apiGroups": ["argoproj.io"],
            "resources": ["workflowtaskresults"],
            "verbs": ["create", "patch"],
        },
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["kfp-launcher"],
            "verbs": ["get"],
        },
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["mlpipeline-minio-artifact"],
            "verbs": ["get"],
        },
    ]


def test_no_cluster_wide_rbac_and_bindings_target_the_runner(suite_objects):
    """Proves the suite grants nothing cluster-wide and binds its Roles only to the runner SA.

    Cannot prove the runs use this service account (pipelines.kfp_client passes it).
    """
    assert not _by_kind(suite_objects, "ClusterRole")
    assert not _by_kind(suite_objects, "ClusterRoleBinding")
    bindings = _by_kind(suite_objects, "RoleBinding")
    assert {b["metadata"]["namespace"] for b in bindings} == {PIPELINE_NS, SERVING_NS}
    for binding in bindings:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": DEFAULT_SERVICE_ACCOUNT, "namespace": PIPELINE_NS}
        ]
        assert binding["roleRef"]["kind"] == "Role"
    (account,) = _by_kind(suite_objects, "ServiceAccount")
    assert account["metadata"] == {
        **account["metadata"],
        "name": DEFAULT_SERVICE_ACCOUNT,
        "namespace": PIPELINE_NS,
    }


def test_endpoints_config_map_has_exactly_the_keys_pipelines_k8s_injects(suite_objects):
    """Proves pipeline pods find every ConfigMap key pipelines.k8s maps (optional: false).

    A missing key would stop every pod at CreateContainerConfigError.
    Cannot prove the values point at running services.
    """
    (config_map,) = [
        obj
        for obj in _by_kind(suite_objects, "ConfigMap")
        if obj["metadata"]["name"] == ENDPOINTS_CONFIG_MAP
    ]
    assert config_map["metadata"]["namespace"] == PIPELINE_NS
    assert set(config_map["data"]) == set(ENDPOINT_KEYS)
    assert config_map["data"]["SUITE_SERVING_NAMESPACE"] == SERVING_NS


def test_mlflow_proxies_artifacts_to_minio_and_accepts_its_service_name(suite_objects):
    """Proves MLflow serves artifacts itself, stores them in s3://mlflow and allows its DNS name.

    Cannot prove the server starts (needs the image and a cluster).
    """
    (deployment,) = [
        d for d in _by_kind(suite_objects, "Deployment") if d["metadata"]["name"] == "mlflow"
    ]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    args = container["args"]
    assert "--serve-artifacts" in args
    assert "--artifacts-destination=s3://mlflow/artifacts" in args
    assert "--allowed-hosts=mlflow*,localhost*,127.0.0.1*" in args
    (service,) = [
        s for s in _by_kind(suite_objects, "Service") if s["metadata"]["name"] == "mlflow"
    ]
    assert service["spec"]["ports"][0]["port"] == 5000


def test_bucket_job_creates_the_buckets_the_endpoints_name(suite_objects):
    """Proves the MinIO Job creates every bucket that Feast, MLflow and the data use.

    Cannot prove the Job succeeds (needs MinIO).
    """
    (job,) = _by_kind(suite_objects, "Job")
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    created = set(re.search(r"for bucket in ([\w\s-]+); do", script).group(1).split())
    data = _endpoints(suite_objects)
    used = {
        _bucket(data["FEAST_SOURCE_DIR"]),
        _bucket(data["FEAST_REGISTRY_PATH"]),
        _bucket(data["SUITE_MLFLOW_ARTIFACTS_DESTINATION"]),
        _bucket(ClusterDefaults().entity_source),
    }
    assert used <= created


def test_endpoints_agree_with_the_pipeline_defaults_and_deploy_model(suite_objects):
    """Proves the cluster matches what compiled pipelines and deploy_model assume.

    pipelines.config.ClusterDefaults bakes the MLflow URL and serving namespace into
    compiled pipelines; deploy_model defaults the runtime and service account names.
    Cannot prove the values are reachable (no cluster).
    """
    data = _endpoints(suite_objects)
    defaults = ClusterDefaults()
    assert data["MLFLOW_TRACKING_URI"] == defaults.tracking_uri
    assert data["SUITE_SERVING_NAMESPACE"] == defaults.serving_namespace == SERVING_NS
    assert data["SUITE_SERVING_RUNTIME"] == SUITE_SERVING_RUNTIME
    service_account = {f.name: f.default for f in dataclasses.fields(DeployRequest)}
    assert data["SUITE_SERVING_SERVICE_ACCOUNT"] == service_account["service_account"]
    assert data["FEAST_FS_YAML_FILE_PATH"] == "feature_store.cluster.yaml"
    assert (REPO / "feature_repo" / data["FEAST_FS_YAML_FILE_PATH"]).is_file()
    # The Dockerfile installs the suite at /app, where the pipelines look for the repo.
    assert defaults.feature_repo == "/app/feature_repo"
    assert "COPY --from=builder /app /app" in (REPO / "Dockerfile").read_text()


def _endpoints(objects) -> dict:
    (config_map,) = [
        o for o in _by_kind(objects, "ConfigMap") if o["metadata"]["name"] == ENDPOINTS_CONFIG_MAP
    ]
    return config_map["data"]


def _bucket(uri: str) -> str:
    return uri.split("/")[2]


def test_serving_runtime_runs_the_suite_runtime_class_with_metrics_on_8082(built):
    """Proves the ServingRuntime uses the suite image/class, mlflow + v2, and scrapes 8082.

    Cannot prove KServe starts it or Prometheus scrapes it (needs a cluster).
    """
    objects = built(REPO / "manifests" / "serving")
    (runtime,) = _by_kind(objects, "ServingRuntime")
    assert runtime["metadata"] == {
        **runtime["metadata"],
        "name": SUITE_SERVING_RUNTIME,
        "namespace": SERVING_NS,
    }
    spec = runtime["spec"]
    assert spec["annotations"]["prometheus.kserve.io/port"] == "8082"
    assert spec["protocolVersions"] == ["v2"]
    assert {fmt["name"] for fmt in spec["supportedModelFormats"]} == {"mlflow"}
    (container,) = spec["containers"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["MLSERVER_MODEL_IMPLEMENTATION"] == "components._serving.runtime.SuiteMLflowRuntime"
    assert env["MLSERVER_METRICS_PORT"] == "8082"
    assert re.fullmatch(
        r"ghcr\.io/kfp-mlops-suite/suite-serve:\d+\.\d+\.\d+\S*", container["image"]
    )
    (account,) = _by_kind(objects, "ServiceAccount")
    assert account["metadata"]["name"] == "kserve-s3"
    assert account["secrets"] == [{"name": "suite-s3"}]


# ----------------------------------------------------------------- mk/cluster.mk


def _make(makefile, *args, env=None):
    result = subprocess.run(
        ["make", "--no-print-directory", "-f", str(makefile), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_make_images_builds_every_group_target_with_the_suite_version(makefile):
    """Proves `make images` runs one `docker build --target <group>` per group, tagged.

    Cannot prove the builds succeed: a dry run (`make -n`), no Docker here.
    """
    out = _make(
        makefile, "-n", "images", "SUITE_VERSION=1.2.3-abc", "SUITE_IMAGE_REGISTRY=reg.example/x"
    )
    assert "for group in data train serve" in out
    assert "--target $group --build-arg SUITE_VERSION=1.2.3-abc" in out
    assert "-t reg.example/x/suite-$group:1.2.3-abc" in out


def test_cluster_up_installs_in_dependency_order_and_waits(makefile):
    """Proves the install order: cert-manager, KFP, Knative, KServe, suite, runtime, monitoring.

    And that each stage waits for readiness before the next. Dry run only.
    Cannot prove each wait is long enough on a slow laptop.
    """
    out = _make(makefile, "-n", "cluster-up", "SUITE_VERSION=1.2.3")
    steps = [
        "kind create cluster",
        "cluster-overlays",
        "-k manifests/platform/namespaces",
        "-k manifests/platform/cert-manager",
        "-n cert-manager wait",
        "-k manifests/platform/kfp/cluster-scoped",
        "-k manifests/platform/kfp\n",
        "-k manifests/platform/knative/crds",
        "-k dist/cluster/knative",
        "-n knative-serving wait",
        "-k manifests/platform/kserve/crds",
        "-k manifests/platform/kserve\n",
        "-n kserve wait --for=condition=Available deployment --all",
        "-k manifests/platform/kserve/cluster-resources",
        "-n kubeflow wait",
        "secrets",
        "-k manifests/suite",
        "-n suite wait",
        "job/minio-buckets",
        "-k dist/cluster/serving\n",
        "-k dist/cluster/serving-logger",
        "-k manifests/observability/operator",
        "-n default wait --for=condition=Available deployment/prometheus-operator",
        "secret generic suite-alerts",
        "-k manifests/observability\n",
    ]
    positions = [out.find(step) for step in steps]
    assert -1 not in positions, [s for s, p in zip(steps, positions, strict=True) if p == -1]
    assert positions == sorted(positions)


def test_overlays_pin_the_suite_images_to_version_and_registry(makefile, tmp_path, built):
    """Proves the generated overlays build and set every suite image to registry/version.

    Runs the real make target and the real kustomize build.
    Cannot prove the images were loaded into kind (`make kind-load`).
    """
    _make(
        makefile,
        "cluster-overlays",
        f"CLUSTER_BUILD={tmp_path}",
        "SUITE_VERSION=9.9.9-test",
        "SUITE_IMAGE_REGISTRY=localhost:5001/suite",
    )
    expected = {
        ("serving", "ServingRuntime"): "localhost:5001/suite/suite-serve:9.9.9-test",
        ("serving-seldon", "Server"): "localhost:5001/suite/suite-serve:9.9.9-test",
        ("serving-logger", "Deployment"): "localhost:5001/suite/suite-serve:9.9.9-test",
        ("bootstrap", "Job"): "localhost:5001/suite/suite-data:9.9.9-test",
    }
    for (base, kind), image in expected.items():
        (obj,) = _by_kind(built(tmp_path / base), kind)
        spec = obj["spec"]
        pod = {"ServingRuntime": spec, "Server": spec.get("podSpec")}.get(kind)
        pod = pod or spec["template"]["spec"]
        assert pod["containers"][0]["image"] == image, base


def test_bootstrap_job_uses_the_step_environment_and_no_api_token(built):
    """Proves the data bootstrap Job gets the same endpoints/Secrets as steps, no API token.

    It writes to FEAST_SOURCE_DIR and applies /app/feature_repo. Cannot prove the
    script succeeds (needs MinIO and Redis: `make cluster-data` on a cluster).
    """
    (job,) = _by_kind(built(REPO / "manifests" / "bootstrap"), "Job")
    assert job["metadata"]["namespace"] == PIPELINE_NS
    pod = job["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    (container,) = pod["containers"]
    sources = [next(iter(ref.values()))["name"] for ref in container["envFrom"]]
    assert sources == [ENDPOINTS_CONFIG_MAP, *SECRET_KEYS]
    script = container["args"][0]
    assert 'os.environ["FEAST_SOURCE_DIR"]' in script
    assert 'apply_repo("/app/feature_repo"' in script


def test_make_secrets_creates_the_secrets_pipelines_k8s_expects(makefile, tmp_path, kubectl_bin):
    """Proves `make secrets` writes a random .env and creates every Secret/key steps mount.

    kubectl is replaced by a small script that runs the real kubectl for the offline
    parts (`create --dry-run=client`, `annotate --local`) and records what would be
    applied. Also proves no credential appears on a kubectl command line. Cannot
    prove the apply against a cluster.
    """
    real = kubectl_bin
    recorder = tmp_path / "kubectl"
    applied = tmp_path / "applied.yaml"
    argv_log = tmp_path / "argv.log"
    recorder.write_text(
        "#!/bin/bash\n"
        'args=(); skip=0; for a in "$@"; do if [ $skip = 1 ]; then skip=0; continue; fi; '
        'if [ "$a" = --context ]; then skip=1; continue; fi; args+=("$a"); done\n'
        f'echo "${{args[*]}}" >> {argv_log}\n'
        'case " ${args[*]} " in\n'
        f'  *" --dry-run=client "*|*" annotate --local "*) exec {real} "${{args[@]}}" ;;\n'
        f"  *) cat >> {applied}; echo --- >> {applied} ;;\n"
        "esac\n",
        encoding="utf-8",
    )
    recorder.chmod(0o755)
    env_file = tmp_path / ".env"
    _make(makefile, "secrets", f"KUBECTL={recorder}", f"ENV_FILE={env_file}", "SELDON=1")

    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert set(values) == {
        "MINIO_ROOT_USER",
        "MINIO_ROOT_PASSWORD",
        "REDIS_PASSWORD",
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "POSTGRES_DB",
    }
    assert len(values["MINIO_ROOT_PASSWORD"]) >= 24
    assert len(values["POSTGRES_PASSWORD"]) >= 24
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    argv = argv_log.read_text()
    assert values["MINIO_ROOT_PASSWORD"] not in argv
    assert values["REDIS_PASSWORD"] not in argv
    assert values["POSTGRES_PASSWORD"] not in argv

    objects = [doc for doc in yaml.safe_load_all(applied.read_text()) if doc]
    secrets = {
        (o["metadata"]["namespace"], o["metadata"]["name"]): o
        for o in objects
        if o["kind"] == "Secret"
    }
    for name, keys in SECRET_KEYS.items():
        assert set(secrets[(PIPELINE_NS, name)]["data"]) == set(keys), name
    assert set(secrets[("suite", "minio-root")]["data"]) == {
        "MINIO_ROOT_USER",
        "MINIO_ROOT_PASSWORD",
    }
    assert set(secrets[("suite", "suite-s3")]["data"]) == set(SECRET_KEYS["suite-s3"])
    assert set(secrets[("suite", "suite-redis")]["data"]) == {"REDIS_PASSWORD"}
    assert set(secrets[("suite", "suite-postgres")]["data"]) == {
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "POSTGRES_DB",
    }
    connection = base64.b64decode(
        secrets[(PIPELINE_NS, "suite-redis")]["data"]["FEAST_REDIS_CONNECTION"]
    )
    assert connection.decode() == (
        f"redis.suite.svc.cluster.local:6379,password={values['REDIS_PASSWORD']}"
    )
    serving = secrets[(SERVING_NS, "suite-s3")]
    assert serving["metadata"]["annotations"]["serving.kserve.io/s3-endpoint"] == (
        "minio.suite.svc.cluster.local:9000"
    )
    assert (SERVING_NS, "suite-seldon-rclone") in secrets
    namespaces = {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"}
    assert namespaces == {PIPELINE_NS, "suite", SERVING_NS}
