"""deploy_model: roll a registered model version out to local MLServer, KServe or Seldon Core 2.

Every target follows the same contract: the new version is tried beside the
current one (a local candidate model, a KServe canary revision, a Seldon
Experiment), then promoted or rolled back. The registry's ``champion`` alias
moves only after a confirmed promotion; on rollback it stays, the version is
tagged ``suite.rolled_back`` and the step fails (:func:`raise_if_rolled_back`).
The rendered objects are returned so the component can publish them.

``rollout="shadow"`` puts the version beside the serving champion instead: it is
scored on the champion's requests and only logged, no alias moves, and the version
is tagged ``suite.shadow.serving`` (:data:`TAG_SHADOW_SERVING`). Locally the
champion's model-settings name it (the suite runtime scores it); on Seldon Core 2 a
shadow Model and an Experiment ``mirror``; KServe has no mirror, so nothing is
applied and the monitoring pipeline scores the logged inputs with the challenger
(``compare_shadow``). A later canary rollout removes the shadow (and a new shadow
replaces it); the removed version's shadow tags are deleted, so the registry names
only what really serves in shadow.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from components.deploy_model import kserve, seldon
from components.deploy_model.canary import CanaryPolicy, Decision, Phase, State, Verdict, decide
from components.deploy_model.kube import apply_diff, live_model_version, suite_labels

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient

    from components.deploy_model.kube import Cluster

TARGETS = ("local", "kserve", "seldon")
ROLLOUTS = ("canary", "shadow")
"""``canary``: try the version on a share of traffic, then promote it (moves ``champion``);
``shadow``: score it beside the champion, log its answers, move nothing."""
TAG_SHADOW_SERVING = "suite.shadow.serving"
"""Version tag of a challenger put in shadow: where (``local``, ``seldon``, or
:data:`KSERVE_OFFLINE`)."""
TAG_SHADOW_SERVED_NAME = "suite.shadow.served_name"
"""Version tag of a challenger put in shadow: the served name it sits beside."""
KSERVE_OFFLINE = "kserve-offline"
"""`TAG_SHADOW_SERVING` on KServe: no mirror, the logged inputs are scored offline."""
# Cluster settings come from the suite-endpoints ConfigMap (manifests/suite/endpoints.yaml).
ENV_DEFAULTS = {
    "SUITE_SERVING_NAMESPACE": "suite-serving",
    "SUITE_SERVING_RUNTIME": kserve.SUITE_SERVING_RUNTIME,
    "SUITE_SERVING_SERVICE_ACCOUNT": "kserve-s3",
    "SUITE_MLFLOW_ARTIFACTS_DESTINATION": "",
}
_REMOTE_SCHEMES = ("s3://", "gs://", "pvc://", "https://", "http://", "azure://")


class DeployError(RuntimeError):
    """A rollout that was rolled back or could not be completed."""


@dataclass(frozen=True)
class DeployRequest:
    """What to deploy where.

    Attributes:
        model_uri: ``models:/<name>/<version>`` or ``models:/<name>@<alias>``.
        target: One of :data:`TARGETS`.
        served_name: Name clients use (V2 model name, object name); "" = the
            registered model's name from `model_uri`.
        namespace: Kubernetes namespace (kserve, seldon).
        canary_percent: Traffic share of the new version during the canary.
        service_account: KServe predictor service account (S3 credentials).
        storage_uri: Override of the artifact URI the cluster fetches; "" =
            the registry's download URI.
        runtime: KServe ServingRuntime name.
        seldon_server: Seldon Server to pin the Model to ("" = any mlflow server);
            the suite's Server runs the suite runtime.
        artifacts_destination: Where an MLflow artifact proxy stores
            ``mlflow-artifacts:/`` paths (e.g. ``s3://mlflow/artifacts``).
        suite_version: Suite version for labels.
        rollout: One of :data:`ROLLOUTS`: ``canary`` promotes the version, ``shadow``
            serves it beside the champion without moving an alias.
        mirror_percent: Seldon shadow: share of the champion's requests mirrored to
            the shadow Model (1-100).
    """

    model_uri: str
    target: str
    served_name: str = ""
    namespace: str = ENV_DEFAULTS["SUITE_SERVING_NAMESPACE"]
    canary_percent: int = 10
    service_account: str = "kserve-s3"
    storage_uri: str = ""
    runtime: str = kserve.SUITE_SERVING_RUNTIME
    seldon_server: str = seldon.SUITE_SERVER
    artifacts_destination: str = ""
    suite_version: str = "0.0.0"
    rollout: str = "canary"
    mirror_percent: int = 100

    def __post_init__(self) -> None:
        if not self.served_name:
            from components._mlflow import registered_name

            object.__setattr__(self, "served_name", registered_name(self.model_uri))
        if self.target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {self.target!r}")
        if not 0 < self.canary_percent < 100:
            raise ValueError(f"canary_percent must be 1-99, got {self.canary_percent}")
        if self.rollout not in ROLLOUTS:
            raise ValueError(f"rollout must be one of {ROLLOUTS}, got {self.rollout!r}")
        if not 0 < self.mirror_percent <= 100:
            raise ValueError(f"mirror_percent must be 1-100, got {self.mirror_percent}")

    @property
    def shadow(self) -> bool:
        """Whether this request puts the version in shadow (see :data:`ROLLOUTS`)."""
        return self.rollout == "shadow"


@dataclass
class DeployResult:
    """What a deployment did.

    Attributes:
        action: "promoted", "unchanged", "rolled_back", "shadowing" (serving in
            shadow beside the champion) or "rendered" (no cluster).
        model_name: Registered model name.
        version: The version deployed.
        previous_version: What served before (None on a first deployment); for a
            shadow, the champion it sits beside.
        reason: Why, in words.
        manifests: Rendered objects, in the order they would be applied.
        shadow_removed: The version whose shadow this rollout removed (a canary clears
            the shadow, a new shadow replaces it), whose `TAG_SHADOW_SERVING` tags
            `deploy` then deletes; None when none was removed.

    Implements `components._contract.ComponentResult`.
    """

    action: str
    model_name: str
    version: str
    previous_version: str | None
    reason: str
    manifests: list[dict[str, Any]] = field(default_factory=list)
    shadow_removed: str | None = None

    def metrics(self) -> dict[str, float]:
        """Returns ``promoted`` (0/1) and the version deployed (when it is a number)."""
        metrics = {"promoted": float(self.action == "promoted")}
        if str(self.version).isdigit():
            metrics["version"] = float(self.version)
        return metrics

    def metadata(self) -> dict[str, Any]:
        """Returns the manifest artifact's metadata: action and version."""
        return {"action": self.action, "version": self.version}

    def report(self) -> dict[str, Any]:
        """Returns what happened and why, with the rendered objects."""
        return dataclasses.asdict(self)

    def manifests_yaml(self) -> str:
        """Returns the rendered objects as one multi-document YAML ("" when none)."""
        import yaml

        return yaml.safe_dump_all(self.manifests, sort_keys=False) if self.manifests else ""

    def return_value(self) -> str:
        """Returns the action; a rollback raises (see `raise_if_rolled_back`)."""
        raise_if_rolled_back(self)
        return self.action


@dataclass(frozen=True)
class ResolvedModel:
    """A registry model version and the URI the cluster fetches it from."""

    name: str
    version: str
    storage_uri: str


def setting(value: str, env: str) -> str:
    """Returns ``value``, else the environment variable ``env``, else its suite default."""
    return value or os.environ.get(env) or ENV_DEFAULTS[env]


def cluster_storage_uri(artifact_uri: str, artifacts_destination: str = "") -> str:
    """Maps an MLflow artifact-proxy URI to the bucket the cluster reads.

    An MLflow server run with ``--serve-artifacts --artifacts-destination s3://b/p``
    hands out ``mlflow-artifacts:/<path>``; KServe and Seldon fetch ``s3://b/p/<path>``.
    Other URIs are returned unchanged.

    Raises:
        ValueError: For a proxy URI when the destination is unknown.
    """
    parsed = urlparse(artifact_uri)
    if parsed.scheme != "mlflow-artifacts":
        return artifact_uri
    if not artifacts_destination:
        raise ValueError(
            f"{artifact_uri!r} is served by MLflow's artifact proxy; set "
            "SUITE_MLFLOW_ARTIFACTS_DESTINATION (e.g. s3://mlflow/artifacts) or pass storage_uri"
        )
    return f"{artifacts_destination.rstrip('/')}/{parsed.path.lstrip('/')}"


def resolve_registered(
    client: MlflowClient, model_uri: str, override: str = "", artifacts_destination: str = ""
) -> ResolvedModel:
    """Resolves a registry URI to name, version and the storage URI a cluster fetches.

    Raises:
        ValueError: If the URI does not name a registered model version.
    """
    from components._serving.models import resolve_model

    ref = resolve_model(client, model_uri)
    if ref.name is None or ref.version is None:
        raise ValueError(
            f"{model_uri!r} does not name a registered model version; use "
            "models:/<name>/<version> or models:/<name>@<alias> so the registry can be updated"
        )
    storage = override or cluster_storage_uri(ref.artifact_uri, artifacts_destination)
    return ResolvedModel(ref.name, ref.version, storage)


def require_remote(storage_uri: str) -> str:
    """Returns ``storage_uri`` if a cluster can fetch it.

    Raises:
        ValueError: For a local path (e.g. a laptop's ``mlruns``).
    """
    if not storage_uri.startswith(_REMOTE_SCHEMES):
        raise ValueError(
            f"artifact location {storage_uri!r} is not reachable from a cluster; run MLflow "
            "with an S3/MinIO artifact root or pass storage_uri"
        )
    return storage_uri


def watch(
    read: Callable[[], State],
    policy: CanaryPolicy,
    error_ratio: Callable[[], float | None] | None = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Decision:
    """Polls ``read`` until :func:`decide` promotes or rolls back (bounded by the policy).

    The error signal is read only while the canary serves. A canary that
    drops back to pending starts its observation window again.
    """
    started = clock()
    serving_since: float | None = None
    while True:
        state = read()
        now = clock()
        if state.phase is Phase.SERVING:
            serving_since = now if serving_since is None else serving_since
        else:
            serving_since = None
        ratio = error_ratio() if error_ratio and state.phase is Phase.SERVING else None
        decision = decide(
            state,
            elapsed_s=now - started,
            serving_s=0.0 if serving_since is None else now - serving_since,
            error_ratio=ratio,
            policy=policy,
        )
        if decision.verdict is not Verdict.WAIT:
            return decision
        sleep(policy.poll_s)


def _full_rollout(policy: CanaryPolicy) -> CanaryPolicy:
    """The same timeouts, no observation window: promote as soon as it serves."""
    return CanaryPolicy(policy.ready_timeout_s, 0.0, policy.max_error_ratio, policy.poll_s)


def require_champion_beside(request: DeployRequest, serving: str | None, version: str) -> str:
    """Returns the champion version a shadow of ``version`` sits beside.

    Raises:
        DeployError: Nothing serves under the served name, or it serves ``version``
            itself (a shadow is scored beside a different champion).
    """
    if serving is None:
        raise DeployError(
            f"{request.served_name} serves no champion on {request.target}: a shadow needs a "
            "champion to sit beside; deploy one with rollout='canary' first"
        )
    if str(serving) == str(version):
        raise DeployError(
            f"{request.served_name} already serves version {version} as champion: a shadow "
            "needs a champion to sit beside, not itself"
        )
    return str(serving)


def kserve_objects(request: DeployRequest, model: ResolvedModel) -> dict[str, dict[str, Any]]:
    """Renders the InferenceService variants: ``full``, ``canary`` and ``rollback``."""
    common = {
        "name": request.served_name,
        "namespace": request.namespace,
        "storage_uri": require_remote(model.storage_uri),
        "labels": suite_labels(model.name, model.version, request.suite_version),
        "service_account": request.service_account,
        "runtime": request.runtime,
    }
    return {
        "full": kserve.render_inference_service(**common),
        "canary": kserve.render_inference_service(
            **common, canary_traffic_percent=request.canary_percent
        ),
        "rollback": kserve.render_inference_service(**common, canary_traffic_percent=0),
    }


def deploy_kserve(
    request: DeployRequest,
    model: ResolvedModel,
    cluster: Cluster | None,
    policy: CanaryPolicy,
    error_query_template: str = kserve.DEFAULT_ERROR_QUERY,
    prometheus_url: str = "",
) -> DeployResult:
    """Rolls ``model`` out as a KServe canary; renders only when ``cluster`` is None.

    A shadow request applies nothing (`kserve_shadow`).
    """
    if request.shadow:
        return kserve_shadow(request, model, cluster)
    objects = kserve_objects(request, model)
    result = DeployResult("rendered", model.name, model.version, None, "rendered only")
    if cluster is None:
        result.manifests = [objects["canary"], objects["full"]]
        return result

    def read() -> dict[str, Any]:
        live = cluster.get(kserve.API_VERSION, kserve.KIND, request.served_name, request.namespace)
        return live or {}

    live = cluster.get(kserve.API_VERSION, kserve.KIND, request.served_name, request.namespace)
    result.previous_version = live_model_version(live)
    if live is None:
        result.manifests = [objects["full"]]
        cluster.apply(objects["full"])
        decision = watch(lambda: kserve.rollout_state(read()), _full_rollout(policy))
        return _finish(result, decision, first=True)
    if not apply_diff(objects["full"], live, absent=(kserve.CANARY_PATH,)):
        result.manifests = [objects["full"]]
        return _unchanged(result, lambda: kserve.rollout_state(read()), policy)

    result.manifests = [objects["canary"]]
    cluster.apply(objects["canary"])

    def errors() -> float | None:
        from components.deploy_model.canary import prometheus_error_ratio

        revision = kserve.predictor_status(read()).get("latestReadyRevision") or ""
        query = kserve.error_query(request.namespace, revision, error_query_template)
        return prometheus_error_ratio(prometheus_url, query)

    decision = watch(
        lambda: kserve.canary_state(read(), request.canary_percent),
        policy,
        errors if prometheus_url else None,
    )
    if decision.verdict is Verdict.PROMOTE:
        result.manifests.append(objects["full"])
        cluster.apply(objects["full"])
        promoted = watch(lambda: kserve.rollout_state(read()), _full_rollout(policy))
        if promoted.verdict is Verdict.PROMOTE:
            return _finish(result, promoted, first=False, canary=decision)
        decision = Decision(Verdict.ROLLBACK, f"full rollout failed: {promoted.reason}")
    result.manifests.append(objects["rollback"])
    cluster.apply(objects["rollback"])
    return _finish(result, decision, first=False)


def kserve_shadow(
    request: DeployRequest, model: ResolvedModel, cluster: Cluster | None
) -> DeployResult:
    """A KServe shadow: KServe has no mirror, so nothing is applied.

    The champion's InferenceService logs every request (its logger); the monitoring
    pipeline scores those logged inputs with the challenger (``compare_shadow``).

    Raises:
        DeployError: No champion InferenceService serves (or it serves this version).
    """
    result = DeployResult(
        "rendered", model.name, model.version, None, "KServe has no mirror: nothing to render"
    )
    if cluster is None:
        return result
    live = cluster.get(kserve.API_VERSION, kserve.KIND, request.served_name, request.namespace)
    result.previous_version = require_champion_beside(
        request, live_model_version(live), model.version
    )
    result.action = "shadowing"
    result.reason = (
        f"KServe has no mirror, nothing applied: {request.served_name} keeps serving version "
        f"{result.previous_version}; the monitoring pipeline scores its logged inputs with "
        f"version {model.version} (compare_shadow)"
    )
    return result


def seldon_objects(request: DeployRequest, model: ResolvedModel) -> dict[str, dict[str, Any]]:
    """Renders the Seldon objects.

    ``default`` Model, ``candidate`` Model and ``experiment`` (the canary split);
    ``shadow`` Model (``<served>-shadow``, pinned like the candidate) and
    ``shadow_experiment`` (the champion answers, ``mirror_percent`` % mirrored to it).
    """
    labels = suite_labels(model.name, model.version, request.suite_version)
    common = {
        "namespace": request.namespace,
        "storage_uri": require_remote(model.storage_uri),
        "labels": labels,
        "server": request.seldon_server or None,
    }
    candidate = seldon.candidate_name(request.served_name, model.version)
    shadow = seldon.shadow_model_name(request.served_name)
    placed = {"namespace": request.namespace, "labels": labels}
    return {
        "default": seldon.render_model(name=request.served_name, **common),
        "candidate": seldon.render_model(name=candidate, **common),
        "experiment": seldon.render_experiment(
            name=seldon.experiment_name(request.served_name),
            default_model=request.served_name,
            candidate_model=candidate,
            candidate_percent=request.canary_percent,
            **placed,
        ),
        "shadow": seldon.render_model(name=shadow, **common),
        "shadow_experiment": seldon.render_shadow_experiment(
            name=seldon.shadow_experiment_name(request.served_name),
            champion_model=request.served_name,
            shadow_model=shadow,
            mirror_percent=request.mirror_percent,
            **placed,
        ),
    }


def deploy_seldon(
    request: DeployRequest,
    model: ResolvedModel,
    cluster: Cluster | None,
    policy: CanaryPolicy,
) -> DeployResult:
    """Rolls ``model`` out through a Seldon Experiment; renders only when ``cluster`` is None.

    A canary first removes a shadow left by an earlier shadow rollout (`clear_seldon_shadow`);
    a shadow request goes to `seldon_shadow`.
    """
    objects = seldon_objects(request, model)
    result = DeployResult("rendered", model.name, model.version, None, "rendered only")
    if cluster is None:
        result.manifests = (
            [objects["shadow"], objects["shadow_experiment"]]
            if request.shadow
            else [objects["candidate"], objects["experiment"], objects["default"]]
        )
        return result

    def read(obj: dict[str, Any]) -> dict[str, Any]:
        return _live(cluster, obj)

    live = read(objects["default"]) or None
    result.previous_version = live_model_version(live)
    model_ready = _full_rollout(policy)
    if request.shadow:
        return seldon_shadow(request, objects, cluster, model_ready, result)
    result.shadow_removed = clear_seldon_shadow(cluster, objects)
    if live is None:
        result.manifests = [objects["default"]]
        cluster.apply(objects["default"])
        decision = watch(
            lambda: seldon.object_state(read(objects["default"]), "ModelReady"), model_ready
        )
        return _finish(result, decision, first=True)
    if not apply_diff(objects["default"], live):
        result.manifests = [objects["default"]]
        return _unchanged(
            result, lambda: seldon.object_state(read(objects["default"]), "ModelReady"), policy
        )

    result.manifests = [objects["candidate"], objects["experiment"]]
    cluster.apply(objects["candidate"])
    decision = watch(
        lambda: seldon.object_state(read(objects["candidate"]), "ModelReady"), model_ready
    )
    if decision.verdict is Verdict.PROMOTE:
        cluster.apply(objects["experiment"])
        decision = watch(
            lambda: seldon.object_state(read(objects["experiment"]), "ExperimentReady"), policy
        )
    if decision.verdict is Verdict.PROMOTE:
        result.manifests.append(objects["default"])
        cluster.apply(objects["default"])
        promoted = watch(
            lambda: seldon.object_state(read(objects["default"]), "ModelReady"), model_ready
        )
        if promoted.verdict is Verdict.PROMOTE:
            _delete(cluster, objects["experiment"])
            _delete(cluster, objects["candidate"])
            return _finish(result, promoted, first=False, canary=decision)
        restored = restore_default_model(request, live)
        result.manifests.append(restored)
        cluster.apply(restored)
        decision = Decision(Verdict.ROLLBACK, f"default Model update failed: {promoted.reason}")
    _delete(cluster, objects["experiment"])
    _delete(cluster, objects["candidate"])
    return _finish(result, decision, first=False)


def seldon_shadow(
    request: DeployRequest,
    objects: dict[str, dict[str, Any]],
    cluster: Cluster,
    policy: CanaryPolicy,
    result: DeployResult,
) -> DeployResult:
    """Applies the shadow Model, then the mirroring Experiment; deletes both if either fails.

    Args:
        request: The shadow request.
        objects: `seldon_objects` of the challenger.
        cluster: Kubernetes access.
        policy: Readiness timeouts (no observation window: a shadow answers no client).
        result: The result so far, ``previous_version`` = the live default Model's version.

    Raises:
        DeployError: No default Model serves (or it serves this version).
    """
    require_champion_beside(request, result.previous_version, result.version)
    shadow, experiment = objects["shadow"], objects["shadow_experiment"]
    replaced = live_model_version(_live(cluster, shadow) or None)  # an earlier shadow
    result.manifests = [shadow, experiment]
    cluster.apply(shadow)
    decision = watch(lambda: seldon.object_state(_live(cluster, shadow), "ModelReady"), policy)
    if decision.verdict is Verdict.PROMOTE:
        cluster.apply(experiment)
        decision = watch(
            lambda: seldon.object_state(_live(cluster, experiment), "ExperimentReady"), policy
        )
    if decision.verdict is Verdict.PROMOTE:
        result.action = "shadowing"
        result.reason = (
            f"Experiment {experiment['metadata']['name']} mirrors {request.mirror_percent}% of "
            f"{request.served_name}'s requests to Model {shadow['metadata']['name']} (version "
            f"{result.version}); version {result.previous_version} still answers"
        )
        result.shadow_removed = replaced if replaced != result.version else None
        return result
    _delete(cluster, experiment)  # the Experiment first: it must never mirror to a deleted Model
    _delete(cluster, shadow)
    result.shadow_removed = replaced
    return _finish(result, Decision(decision.verdict, f"shadow: {decision.reason}"), first=False)


def clear_seldon_shadow(cluster: Cluster, objects: dict[str, dict[str, Any]]) -> str | None:
    """Deletes a live shadow Experiment, then the shadow Model (never the reverse order).

    An Experiment must not mirror to a deleted Model; objects that are not live are left
    alone (no call at all).

    Returns:
        The version label of the shadow Model deleted, or None if there was none.
    """
    removed = None
    for obj in (objects["shadow_experiment"], objects["shadow"]):
        live = _live(cluster, obj)
        if live:
            _delete(cluster, obj)
            removed = live_model_version(live) if obj is objects["shadow"] else removed
    return removed


def _live(cluster: Cluster, obj: dict[str, Any]) -> dict[str, Any]:
    """Returns the live version of a rendered object ({} when absent)."""
    meta = obj["metadata"]
    return cluster.get(obj["apiVersion"], obj["kind"], meta["name"], meta["namespace"]) or {}


def _unchanged(
    result: DeployResult, read: Callable[[], State], policy: CanaryPolicy
) -> DeployResult:
    """The spec already names this version: report "unchanged" only if it really serves.

    A matching spec that is not serving (e.g. left by an earlier failed rollout) is
    watched like a first rollout, so the registry never calls it champion untested.
    """
    if read().phase is Phase.SERVING:
        result.action = "unchanged"
        result.reason = f"version {result.version} already serves"
        return result
    return _finish(result, watch(read, _full_rollout(policy)), first=False)


def restore_default_model(request: DeployRequest, live: dict[str, Any]) -> dict[str, Any]:
    """Re-renders the default Model as it was before this rollout (artifact and labels)."""
    meta = live.get("metadata") or {}
    spec = live.get("spec") or {}
    return seldon.render_model(
        name=request.served_name,
        namespace=request.namespace,
        storage_uri=spec["storageUri"],
        labels=meta.get("labels") or {},
        replicas=spec.get("replicas", 1),
        memory=spec.get("memory"),
        server=spec.get("server"),
    )


def _delete(cluster: Cluster, obj: dict[str, Any]) -> None:
    meta = obj["metadata"]
    cluster.delete(obj["apiVersion"], obj["kind"], meta["name"], meta["namespace"])


def _finish(
    result: DeployResult, decision: Decision, *, first: bool, canary: Decision | None = None
) -> DeployResult:
    if decision.verdict is Verdict.PROMOTE:
        result.action = "promoted"
        result.reason = decision.reason if canary is None else f"{canary.reason}; {decision.reason}"
    else:
        result.action = "rolled_back"
        result.reason = ("first rollout failed: " if first else "") + decision.reason
    return result


def deploy(
    client: MlflowClient,
    request: DeployRequest,
    *,
    cluster: Cluster | None = None,
    policy: CanaryPolicy | None = None,
    local_url: str = "http://127.0.0.1:8080",
    local_repo: Path | None = None,
    smoke_frame: pd.DataFrame | None = None,
    prometheus_url: str = "",
    require_approval: bool = False,
    gated_against: str | None = None,
) -> DeployResult:
    """Deploys ``request.model_uri`` to ``request.target`` and keeps the registry truthful.

    Args:
        client: MLflow client (registry and artifacts).
        request: What and where.
        cluster: Kubernetes access for kserve/seldon; None renders without applying.
        policy: Canary timeouts and thresholds.
        local_url: Base URL of the local MLServer (target local).
        local_repo: Its model repository folder (target local).
        smoke_frame: Local smoke-test rows (None: the model's input example).
        prometheus_url: Prometheus base URL for the KServe canary error signal ("" = none).
        require_approval: Move ``champion`` only to an approved version, re-checked under
            the registry lock after the rollout (a rejection recorded during the rollout
            wins: the step fails with `ApprovalRequired`).
        gated_against: Move ``champion`` only while it is still this version (see
            `components._aliases.promote`); None = no such check.

    Returns:
        The result; ``champion`` has moved iff ``action == "promoted"`` (or "unchanged");
        a shadow ("shadowing") moves no alias and tags the version `TAG_SHADOW_SERVING`.

    Raises:
        DeployError: A shadow request while no champion serves (nothing is applied).
    """
    from components import _aliases
    from components.deploy_model.local import LocalTarget, deploy_local, served_version

    policy = policy or CanaryPolicy()
    remote = request.target != "local"
    model = resolve_registered(
        client,
        request.model_uri,
        request.storage_uri if remote else "",
        request.artifacts_destination if remote else "",
    )
    if request.target == "local":
        if local_repo is None:
            raise ValueError("target local needs local_repo (the MLServer model repository)")
        target = LocalTarget(local_url, Path(local_repo), request.served_name)
        if request.shadow:
            require_champion_beside(request, served_version(target), model.version)
        outcome = deploy_local(
            client, request.model_uri, model.version, target,
            smoke_frame=smoke_frame, shadow=request.shadow,
        )  # fmt: skip
        result = DeployResult(
            outcome.action, model.name, model.version, outcome.previous_version, outcome.reason,
            shadow_removed=outcome.shadow_removed,
        )  # fmt: skip
    elif request.target == "kserve":
        result = deploy_kserve(request, model, cluster, policy, prometheus_url=prometheus_url)
    else:
        result = deploy_seldon(request, model, cluster, policy)

    if result.action in ("promoted", "unchanged"):
        _aliases.promote_champion(
            client, model.name, model.version,
            require_approval=require_approval, gated_against=gated_against,
        )  # fmt: skip
    elif result.action == "rolled_back":
        _aliases.mark_rolled_back(client, model.name, model.version, result.reason)
    elif result.action == "shadowing":
        where = KSERVE_OFFLINE if request.target == "kserve" else request.target
        client.set_model_version_tag(model.name, model.version, TAG_SHADOW_SERVING, where)
        client.set_model_version_tag(
            model.name, model.version, TAG_SHADOW_SERVED_NAME, request.served_name
        )
    if request.target == "kserve" and result.action in ("promoted", "shadowing"):
        # A KServe shadow is only these tags (no object says what it is): a promotion ends
        # it, a new shadow replaces it. Local and Seldon read theirs off the live objects.
        keep = str(model.version) if result.action == "shadowing" else None
        clear_shadow_tags(client, model.name, request.served_name, KSERVE_OFFLINE, keep=keep)
    elif result.shadow_removed:
        where = request.target
        clear_shadow_tags(
            client, model.name, request.served_name, where, only=result.shadow_removed
        )
    return result


def clear_shadow_tags(
    client: MlflowClient,
    model_name: str,
    served_name: str,
    where: str,
    *,
    keep: str | None = None,
    only: str | None = None,
) -> list[str]:
    """Deletes the shadow tags of versions that no longer serve in shadow beside `served_name`.

    Args:
        client: MLflow client.
        model_name: Registered model name.
        served_name: The served name the shadows sat beside (`TAG_SHADOW_SERVED_NAME`).
        where: The `TAG_SHADOW_SERVING` value of the shadows meant (one target's).
        keep: A version whose tags stay (the shadow just put in place).
        only: Clear this version only (a shadow removed by a failed rollout).

    Returns:
        The versions whose tags were deleted.
    """
    cleared = []
    for found in client.search_model_versions(f"name = '{model_name}'"):
        version, tags = str(found.version), found.tags or {}
        if version == keep or (only is not None and version != str(only)):
            continue
        if tags.get(TAG_SHADOW_SERVING) != where:
            continue
        if tags.get(TAG_SHADOW_SERVED_NAME, served_name) != served_name:
            continue
        for tag in (TAG_SHADOW_SERVING, TAG_SHADOW_SERVED_NAME):
            if tag in tags:
                client.delete_model_version_tag(model_name, version, tag)
        cleared.append(version)
    return cleared


def raise_if_rolled_back(result: DeployResult) -> None:
    """Fails the step after a rollback, saying why and what still serves."""
    if result.action == "rolled_back":
        raise DeployError(
            f"{result.model_name} version {result.version} was rolled back: {result.reason}. "
            f"Still serving: version {result.previous_version or 'none'}; the champion alias "
            "was not moved."
        )


@dataclass(frozen=True)
class DeployConfig:
    """What `run` deploys where, how it watches the canary and what it reports to.

    Empty strings take the ``SUITE_*`` environment (the suite-endpoints ConfigMap),
    then the suite defaults (`ENV_DEFAULTS`).

    Attributes:
        model_uri: ``models:/<name>/<version>`` or ``models:/<name>@<alias>``.
        target: One of :data:`TARGETS`.
        served_name: Name clients call (V2 model / object name).
        tracking_uri: MLflow tracking/registry URI ("" = the suite default).
        namespace: Kubernetes namespace ("" = ``SUITE_SERVING_NAMESPACE``).
        canary_percent: Traffic share of the new version while it is watched.
        service_account: KServe predictor service account ("" =
            ``SUITE_SERVING_SERVICE_ACCOUNT``).
        storage_uri: Artifact URI the cluster fetches ("" = the registry's).
        render_only: kserve/seldon: render, apply nothing, leave the registry alone.
        observe_seconds: How long the canary must serve healthily before promotion.
        ready_timeout_seconds: Longest wait for the new version to become ready.
        prometheus_url: Prometheus for the KServe canary error ratio ("" = conditions only).
        local_url: The local MLServer (target local).
        local_repo: Its model repository folder.
        require_approval: Deploy only a version a person approved.
        waiting_challenger_of: Instead of `model_uri`: the registered model whose
            waiting ``challenger`` is deployed if it is approved and its gate verdict
            still holds (`components._governance.waiting_challenger`); "" = deploy
            `model_uri`.
        pushgateway_url: Pushgateway for the step's gauges ("" = environment or off).
        pipeline_run: KFP run name for the ``pipeline_run`` label.
        rollout: ``canary`` (promote) or ``shadow`` (serve beside the champion, move
            no alias); see :data:`ROLLOUTS`.
        mirror_percent: Seldon shadow: share of requests mirrored to the challenger.
    """

    model_uri: str
    target: str
    served_name: str = ""
    tracking_uri: str = ""
    namespace: str = ""
    canary_percent: int = 10
    service_account: str = ""
    storage_uri: str = ""
    render_only: bool = False
    observe_seconds: float = 120.0
    ready_timeout_seconds: float = 600.0
    prometheus_url: str = ""
    local_url: str = "http://127.0.0.1:8080"
    local_repo: str = "data/serving"
    require_approval: bool = False
    pushgateway_url: str = ""
    pipeline_run: str = ""
    waiting_challenger_of: str = ""
    rollout: str = DeployRequest.rollout
    mirror_percent: int = DeployRequest.mirror_percent


def _awaiting_approval(client: MlflowClient, model_uri: str) -> DeployResult | None:
    """Returns an "awaiting approval" result when the version is not approved, else None."""
    from components._governance import ApprovalRequired, require_approved
    from components._serving.models import resolve_model

    ref = resolve_model(client, model_uri)
    try:
        require_approved(client, ref.name, str(ref.version))
    except ApprovalRequired as waiting:
        return DeployResult("awaiting approval", ref.name, str(ref.version), None, str(waiting))
    return None


def run(
    config: DeployConfig,
    *,
    client: MlflowClient | None = None,
    cluster: Cluster | None = None,
) -> DeployResult:
    """The component's work: resolve settings, check approval, deploy, push gauges.

    With `waiting_challenger_of` (the training pipeline's first step, with approval
    required), the version is the previous run's waiting ``challenger``, rolled out iff
    `components._governance.waiting_challenger` says ready: approved, blessed, never
    rolled back, and the champion the gate compared it with still serves (checked again
    under the registry lock with the approval); otherwise nothing is deployed and the
    result's action says why ("no challenger waiting", "awaiting approval", "rejected",
    "stale", ...).

    Args:
        config: What, where and how.
        client: MLflow client; None = one for ``config.tracking_uri``.
        cluster: Kubernetes access for kserve/seldon; None = from the environment
            (in-cluster or kubeconfig), never built for local or render_only.

    Returns:
        The result; its ``return_value()`` raises after a rollback.

    Raises:
        ValueError: An unknown target or rollout, a canary share outside 1-99, a mirror
            share outside 1-100, or a URI that names no registered version.
        DeployError: A shadow rollout while no champion serves.
    """
    from components._governance import waiting_challenger
    from components._mlflow import mlflow_client
    from components._observability.steps import publish_deployment
    from components._version import suite_version
    from components.deploy_model.kube import cluster_from_environment

    tag = f"[suite] deploy_model({config.target})"
    gated_against = None
    model_uri = config.model_uri
    if config.waiting_challenger_of:
        name = config.waiting_challenger_of
        if not config.require_approval:
            return DeployResult("approval not required", name, "", None, "approval is off")
        client = client or mlflow_client(config.tracking_uri or None)
        waiting = waiting_challenger(client, name)
        print(f"{tag}: next-run promotion: {waiting.status}: {waiting.reason}", flush=True)
        if not waiting.ready:
            return DeployResult(waiting.status, name, waiting.version or "", None, waiting.reason)
        model_uri, gated_against = f"models:/{name}/{waiting.version}", waiting.gated_against
    request = DeployRequest(
        model_uri, config.target, config.served_name,
        namespace=setting(config.namespace, "SUITE_SERVING_NAMESPACE"),
        canary_percent=config.canary_percent,
        service_account=setting(config.service_account, "SUITE_SERVING_SERVICE_ACCOUNT"),
        storage_uri=config.storage_uri,
        runtime=setting("", "SUITE_SERVING_RUNTIME"),
        artifacts_destination=setting("", "SUITE_MLFLOW_ARTIFACTS_DESTINATION"),
        suite_version=suite_version(),
        rollout=config.rollout, mirror_percent=config.mirror_percent,
    )  # fmt: skip
    client = client or mlflow_client(config.tracking_uri or None)
    if config.require_approval and not config.render_only:
        waiting = _awaiting_approval(client, model_uri)
        if waiting is not None:
            print(f"{tag}: awaiting approval — {waiting.reason}", flush=True)
            return waiting
    remote = config.target != "local" and not config.render_only
    result = deploy(
        client,
        request,
        cluster=(cluster or cluster_from_environment()) if remote else None,
        policy=CanaryPolicy(config.ready_timeout_seconds, config.observe_seconds),
        local_url=config.local_url,
        local_repo=Path(config.local_repo),
        prometheus_url=config.prometheus_url,
        require_approval=config.require_approval and not config.render_only,
        gated_against=gated_against,
    )
    print(f"{tag}: {result.action} — {result.reason}", flush=True)
    publish_deployment(
        result, canary_percent=config.canary_percent, target=config.target,
        gateway_url=config.pushgateway_url, pipeline_run=config.pipeline_run,
    )  # fmt: skip
    return result
