"""KFP component: roll a registered model version out with a canary (thin wrapper over core)."""

from kfp import dsl
from kfp.dsl import Artifact, Output

from components._images import image_for


@dsl.component(base_image=image_for("deploy_model"), install_kfp_package=False)
def deploy_model(
    model_uri: str,
    target: str,
    manifest: Output[Artifact],
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
            still holds (`components._governance.waiting_challenger`); the training
            pipeline's first step with `require_approval`. "" = deploy `model_uri`.

    Returns:
        What happened: "promoted", "unchanged", "rendered" or "awaiting approval"; for
        `waiting_challenger_of` without a promotion, why not ("approval not required",
        "no challenger waiting", "rejected", "stale", ...); a rollback raises.
    """
    from pathlib import Path

    from components._mlflow import mlflow_client
    from components._observability.steps import publish_deployment
    from components._version import suite_version
    from components.deploy_model import core
    from components.deploy_model.canary import CanaryPolicy
    from components.deploy_model.kube import cluster_from_environment

    def request_for(uri: str) -> core.DeployRequest:
        return core.DeployRequest(
            uri, target, served_name,
            namespace=core.setting(namespace, "SUITE_SERVING_NAMESPACE"),
            canary_percent=canary_percent,
            service_account=core.setting(service_account, "SUITE_SERVING_SERVICE_ACCOUNT"),
            storage_uri=storage_uri,
            runtime=core.setting("", "SUITE_SERVING_RUNTIME"),
            artifacts_destination=core.setting("", "SUITE_MLFLOW_ARTIFACTS_DESTINATION"),
            suite_version=suite_version(),
        )  # fmt: skip

    def nothing_deployed(action: str, **facts: str) -> str:
        Path(manifest.path).write_text("", encoding="utf-8")
        manifest.metadata.update({"action": action, **facts})
        return action

    if waiting_challenger_of and not require_approval:
        return nothing_deployed("approval not required")
    remote = target != "local" and not render_only
    client = mlflow_client(tracking_uri or None)
    options = {
        "cluster": cluster_from_environment() if remote else None,
        "policy": CanaryPolicy(ready_timeout_seconds, observe_seconds),
        "local_url": local_url,
        "local_repo": Path(local_repo),
        "prometheus_url": prometheus_url,
    }
    if waiting_challenger_of:
        waiting, result = core.deploy_waiting_challenger(
            client, waiting_challenger_of, request_for, **options
        )
        if result is None:
            return nothing_deployed(waiting.status, version=waiting.version or "")
    elif require_approval and not render_only:
        from components._governance import ApprovalRequired, require_approved
        from components._serving.models import resolve_model

        ref = resolve_model(client, model_uri)
        version = str(ref.version)
        try:
            require_approved(client, ref.name, version)
        except ApprovalRequired as waiting:
            print(f"[suite] deploy_model({target}): awaiting approval — {waiting}", flush=True)
            return nothing_deployed("awaiting approval", version=version)
        result = core.deploy(client, request_for(model_uri), require_approval=True, **options)
    else:
        result = core.deploy(client, request_for(model_uri), **options)
    Path(manifest.path).write_text(core.manifests_yaml(result), encoding="utf-8")
    manifest.metadata.update({"action": result.action, "version": result.version})
    print(f"[suite] deploy_model({target}): {result.action} — {result.reason}", flush=True)
    publish_deployment(
        result, canary_percent=canary_percent, target=target,
        gateway_url=pushgateway_url, pipeline_run=pipeline_run,
    )  # fmt: skip
    core.raise_if_rolled_back(result)
    return result.action
