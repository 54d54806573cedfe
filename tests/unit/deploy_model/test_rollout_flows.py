"""The KServe and Seldon rollout flows (`deploy_kserve`, `deploy_seldon`) on an in-memory cluster.

The cluster (tests/_helpers/memory_cluster.py) honours the three calls the real
`components.deploy_model.kube.Cluster` makes, with server-side-apply merge semantics, and
plays the controllers' status updates one reconcile step per read. Each scenario starts
from version 6 rolled out by the flow itself (a first rollout), then rolls out version 7:
promote, rollback on a failed canary, rollback when the full rollout fails, rollback of a
canary that never gets ready, and the same version again; then the shadow rollouts
(Seldon: shadow Model + mirroring Experiment, removed before a later canary, Experiment
first; KServe: nothing applied), with the registry for tags and aliases. Asserted: the sequence of
objects applied and deleted, the final cluster state (spec and the traffic the controller
reports), and that every applied object validates against its CRD schema (tests/crds).

What this cannot prove: that KServe's and Seldon's real controllers take these steps with
these messages, or the timing of a real rollout (see the stand-in's docstring).
"""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from components._mlflow import (
    ALIAS_CHALLENGER,
    ALIAS_CHAMPION,
    ALIAS_PREVIOUS,
    TAG_ROLLED_BACK,
    alias_version,
    mlflow_client,
)
from components._observability.steps import deployment_samples
from components.deploy_model import kserve, seldon
from components.deploy_model.canary import CanaryPolicy
from components.deploy_model.core import (
    KSERVE_OFFLINE,
    TAG_SHADOW_SERVED_NAME,
    TAG_SHADOW_SERVING,
    DeployConfig,
    DeployError,
    DeployRequest,
    ResolvedModel,
    deploy,
    deploy_kserve,
    deploy_seldon,
    kserve_objects,
    run,
    seldon_objects,
)
from components.deploy_model.kube import Cluster
from tests._helpers.crd import assert_valid_object
from tests._helpers.demo_model import log_demo_model
from tests._helpers.memory_cluster import Behaviour, MemoryCluster

NAMESPACE = "suite-serving"
V6 = ResolvedModel("churn", "6", "s3://mlflow/1/models/m-six/artifacts")
V7 = ResolvedModel("churn", "7", "s3://mlflow/1/models/m-seven/artifacts")
# Fast polls; the canary must serve for a few of them before promotion.
POLICY = CanaryPolicy(ready_timeout_s=10.0, observe_s=0.05, max_error_ratio=0.05, poll_s=0.005)


def request(target: str, version: str) -> DeployRequest:
    return DeployRequest(
        f"models:/churn/{version}",
        target,
        namespace=NAMESPACE,
        canary_percent=10,
        suite_version="0.1.0-abc",
    )


def isvc(cluster: MemoryCluster) -> dict:
    return cluster.peek(kserve.API_VERSION, kserve.KIND, "churn", NAMESPACE)


def settle(cluster: MemoryCluster, kind: str, name: str, reads: int = 5) -> dict | None:
    """Reads an object a few times so its controller finishes reconciling."""
    obj = None
    for _ in range(reads):
        obj = cluster.get(seldon.API_VERSION if kind != kserve.KIND else kserve.API_VERSION,
                          kind, name, NAMESPACE)  # fmt: skip
    return obj


def traffic(obj: dict) -> dict[str, int]:
    predictor = kserve.predictor_status(obj)
    return {t["revisionName"]: t["percent"] for t in predictor.get("traffic") or [] if t["percent"]}


def applied(cluster: MemoryCluster) -> list[tuple]:
    """The calls as (verb, kind, name, storageUri, canaryTrafficPercent or None)."""
    out = []
    for call in cluster.calls:
        if call.verb == "delete":
            out.append(("delete", call.kind, call.name, call.found))
            continue
        spec = call.body["spec"]
        if call.kind == kserve.KIND:
            predictor = spec["predictor"]
            detail = (predictor["model"]["storageUri"], predictor.get("canaryTrafficPercent"))
        elif call.kind == seldon.MODEL_KIND:
            detail = (spec["storageUri"],)
        else:
            detail = tuple((c["name"], c["weight"]) for c in spec["candidates"])
            if "mirror" in spec:
                detail += (("mirror", spec["mirror"]["name"], spec["mirror"]["percent"]),)
        out.append(("apply", call.kind, call.name, *detail))
    return out


def assert_every_applied_object_is_valid(cluster: MemoryCluster) -> None:
    for call in cluster.calls:
        if call.verb == "apply":
            assert_valid_object(call.body)
    for obj in cluster.objects.values():  # the live objects, status included
        assert_valid_object(obj)


def assert_only_the_default_model_on(cluster: MemoryCluster, model: ResolvedModel) -> dict:
    """Asserts the default Model churn is the only object left and fetches ``model``."""
    assert [key[1:] for key in cluster.objects] == [("Model", NAMESPACE, "churn")]
    live = settle(cluster, seldon.MODEL_KIND, "churn")
    assert live["spec"]["storageUri"] == model.storage_uri
    assert seldon.object_state(live, "ModelReady").phase.value == "serving"
    return live


def kserve_cluster_with_v6(behaviours: dict[str, Behaviour] | None = None) -> MemoryCluster:
    cluster = MemoryCluster(behaviours)
    first = deploy_kserve(request("kserve", "6"), V6, cluster, POLICY)
    assert (first.action, first.previous_version) == ("promoted", None), first.reason
    assert applied(cluster) == [("apply", "InferenceService", "churn", V6.storage_uri, None)]
    assert traffic(isvc(cluster)) == {"churn-predictor-00001": 100}
    cluster.calls.clear()
    return cluster


def seldon_cluster_with_v6(behaviours: dict[str, Behaviour] | None = None) -> MemoryCluster:
    cluster = MemoryCluster(behaviours)
    first = deploy_seldon(request("seldon", "6"), V6, cluster, POLICY)
    assert (first.action, first.previous_version) == ("promoted", None), first.reason
    assert applied(cluster) == [("apply", "Model", "churn", V6.storage_uri)]
    cluster.calls.clear()
    return cluster


def test_stand_in_has_the_real_clusters_call_signatures():
    """The stand-in's get/apply/delete take and name the same arguments as `kube.Cluster`.

    Proves: a flow that works on `MemoryCluster` calls the real class the same way (a
    changed signature on either side fails here).

    Cannot prove the real class's calls reach an API server (no cluster here).
    """
    for verb in ("get", "apply", "delete"):
        real = inspect.signature(getattr(Cluster, verb))
        stand_in = inspect.signature(getattr(MemoryCluster, verb))
        assert list(real.parameters) == list(stand_in.parameters), verb


def test_stand_in_applies_like_server_side_apply():
    """Re-applying changes nothing; a field applied before and not sent again is removed.

    Proves the merge the flows rely on: the canary variant then the full variant leaves no
    ``canaryTrafficPercent`` and one more generation; the same apply twice keeps
    generation and resourceVersion; fields the manager never sent (status) are kept.

    Cannot prove a real API server's managed-fields bookkeeping in every corner (shared
    ownership between managers is not modelled: the suite is the only manager).
    """
    objects = kserve_objects(request("kserve", "7"), V7)
    cluster = MemoryCluster()
    cluster.apply(objects["canary"])
    cluster.objects[next(iter(cluster.objects))]["status"] = {"observedGeneration": 1}
    again = cluster.apply(objects["canary"])
    assert (again["metadata"]["generation"], again["metadata"]["resourceVersion"]) == (1, "1")
    full = cluster.apply(objects["full"])
    assert "canaryTrafficPercent" not in full["spec"]["predictor"]
    assert full["metadata"]["generation"] == 2
    assert full["status"] == {"observedGeneration": 1}
    assert full["spec"] == objects["full"]["spec"]


def test_kserve_promotes_a_healthy_canary():
    """A healthy canary is promoted: canary applied, then the full rollout, nothing else.

    Proves: the flow applies the canary (v7 at 10 %), waits for the controller to route
    10 % to the new revision, then applies the full object; the controller ends with the
    new revision at 100 % as the rolled-out one, no canary field left, and the result
    names v6 as the previous version.

    Cannot prove KServe's real traffic split or its timing.
    """
    cluster = kserve_cluster_with_v6()
    result = deploy_kserve(request("kserve", "7"), V7, cluster, POLICY)
    assert (result.action, result.previous_version) == ("promoted", "6"), result.reason
    assert applied(cluster) == [
        ("apply", "InferenceService", "churn", V7.storage_uri, 10),
        ("apply", "InferenceService", "churn", V7.storage_uri, None),
    ]
    live = isvc(cluster)
    assert "canaryTrafficPercent" not in live["spec"]["predictor"]
    assert traffic(live) == {"churn-predictor-00002": 100}
    predictor = kserve.predictor_status(live)
    assert predictor["latestRolledoutRevision"] == "churn-predictor-00002"
    assert predictor["previousRolledoutRevision"] == "churn-predictor-00001"
    assert "served" in result.reason
    assert "serves 100%" in result.reason
    assert_every_applied_object_is_valid(cluster)


def test_kserve_rolls_back_a_canary_that_fails_to_load():
    """A canary whose model fails to load is rolled back to 0 % and v6 keeps all traffic.

    Proves: canary applied, the controller's RevisionFailed / lastFailureInfo read as a
    failure, then the rollback variant (canaryTrafficPercent 0) applied and no full
    rollout; the old revision ends with 100 % and the reason carries the controller's
    message.

    Cannot prove KServe reports a failed load with exactly these conditions.
    """
    cluster = kserve_cluster_with_v6({V7.storage_uri: Behaviour.FAILS_TO_LOAD})
    result = deploy_kserve(request("kserve", "7"), V7, cluster, POLICY)
    assert result.action == "rolled_back"
    assert "canary failed" in result.reason
    assert "No module named 'xgboost'" in result.reason
    assert applied(cluster) == [
        ("apply", "InferenceService", "churn", V7.storage_uri, 10),
        ("apply", "InferenceService", "churn", V7.storage_uri, 0),
    ]
    assert traffic(settle(cluster, kserve.KIND, "churn")) == {"churn-predictor-00001": 100}
    assert_every_applied_object_is_valid(cluster)


def test_kserve_rolls_back_when_the_full_rollout_fails():
    """A canary that serves its share but fails at 100 % is rolled back after the promotion.

    Proves: canary, full rollout, then the rollback variant, in that order; the reason
    says the full rollout failed with the controller's message; traffic ends 100 % on the
    old revision, which stays the rolled-out one.

    Cannot prove how a real KServe reports a revision that breaks under full traffic.
    """
    cluster = kserve_cluster_with_v6({V7.storage_uri: Behaviour.FAILS_AT_FULL_TRAFFIC})
    result = deploy_kserve(request("kserve", "7"), V7, cluster, POLICY)
    assert result.action == "rolled_back"
    assert result.reason.startswith("full rollout failed")
    assert "OOMKilled" in result.reason
    assert applied(cluster) == [
        ("apply", "InferenceService", "churn", V7.storage_uri, 10),
        ("apply", "InferenceService", "churn", V7.storage_uri, None),
        ("apply", "InferenceService", "churn", V7.storage_uri, 0),
    ]
    live = settle(cluster, kserve.KIND, "churn")
    assert traffic(live) == {"churn-predictor-00001": 100}
    assert kserve.predictor_status(live)["latestRolledoutRevision"] == "churn-predictor-00001"
    assert_every_applied_object_is_valid(cluster)


def test_kserve_same_version_again_applies_nothing():
    """Deploying the version that already serves makes no call and changes nothing.

    Proves: after v7 is promoted, deploying v7 again reports "unchanged" with no apply or
    delete, and the live object's generation and resourceVersion stay the same.

    Cannot prove a real API server would not bump resourceVersion on a read.
    """
    cluster = kserve_cluster_with_v6()
    assert deploy_kserve(request("kserve", "7"), V7, cluster, POLICY).action == "promoted"
    before = isvc(cluster)["metadata"]
    cluster.calls.clear()
    result = deploy_kserve(request("kserve", "7"), V7, cluster, POLICY)
    assert (result.action, result.previous_version) == ("unchanged", "7")
    assert cluster.calls == []
    after = isvc(cluster)["metadata"]
    assert (after["generation"], after["resourceVersion"]) == (
        before["generation"],
        before["resourceVersion"],
    )


def test_seldon_promotes_a_healthy_candidate():
    """A ready candidate and a ready Experiment lead to the default Model on v7, then cleanup.

    Proves: candidate Model churn-v7, Experiment churn-canary (90/10), default Model churn
    on v7, then the Experiment and the candidate deleted; only the default Model is left,
    ready, on v7's artifact.

    Cannot prove Seldon's real traffic split or scheduling.
    """
    cluster = seldon_cluster_with_v6()
    result = deploy_seldon(request("seldon", "7"), V7, cluster, POLICY)
    assert (result.action, result.previous_version) == ("promoted", "6"), result.reason
    assert applied(cluster) == [
        ("apply", "Model", "churn-v7", V7.storage_uri),
        ("apply", "Experiment", "churn-canary", ("churn", 90), ("churn-v7", 10)),
        ("apply", "Model", "churn", V7.storage_uri),
        ("delete", "Experiment", "churn-canary", True),
        ("delete", "Model", "churn-v7", True),
    ]
    assert_only_the_default_model_on(cluster, V7)
    assert_every_applied_object_is_valid(cluster)


def test_seldon_rolls_back_a_candidate_that_fails_to_load():
    """A candidate that fails to load is deleted; no Experiment, the default stays on v6.

    Proves: only the candidate is applied; the Experiment is never created (its delete
    finds nothing) and the candidate is deleted; the reason carries ModelFailed; the
    default Model still points at v6 and serves.

    Cannot prove Seldon's wording of a failed load.
    """
    cluster = seldon_cluster_with_v6({V7.storage_uri: Behaviour.FAILS_TO_LOAD})
    result = deploy_seldon(request("seldon", "7"), V7, cluster, POLICY)
    assert result.action == "rolled_back"
    assert "ModelFailed" in result.reason
    assert applied(cluster) == [
        ("apply", "Model", "churn-v7", V7.storage_uri),
        ("delete", "Experiment", "churn-canary", False),
        ("delete", "Model", "churn-v7", True),
    ]
    assert_only_the_default_model_on(cluster, V6)
    assert_every_applied_object_is_valid(cluster)


def test_seldon_restores_v6_when_the_default_update_fails():
    """A default Model that fails on v7 is put back on v6, then the canary objects go.

    Proves: candidate, Experiment, default on v7, then the default re-applied on v6's
    artifact with v6's labels, then the Experiment and candidate deleted; the reason says
    the default Model update failed (ScheduleFailed); the default serves v6 again.

    Cannot prove Seldon reloads the previous artifact as fast as the stand-in.
    """
    cluster = seldon_cluster_with_v6({V7.storage_uri: Behaviour.FAILS_AT_FULL_TRAFFIC})
    result = deploy_seldon(request("seldon", "7"), V7, cluster, POLICY)
    assert result.action == "rolled_back"
    assert result.reason.startswith("default Model update failed")
    assert "ScheduleFailed" in result.reason
    assert applied(cluster) == [
        ("apply", "Model", "churn-v7", V7.storage_uri),
        ("apply", "Experiment", "churn-canary", ("churn", 90), ("churn-v7", 10)),
        ("apply", "Model", "churn", V7.storage_uri),
        ("apply", "Model", "churn", V6.storage_uri),
        ("delete", "Experiment", "churn-canary", True),
        ("delete", "Model", "churn-v7", True),
    ]
    live = settle(cluster, seldon.MODEL_KIND, "churn")
    assert live["spec"]["storageUri"] == V6.storage_uri
    assert live["metadata"]["labels"]["mlops.kfp-suite.io/model-version"] == "6"
    assert seldon.object_state(live, "ModelReady").phase.value == "serving"
    assert_every_applied_object_is_valid(cluster)


def test_seldon_same_version_again_applies_nothing():
    """Deploying the version the default Model already serves makes no call.

    Proves: after v7 is promoted, deploying v7 again reports "unchanged" with no apply or
    delete and the default Model's generation and resourceVersion unchanged.

    Cannot prove a real API server would not bump resourceVersion on a read.
    """
    cluster = seldon_cluster_with_v6()
    assert deploy_seldon(request("seldon", "7"), V7, cluster, POLICY).action == "promoted"
    key = next(iter(cluster.objects))
    before = dict(cluster.objects[key]["metadata"])
    cluster.calls.clear()
    result = deploy_seldon(request("seldon", "7"), V7, cluster, POLICY)
    assert (result.action, result.previous_version) == ("unchanged", "7")
    assert cluster.calls == []
    after = cluster.objects[key]["metadata"]
    assert (after["generation"], after["resourceVersion"]) == (
        before["generation"],
        before["resourceVersion"],
    )


@pytest.mark.parametrize("target", ["kserve", "seldon"])
def test_canary_that_never_gets_ready_is_rolled_back_at_the_timeout(target):
    """A canary that stays loading is rolled back once ``ready_timeout_s`` has passed.

    Proves: with a 0.2 s readiness limit, the flow stops waiting, applies the KServe
    rollback variant (or deletes the Seldon candidate, never creating the Experiment),
    and says the canary was not ready within the limit; v6 keeps serving.

    Cannot prove the real time a controller needs (the limit is shortened here).
    """
    cluster = (kserve_cluster_with_v6 if target == "kserve" else seldon_cluster_with_v6)(
        {V7.storage_uri: Behaviour.NEVER_READY}
    )
    policy = CanaryPolicy(ready_timeout_s=0.2, observe_s=0.05, poll_s=0.005)
    deploy = deploy_kserve if target == "kserve" else deploy_seldon
    result = deploy(request(target, "7"), V7, cluster, policy)
    assert result.action == "rolled_back"
    assert "not ready after" in result.reason
    if target == "kserve":
        assert applied(cluster) == [
            ("apply", "InferenceService", "churn", V7.storage_uri, 10),
            ("apply", "InferenceService", "churn", V7.storage_uri, 0),
        ]
        assert traffic(settle(cluster, kserve.KIND, "churn")) == {"churn-predictor-00001": 100}
    else:
        assert applied(cluster) == [
            ("apply", "Model", "churn-v7", V7.storage_uri),
            ("delete", "Experiment", "churn-canary", False),
            ("delete", "Model", "churn-v7", True),
        ]
        live = settle(cluster, seldon.MODEL_KIND, "churn")
        assert live["spec"]["storageUri"] == V6.storage_uri
    assert_every_applied_object_is_valid(cluster)


@pytest.mark.parametrize("target", ["kserve", "seldon"])
def test_first_rollout_applies_only_the_full_object(target):
    """With nothing live, v7 goes out as the full object at once: no canary, no Experiment.

    Proves: one apply, exactly the rendered full InferenceService / default Model, and a
    promotion with no previous version once the controller reports it serving.

    Cannot prove anything about a real cluster.
    """
    cluster = MemoryCluster()
    deploy = deploy_kserve if target == "kserve" else deploy_seldon
    result = deploy(request(target, "7"), V7, cluster, POLICY)
    assert result.action == "promoted"
    assert result.previous_version is None
    objects = (kserve_objects if target == "kserve" else seldon_objects)(request(target, "7"), V7)
    first = objects["full"] if target == "kserve" else objects["default"]
    assert [call.body for call in cluster.calls] == [first]
    assert_every_applied_object_is_valid(cluster)


def shadow_request(target: str, version: str, mirror_percent: int = 100) -> DeployRequest:
    return dataclasses.replace(
        request(target, version), rollout="shadow", mirror_percent=mirror_percent
    )


class MirrorCheckingCluster(MemoryCluster):
    """A `MemoryCluster` that refuses to delete a Model a live Experiment still mirrors to."""

    def delete(self, api_version: str, kind: str, name: str, namespace: str) -> bool:
        """Deletes like the stand-in; raises if an Experiment's ``mirror`` names the Model."""
        if kind == seldon.MODEL_KIND:
            mirrors = [
                obj["metadata"]["name"]
                for key, obj in self.objects.items()
                if key[1] == seldon.EXPERIMENT_KIND
                and (obj["spec"].get("mirror") or {}).get("name") == name
            ]
            assert not mirrors, f"Model {name} deleted while Experiment {mirrors} mirrors to it"
        return super().delete(api_version, kind, name, namespace)


def test_seldon_shadow_mirrors_to_the_challenger_beside_the_champion():
    """A shadow rollout applies the shadow Model, then the mirroring Experiment; nothing else.

    Proves: with v6 serving, a shadow of v7 at 50 % applies Model churn-shadow (v7's
    artifact, pinned to the same Server as the canary candidate) and then Experiment
    churn-shadow (churn weight 100, mirror churn-shadow 50 %), waits for both to be ready,
    reports "shadowing" beside v6, and leaves the default Model untouched (v6's artifact,
    same generation); every object validates against its CRD.

    Cannot prove Seldon really mirrors the share of requests, or how the mirrored answer
    is paired with the champion's (see docs/architecture.md, shadow section).
    """
    cluster = seldon_cluster_with_v6()
    default_before = cluster.peek(seldon.API_VERSION, seldon.MODEL_KIND, "churn", NAMESPACE)
    result = deploy_seldon(shadow_request("seldon", "7", 50), V7, cluster, POLICY)
    assert (result.action, result.previous_version) == ("shadowing", "6"), result.reason
    assert applied(cluster) == [
        ("apply", "Model", "churn-shadow", V7.storage_uri),
        ("apply", "Experiment", "churn-shadow", ("churn", 100), ("mirror", "churn-shadow", 50)),
    ]
    shadow = cluster.peek(seldon.API_VERSION, seldon.MODEL_KIND, "churn-shadow", NAMESPACE)
    candidate = seldon_objects(request("seldon", "7"), V7)["candidate"]
    assert shadow["spec"]["server"] == candidate["spec"]["server"] == seldon.SUITE_SERVER
    assert shadow["metadata"]["labels"]["mlops.kfp-suite.io/model-version"] == "7"
    experiment = settle(cluster, seldon.EXPERIMENT_KIND, "churn-shadow")
    assert seldon.object_state(experiment, "ExperimentReady").phase.value == "serving"
    default = cluster.peek(seldon.API_VERSION, seldon.MODEL_KIND, "churn", NAMESPACE)
    assert default["spec"] == default_before["spec"]
    assert default["metadata"]["generation"] == default_before["metadata"]["generation"]
    assert "mirrors 50%" in result.reason
    assert_every_applied_object_is_valid(cluster)


@pytest.mark.parametrize("behaviour", [Behaviour.FAILS_TO_LOAD, Behaviour.NEVER_READY])
def test_seldon_shadow_that_does_not_get_ready_is_removed(behaviour):
    """A shadow Model that fails (or never gets ready) is deleted with its Experiment.

    Proves: the shadow Model is applied, never the Experiment; then the Experiment (not
    found) and the shadow Model are deleted in that order; the result is "rolled_back"
    with the controller's reason (ModelFailed) or the readiness timeout; the default
    Model keeps serving v6 and is the only object left.

    Cannot prove Seldon's wording of a failed load, or its real loading time.
    """
    cluster = seldon_cluster_with_v6({V7.storage_uri: behaviour})
    policy = CanaryPolicy(ready_timeout_s=0.2, observe_s=0.05, poll_s=0.005)
    result = deploy_seldon(shadow_request("seldon", "7"), V7, cluster, policy)
    assert result.action == "rolled_back"
    assert result.reason.startswith("shadow: ")
    assert ("ModelFailed" if behaviour is Behaviour.FAILS_TO_LOAD else "not ready after") in (
        result.reason
    )
    assert applied(cluster) == [
        ("apply", "Model", "churn-shadow", V7.storage_uri),
        ("delete", "Experiment", "churn-shadow", False),
        ("delete", "Model", "churn-shadow", True),
    ]
    assert_only_the_default_model_on(cluster, V6)
    assert_every_applied_object_is_valid(cluster)


def test_canary_after_a_shadow_deletes_the_experiment_before_the_shadow_model():
    """The promotion path (a canary) removes the shadow Experiment, then the shadow Model.

    Proves, on a stand-in that fails any delete of a Model a live Experiment mirrors to:
    after v7 in shadow beside v6, a canary of v7 first deletes Experiment churn-shadow,
    then Model churn-shadow, then runs the normal canary (candidate churn-v7, Experiment
    churn-canary, default on v7, cleanup); only the default Model on v7 is left. A second
    canary of v7 (nothing in shadow any more) makes no call at all.

    Cannot prove how Seldon behaves if the Experiment's deletion is still in progress
    when the Model is deleted (the stand-in deletes at once).
    """
    cluster = MirrorCheckingCluster()
    assert deploy_seldon(request("seldon", "6"), V6, cluster, POLICY).action == "promoted"
    assert deploy_seldon(shadow_request("seldon", "7"), V7, cluster, POLICY).action == ("shadowing")
    cluster.calls.clear()
    result = deploy_seldon(request("seldon", "7"), V7, cluster, POLICY)
    assert (result.action, result.previous_version) == ("promoted", "6"), result.reason
    assert result.shadow_removed == "7"
    assert applied(cluster) == [
        ("delete", "Experiment", "churn-shadow", True),
        ("delete", "Model", "churn-shadow", True),
        ("apply", "Model", "churn-v7", V7.storage_uri),
        ("apply", "Experiment", "churn-canary", ("churn", 90), ("churn-v7", 10)),
        ("apply", "Model", "churn", V7.storage_uri),
        ("delete", "Experiment", "churn-canary", True),
        ("delete", "Model", "churn-v7", True),
    ]
    assert_only_the_default_model_on(cluster, V7)
    cluster.calls.clear()
    again = deploy_seldon(request("seldon", "7"), V7, cluster, POLICY)
    assert (again.action, again.shadow_removed) == ("unchanged", None)
    assert cluster.calls == []


def test_a_new_seldon_shadow_replaces_the_old_one_in_place():
    """A shadow of v8 while v7 is in shadow updates the same two objects and names v7 removed.

    Proves: Model churn-shadow moves to v8's artifact and the Experiment keeps mirroring
    to it (no delete in between: the mirror never points at a missing Model); the result
    says v7's shadow was removed, so `deploy` deletes v7's shadow tags. Cannot prove how
    long Seldon takes to swap the artifact under the same Model name.
    """
    v8 = ResolvedModel("churn", "8", "s3://mlflow/1/models/m-eight/artifacts")
    cluster = MirrorCheckingCluster()
    deploy_seldon(request("seldon", "6"), V6, cluster, POLICY)
    deploy_seldon(shadow_request("seldon", "7"), V7, cluster, POLICY)
    cluster.calls.clear()
    result = deploy_seldon(shadow_request("seldon", "8"), v8, cluster, POLICY)
    assert (result.action, result.shadow_removed) == ("shadowing", "7"), result.reason
    assert applied(cluster) == [
        ("apply", "Model", "churn-shadow", v8.storage_uri),
        ("apply", "Experiment", "churn-shadow", ("churn", 100), ("mirror", "churn-shadow", 100)),
    ]
    assert_every_applied_object_is_valid(cluster)


def test_mirror_checking_stand_in_catches_the_wrong_order():
    """The ordering check above has teeth: deleting the shadow Model first fails.

    Proves: on the same stand-in, deleting Model churn-shadow while Experiment
    churn-shadow mirrors to it raises. Cannot prove what a real Seldon does then.
    """
    cluster = MirrorCheckingCluster()
    deploy_seldon(request("seldon", "6"), V6, cluster, POLICY)
    deploy_seldon(shadow_request("seldon", "7"), V7, cluster, POLICY)
    with pytest.raises(AssertionError, match="mirrors to it"):
        cluster.delete(seldon.API_VERSION, seldon.MODEL_KIND, "churn-shadow", NAMESPACE)


@pytest.mark.parametrize("target", ["kserve", "seldon"])
def test_shadow_without_a_champion_fails_and_applies_nothing(target):
    """A shadow needs a champion serving under the served name; without one nothing happens.

    Proves: on an empty cluster a shadow of v7 raises DeployError saying a shadow needs a
    champion to sit beside, with no apply or delete; shadowing the version that serves is
    refused the same way.

    Cannot prove anything about a real cluster.
    """
    cluster = MemoryCluster()
    deploy = deploy_kserve if target == "kserve" else deploy_seldon
    with pytest.raises(DeployError, match="a shadow needs a champion to sit beside"):
        deploy(shadow_request(target, "7"), V7, cluster, POLICY)
    assert cluster.calls == []
    assert deploy(request(target, "7"), V7, cluster, POLICY).action == "promoted"
    cluster.calls.clear()
    with pytest.raises(DeployError, match="not itself"):
        deploy(shadow_request(target, "7"), V7, cluster, POLICY)
    assert cluster.calls == []


def test_shadow_render_only():
    """Without a cluster a shadow renders the Seldon shadow Model and Experiment, KServe nothing.

    Proves: Seldon's render is [shadow Model, shadow Experiment with the mirror share], both
    CRD-valid; KServe's is empty (it has no mirror) and says so. Cannot prove a cluster
    accepts them.
    """
    rendered = deploy_seldon(shadow_request("seldon", "7", 25), V7, None, POLICY)
    assert rendered.action == "rendered"
    assert [(o["kind"], o["metadata"]["name"]) for o in rendered.manifests] == [
        ("Model", "churn-shadow"),
        ("Experiment", "churn-shadow"),
    ]
    assert rendered.manifests[1]["spec"]["mirror"] == {"name": "churn-shadow", "percent": 25}
    for obj in rendered.manifests:
        assert_valid_object(obj)
    kserve_render = deploy_kserve(shadow_request("kserve", "7"), V7, None, POLICY)
    assert (kserve_render.action, kserve_render.manifests) == ("rendered", [])
    assert "no mirror" in kserve_render.reason


def test_rollout_and_mirror_percent_are_checked():
    """An unknown rollout or a mirror share outside 1-100 is refused when the request is built.

    Proves: the ValueError names ``rollout`` and the allowed values (canary, shadow), and
    ``mirror_percent``; canary stays the default rollout. Cannot prove anything else.
    """
    assert request("seldon", "7").rollout == "canary"
    with pytest.raises(ValueError, match=r"rollout must be one of \('canary', 'shadow'\)"):
        dataclasses.replace(request("seldon", "7"), rollout="blue-green")
    for bad in (0, 101):
        with pytest.raises(ValueError, match="mirror_percent must be 1-100"):
            shadow_request("seldon", "7", bad)


def champion_on(cluster: MemoryCluster, registry, target: str) -> None:
    """Rolls churn/1 (the registry's champion) out as the first version on ``target``."""
    first = deploy(
        registry,
        DeployRequest("models:/churn/1", target, storage_uri=V6.storage_uri, namespace=NAMESPACE),
        cluster=cluster,
        policy=POLICY,
    )
    assert first.action == "promoted", first.reason
    cluster.calls.clear()


def aliases(registry) -> dict[str, str | None]:
    return {
        alias: alias_version(registry, "churn", alias)
        for alias in (ALIAS_CHAMPION, ALIAS_PREVIOUS, ALIAS_CHALLENGER)
    }


def test_kserve_shadow_applies_nothing_and_points_to_the_offline_comparison(registry, capsys):
    """On KServe a shadow applies nothing, tags the version kserve-offline and says why.

    Proves, through the step's `run` with the registry and the in-memory cluster: after
    churn/1 serves, ``rollout="shadow"`` of churn/2 makes zero applies or deletes, returns
    "shadowing" beside version 1, tags churn/2 ``suite.shadow.serving=kserve-offline``
    (and the served name), prints a ``[suite] `` line saying the monitoring pipeline
    scores the logged inputs with the challenger (compare_shadow), moves no alias, and
    its action gauge is ``shadowing`` (one-hot).

    Cannot prove the monitoring pipeline's comparison (tests/unit/compare_shadow does).
    """
    cluster = MemoryCluster()
    champion_on(cluster, registry, "kserve")
    before = aliases(registry)
    config = DeployConfig(
        "models:/churn/2", "kserve", "churn", namespace=NAMESPACE,
        storage_uri=V7.storage_uri, rollout="shadow", observe_seconds=0.05,
    )  # fmt: skip
    result = run(config, client=registry, cluster=cluster)
    assert (result.action, result.previous_version) == ("shadowing", "1"), result.reason
    assert cluster.calls == []
    assert aliases(registry) == before
    assert before[ALIAS_CHAMPION] == "1"
    tags = registry.get_model_version("churn", "2").tags
    assert tags[TAG_SHADOW_SERVING] == KSERVE_OFFLINE
    assert tags[TAG_SHADOW_SERVED_NAME] == "churn"
    lines = [line for line in capsys.readouterr().out.splitlines() if "shadowing" in line]
    assert len(lines) == 1
    assert lines[0].startswith("[suite] deploy_model(kserve)")
    assert "monitoring pipeline scores its logged inputs with version 2" in lines[0]
    assert "compare_shadow" in lines[0]
    assert result.return_value() == "shadowing"
    gauges = {
        s.labels["action"]: s.value
        for s in deployment_samples(result, 10)
        if s.name == "suite_deploy_action"
    }
    assert gauges["shadowing"] == 1.0
    assert sum(gauges.values()) == 1.0


def test_seldon_shadow_through_deploy_tags_and_moves_no_alias(registry):
    """Through `deploy` with the registry: Seldon shadow tags the version, never moves an alias.

    Proves: churn/2 in shadow beside churn/1 on Seldon returns "shadowing", tags
    ``suite.shadow.serving=seldon`` and the served name, and leaves champion / previous /
    challenger as they were; a shadow that fails to load is deleted, tagged
    ``suite.rolled_back`` and the step's return value raises DeployError naming the
    champion that still serves, again with no alias moved. A canary of churn/2 on the
    first cluster then promotes it and deletes its shadow tags (it no longer serves in
    shadow).

    Cannot prove Seldon's real mirroring (no cluster here).
    """
    cluster = MemoryCluster()
    champion_on(cluster, registry, "seldon")
    before = aliases(registry)
    shadow = DeployRequest(
        "models:/churn/2", "seldon", storage_uri=V7.storage_uri, namespace=NAMESPACE,
        rollout="shadow",
    )  # fmt: skip
    result = deploy(registry, shadow, cluster=cluster, policy=POLICY)
    assert (result.action, result.previous_version) == ("shadowing", "1"), result.reason
    assert aliases(registry) == before
    tags = registry.get_model_version("churn", "2").tags
    assert (tags[TAG_SHADOW_SERVING], tags[TAG_SHADOW_SERVED_NAME]) == ("seldon", "churn")
    assert TAG_ROLLED_BACK not in tags

    failing = MemoryCluster({V7.storage_uri: Behaviour.FAILS_TO_LOAD})
    champion_on(failing, registry, "seldon")
    failed = deploy(registry, shadow, cluster=failing, policy=POLICY)
    assert failed.action == "rolled_back"
    assert [key[1:] for key in failing.objects] == [("Model", NAMESPACE, "churn")]
    assert "ModelFailed" in registry.get_model_version("churn", "2").tags[TAG_ROLLED_BACK]
    with pytest.raises(DeployError, match="Still serving: version 1"):
        failed.return_value()
    assert aliases(registry) == before
    assert TAG_SHADOW_SERVING in registry.get_model_version("churn", "2").tags  # still mirrored

    promotion = dataclasses.replace(shadow, rollout="canary")
    promoted = deploy(registry, promotion, cluster=cluster, policy=POLICY)
    assert (promoted.action, promoted.shadow_removed) == ("promoted", "2"), promoted.reason
    assert alias_version(registry, "churn", ALIAS_CHAMPION) == "2"
    tags = registry.get_model_version("churn", "2").tags
    assert TAG_SHADOW_SERVING not in tags
    assert TAG_SHADOW_SERVED_NAME not in tags


def test_a_kserve_promotion_ends_the_offline_shadow(tmp_path) -> None:
    """A canary promotion on KServe deletes the shadow tags it leaves no object behind for.

    Proves, with a registry of its own: after churn/2 was put in shadow on KServe (tags
    ``kserve-offline``), a canary of churn/2 promotes it and its shadow tags are gone, so
    the registry no longer claims a shadow; a version tagged as a shadow beside another
    served name keeps its tags. Cannot prove anything about KServe itself (nothing is
    applied for a KServe shadow; the canary runs on the in-memory cluster).
    """
    client = mlflow_client(f"sqlite:///{tmp_path / 'mlflow.db'}")
    for c in (1.0, 0.02, 0.5):
        log_demo_model(client, "churn", c=c)
    client.set_registered_model_alias("churn", ALIAS_CHAMPION, "1")
    client.set_model_version_tag("churn", "3", TAG_SHADOW_SERVING, KSERVE_OFFLINE)
    client.set_model_version_tag("churn", "3", TAG_SHADOW_SERVED_NAME, "churn-eu")
    cluster = MemoryCluster()
    champion_on(cluster, client, "kserve")
    shadow = DeployRequest(
        "models:/churn/2", "kserve", storage_uri=V7.storage_uri, namespace=NAMESPACE,
        rollout="shadow",
    )  # fmt: skip
    assert deploy(client, shadow, cluster=cluster, policy=POLICY).action == "shadowing"
    assert client.get_model_version("churn", "2").tags[TAG_SHADOW_SERVING] == KSERVE_OFFLINE

    canary = dataclasses.replace(shadow, rollout="canary")
    promoted = deploy(client, canary, cluster=cluster, policy=POLICY)
    assert promoted.action == "promoted", promoted.reason
    assert alias_version(client, "churn", ALIAS_CHAMPION) == "2"
    tags = client.get_model_version("churn", "2").tags
    assert TAG_SHADOW_SERVING not in tags
    assert TAG_SHADOW_SERVED_NAME not in tags
    other = client.get_model_version("churn", "3").tags
    assert (other[TAG_SHADOW_SERVING], other[TAG_SHADOW_SERVED_NAME]) == (
        KSERVE_OFFLINE,
        "churn-eu",
    )
