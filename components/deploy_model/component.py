"""KFP component: roll a registered model version out with a canary or in shadow (thin wrapper)."""

from kfp import dsl
from kfp.dsl import Artifact, Output

from components._images import image_for


@dsl.component(base_image=image_for("deploy_model"), install_kfp_package=False)
def deploy_model(
    model_uri: str,
    target: str,
    served_name: str,
    tracking_uri: str = "",
    namespace: str = "",
    canary_percent: int = 10,
    service_account: str = "",
    storage_uri: str = "",
    render_only: bool = False,
    observe_seconds: float = 120.0,
    ready_timeout_seconds: float = 600.0,
    prometheus_url: str = "",
    local_url: str = "http://127.0.0.1:8080",
    local_repo: str = "data/serving",
    pushgateway_url: str = "",
    pipeline_run: str = "",
    require_approval: bool = False,
    waiting_challenger_of: str = "",
    rollout: str = "canary",
    mirror_percent: int = 100,
    *,
    manifest: Output[Artifact],
) -> str:
    """Deploys to local MLServer, KServe or Seldon Core 2; moves `champion` only after promotion.

    Args:
        model_uri: models:/<name>/<version> or models:/<name>@<alias>.
        target: "local", "kserve" or "seldon".
        manifest: The rendered objects (multi-document YAML; empty for local).
        tracking_uri: MLflow tracking/registry URI; "" = MLFLOW_TRACKING_URI or the default.
        served_name: Name clients call (V2 model / object name).
        namespace: Kubernetes namespace; "" = SUITE_SERVING_NAMESPACE or suite-serving.
        canary_percent: Traffic share of the new version while it is watched.
        service_account: KServe predictor service account with the S3 credentials; "" =
            SUITE_SERVING_SERVICE_ACCOUNT or kserve-s3.
        storage_uri: Artifact URI the cluster fetches; "" = the registry's download URI
            (mlflow-artifacts:/ mapped under SUITE_MLFLOW_ARTIFACTS_DESTINATION).
        render_only: kserve/seldon: write the manifest, apply nothing, leave the registry alone.
        observe_seconds: How long the canary must serve healthily before promotion.
        ready_timeout_seconds: Longest wait for the new version to become ready.
        prometheus_url: Prometheus for the KServe canary error ratio ("" = conditions only).
        local_url: The local MLServer (`make serve`).
        local_repo: Its model repository folder.
        pushgateway_url: Prometheus Pushgateway for this step's gauges; "" =
            ``$SUITE_PUSHGATEWAY_URL`` (the suite-endpoints ConfigMap); both empty = off.
            A push that keeps failing is logged and never changes the verdict.
        pipeline_run: KFP run name for the ``pipeline_run`` label.
        require_approval: Deploy and promote only a version a person approved; an
            unapproved one keeps ``challenger`` and waits (`python -m pipelines approve`).
        waiting_challenger_of: Instead of `model_uri`: the registered model whose
            waiting ``challenger`` is deployed if it is approved and its gate verdict
            still holds; the training pipeline's first step with `require_approval`
            ("" = deploy `model_uri`).
        rollout: "canary" (try the version on a share of traffic, then promote it: moves
            ``champion``; removes a shadow left by an earlier shadow rollout) or "shadow"
            (serve it beside the serving champion, scored on the champion's requests and
            only logged; moves no alias, tags the version ``suite.shadow.serving``):
            local through the suite runtime, Seldon through an Experiment mirror, KServe
            nothing applied (the monitoring pipeline scores the logged inputs with it).
        mirror_percent: Seldon shadow: share of requests (1-100) mirrored to the challenger.

    Returns:
        What happened: "promoted", "unchanged", "shadowing", "rendered" or
        "awaiting approval"; for `waiting_challenger_of` without a rollout, why not
        ("approval not required", "no challenger waiting", "rejected", "stale", ...);
        a rollback raises.

    Raises:
        ValueError: ``target`` is not local, kserve or seldon; ``rollout`` is not canary
            or shadow; ``canary_percent`` outside 1-99; ``mirror_percent`` outside 1-100;
            ``model_uri`` does not name a registered version; an artifact location
            a cluster cannot fetch (a local path, or an MLflow proxy URI without
            ``SUITE_MLFLOW_ARTIFACTS_DESTINATION``); an invalid object name or label value.
        DeployError: The new version was rolled back (failed canary, failed full
            rollout, failed shadow or not ready in time); the message says why and what
            still serves, and ``champion`` was not moved. Also a shadow rollout while no
            champion serves (a shadow needs a champion to sit beside).
        ApprovalRequired: The approval was withdrawn (rejected) during the rollout;
            ``champion`` was not moved.
        StaleGate: The champion moved during the rollout of a waiting challenger;
            ``champion`` was not moved.
        RegistryLockTimeout: The registry lock (for moving ``champion``) stayed held by
            other runs past the wait timeout.
        ApiException: The Kubernetes API refused a read or an apply (RBAC, webhook).
    """
    from components._contract import publish
    from components.deploy_model.core import DeployConfig, run

    config = DeployConfig(
        model_uri, target, served_name, tracking_uri=tracking_uri, namespace=namespace,
        canary_percent=canary_percent, service_account=service_account,
        storage_uri=storage_uri, render_only=render_only, observe_seconds=observe_seconds,
        ready_timeout_seconds=ready_timeout_seconds, prometheus_url=prometheus_url,
        local_url=local_url, local_repo=local_repo, require_approval=require_approval,
        pushgateway_url=pushgateway_url, pipeline_run=pipeline_run,
        waiting_challenger_of=waiting_challenger_of, rollout=rollout,
        mirror_percent=mirror_percent,
    )  # fmt: skip
    result = run(config)
    publish(result, metadata=[manifest], files={manifest: result.manifests_yaml()})
    return result.return_value()
