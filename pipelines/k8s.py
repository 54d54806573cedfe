"""Kubernetes settings for pipeline steps, applied by the pipeline factories.

One call per task, `apply_cluster_settings(task, kind="train")`, gives the step:

- its endpoints (MLflow, object store, Redis, serving namespace) as env vars from
  the `suite-endpoints` ConfigMap that `manifests/` installs next to KFP;
- the credentials it needs, and only those, as env vars from Secrets that
  `make secrets` creates (never stored in the repo);
- CPU / memory requests and limits for its kind;
- retries with exponential backoff when it talks to a service that can blip;
- caching off: every step reads or moves state its inputs do not capture (the feature
  store's contents, the registry's aliases, the cluster), so a cached result could be stale;
- `imagePullPolicy: IfNotPresent` so images loaded into kind with `kind load` are used.

The settings land in the compiled YAML (`platforms.kubernetes` and the task's
`retryPolicy` / resources / `cachingOptions`). `kfp.local` ignores the Kubernetes
platform config and the resources, so the same compiled pipeline still runs locally,
where the env vars come from the caller's environment instead. The service account
is not a task setting in kfp-kubernetes: pass it per run (`pipelines.kfp_client`).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from kfp.dsl import PipelineTask

StepKind = Literal["data", "train", "service", "deploy"]

ENDPOINTS_CONFIG_MAP = "suite-endpoints"
"""ConfigMap (pipeline namespace) with the non-secret endpoints; see manifests/suite/."""

ENDPOINT_KEYS: tuple[str, ...] = (
    "MLFLOW_TRACKING_URI",
    "MLFLOW_S3_ENDPOINT_URL",
    "AWS_ENDPOINT_URL",
    "AWS_DEFAULT_REGION",
    "FEAST_FS_YAML_FILE_PATH",
    "FEAST_REGISTRY_PATH",
    "FEAST_SOURCE_DIR",
    "FEAST_S3_ENDPOINT_URL",
    "SUITE_MLFLOW_ARTIFACTS_DESTINATION",
    "SUITE_SERVING_NAMESPACE",
    "SUITE_SERVING_RUNTIME",
    "SUITE_SERVING_SERVICE_ACCOUNT",
    "SUITE_PUSHGATEWAY_URL",
)
"""Keys of ENDPOINTS_CONFIG_MAP, each exposed as an env var of the same name."""

S3_SECRET = "suite-s3"
REDIS_SECRET = "suite-redis"
SECRET_KEYS: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {
        S3_SECRET: ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
        # FEAST_REDIS_CONNECTION = "<host>:6379,password=<pw>" (feature_store.cluster.yaml).
        REDIS_SECRET: ("FEAST_REDIS_CONNECTION",),
    }
)
"""Secret name -> keys; each key becomes an env var of the same name. Created by `make secrets`."""

ALERTS_SECRET = "suite-alerts"
ALERTS_KEYS: tuple[str, ...] = ("SUITE_ALERT_WEBHOOK_URL",)
"""Optional Secret with the direct-notification webhook URL (`make cluster-observability`
creates it from ALERT_WEBHOOK_URL); every step gets it, optional, so a cluster without
it runs with notifications off. The URL never appears in a compiled pipeline."""

POD_LABEL = "kfp-mlops-suite/step-kind"


@dataclass(frozen=True)
class StepProfile:
    """What one kind of step gets on the cluster.

    Attributes:
        cpu_request: CPU request, Kubernetes quantity (e.g. ``"500m"``).
        cpu_limit: CPU limit.
        memory_request: Memory request (e.g. ``"1Gi"``).
        memory_limit: Memory limit.
        secrets: Names of the Secrets (keys in SECRET_KEYS) mounted as env vars.
        retries: Retry count on failure; 0 for steps whose failure is a verdict
            (a failed validation must stop the run, not be retried for minutes).
    """

    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str
    secrets: tuple[str, ...]
    retries: int


PROFILES: MappingProxyType[str, StepProfile] = MappingProxyType(
    {
        # validate_data, get_features, materialize_features: object store + Redis.
        # A failure is a verdict: no retries.
        "data": StepProfile("500m", "2", "1Gi", "4Gi", (S3_SECRET, REDIS_SECRET), 0),
        # train_model: CPU-heavy. One retry covers an MLflow/object-store blip
        # without re-running a real failure often.
        "train": StepProfile("1", "2", "2Gi", "6Gi", (S3_SECRET,), 1),
        # evaluate/register/validate_serving/check_drift: read and move registry
        # state (aliases): retries.
        "service": StepProfile("500m", "1", "1Gi", "3Gi", (S3_SECRET,), 3),
        # deploy_model: talks to the Kubernetes API only, changes cluster state.
        "deploy": StepProfile("100m", "500m", "256Mi", "1Gi", (), 3),
    }
)

RETRY_BACKOFF = "30s"
RETRY_BACKOFF_FACTOR = 2.0
RETRY_BACKOFF_MAX = "10m"


def apply_cluster_settings(
    task: PipelineTask,
    *,
    kind: StepKind,
    retries: int | None = None,
) -> PipelineTask:
    """Applies the Kubernetes settings of a step kind to a pipeline task.

    Args:
        task: The task returned by calling a component inside a pipeline.
        kind: ``"data"``, ``"train"``, ``"service"`` or ``"deploy"`` (see PROFILES).
        retries: Overrides the kind's retry count.

    Returns:
        The same task, for chaining.

    Raises:
        ValueError: If ``kind`` is unknown or ``retries`` is negative.
    """
    from kfp import kubernetes

    if kind not in PROFILES:
        raise ValueError(f"unknown step kind {kind!r}; expected one of {sorted(PROFILES)}")
    profile = PROFILES[kind]
    retry_count = profile.retries if retries is None else retries
    if retry_count < 0:
        raise ValueError(f"retries must be >= 0, got {retry_count}")

    task.set_cpu_request(profile.cpu_request).set_cpu_limit(profile.cpu_limit)
    task.set_memory_request(profile.memory_request).set_memory_limit(profile.memory_limit)
    task.set_caching_options(False)
    if retry_count:
        task.set_retry(
            retry_count,
            backoff_duration=RETRY_BACKOFF,
            backoff_factor=RETRY_BACKOFF_FACTOR,
            backoff_max_duration=RETRY_BACKOFF_MAX,
        )
    kubernetes.use_config_map_as_env(
        task,
        config_map_name=ENDPOINTS_CONFIG_MAP,
        config_map_key_to_env={key: key for key in ENDPOINT_KEYS},
    )
    for secret in profile.secrets:
        kubernetes.use_secret_as_env(
            task,
            secret_name=secret,
            secret_key_to_env={key: key for key in SECRET_KEYS[secret]},
        )
    kubernetes.use_secret_as_env(
        task,
        secret_name=ALERTS_SECRET,
        secret_key_to_env={key: key for key in ALERTS_KEYS},
        optional=True,
    )
    kubernetes.set_image_pull_policy(task, "IfNotPresent")
    kubernetes.add_pod_label(task, POD_LABEL, kind)
    return task
