"""The KServe and Seldon rollout flows (`deploy_kserve`, `deploy_seldon`) on an in-memory cluster.

The cluster (tests/_helpers/memory_cluster.py) honours the three calls the real
`components.deploy_model.kube.Cluster` makes, with server-side-apply merge semantics, and
plays the controllers' status updates one reconcile step per read. Each scenario starts
from version 6 rolled out by the flow itself (a first rollout), then rolls out version 7:
promote, rollback on a failed canary, rollback when the full rollout fails, rollback of a
canary that never gets ready, and the same version again. Asserted: the sequence of
objects applied and deleted, the final cluster state (spec and the traffic the controller
reports), and that every applied object validates against its CRD schema (tests/crds).

What this cannot prove: that KServe's and Seldon's real controllers take these steps with
these messages, or the timing of a real rollout (see the stand-in's docstring).
"""

from __future__ import annotations

import inspect

import pytest

from components.deploy_model import kserve, seldon
from components.deploy_model.canary import CanaryPolicy
from components.deploy_model.core import (
    DeployRequest,
    ResolvedModel,
    deploy_kserve,
    deploy_seldon,
    kserve_objects,
    seldon_objects,
)
from components.deploy_model.kube import Cluster
from tests._helpers.crd import assert_valid_object
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
        out.append(("apply", call.kind, call.name, *detail))
    return out


def assert_every_applied_object_is_valid(cluster: MemoryCluster) -> None:
    for call in cluster.calls:
        if call.verb == "apply":
            assert_valid_object(call.body)
    for obj in cluster.objects.values():  # the live objects, status included
        assert_valid_object(obj)


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
    assert [key[1:] for key in cluster.objects] == [("Model", NAMESPACE, "churn")]
    live = settle(cluster, seldon.MODEL_KIND, "churn")
    assert live["spec"]["storageUri"] == V7.storage_uri
    assert seldon.object_state(live, "ModelReady").phase.value == "serving"
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
    live = settle(cluster, seldon.MODEL_KIND, "churn")
    assert live["spec"]["storageUri"] == V6.storage_uri
    assert seldon.object_state(live, "ModelReady").phase.value == "serving"
    assert [key[1:] for key in cluster.objects] == [("Model", NAMESPACE, "churn")]
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
