"""KFP component: roll a registered model version out with a canary (thin wrapper over core)."""

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

    Returns:
        What happened: "promoted", "unchanged", "rendered" or "awaiting approval"; a
        rollback raises.
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
    )  # fmt: skip
    result = run(config)
    publish(result, metadata=[manifest], files={manifest: result.manifests_yaml()})
    return result.return_value()
