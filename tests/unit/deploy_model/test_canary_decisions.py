"""Canary status reading and decisions, as pure functions over realistic status dicts.

The status dicts follow what KServe (Serverless mode) and Seldon Core 2 report, as shown
in their docs and CRDs. No cluster runs here: these tests cannot prove a controller
reports exactly these fields in every version, only that the decisions over them are right.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import pytest

from components.deploy_model import kserve, seldon
from components.deploy_model.canary import (
    CanaryPolicy,
    Phase,
    State,
    Verdict,
    decide,
    parse_prometheus_scalar,
)
from components.deploy_model.core import DeployRequest, ResolvedModel, kserve_objects, watch
from components.deploy_model.kube import apply_diff

OLD, NEW = "churn-predictor-00001", "churn-predictor-00002"
REQUEST = DeployRequest("models:/churn/8", "kserve", canary_percent=10, suite_version="0.1.0")
MODEL = ResolvedModel("churn", "8", "s3://mlflow/1/models/m-new/artifacts")


def conditions(**statuses: str) -> list[dict[str, Any]]:
    return [
        {"type": kind, "status": status, "lastTransitionTime": "2026-11-23T10:00:00Z"}
        for kind, status in statuses.items()
    ]


def live_isvc(variant: str = "canary", *, generation: int = 2, observed: int = 2) -> dict:
    """A rendered InferenceService as the API server returns it (defaults, metadata)."""
    obj = copy.deepcopy(kserve_objects(REQUEST, MODEL)[variant])
    obj["metadata"].update(
        {
            "uid": "5c1e3f9a-0000-4000-8000-000000000001",
            "resourceVersion": "48213",
            "generation": generation,
            "creationTimestamp": "2026-11-20T09:00:00Z",
            "finalizers": ["inferenceservice.finalizers"],
            "managedFields": [{"manager": "kfp-mlops-suite", "operation": "Apply"}],
        }
    )
    obj["spec"]["predictor"]["model"]["name"] = "kserve-container"  # webhook default
    obj["spec"]["predictor"]["model"]["resources"]["limits"]["cpu"] = "1"
    obj["status"] = {
        "observedGeneration": observed,
        "deploymentMode": "Serverless",
        "url": "http://churn.kfp-mlops.example.com",
        "conditions": conditions(
            IngressReady="True",
            LatestDeploymentReady="True",
            PredictorConfigurationReady="True",
            PredictorReady="True",
            PredictorRouteReady="True",
            Ready="True",
        ),
        "modelStatus": {
            "copies": {"failedCopies": 0, "totalCopies": 1},
            "states": {"activeModelState": "Loaded", "targetModelState": "Loaded"},
            "transitionStatus": "UpToDate",
        },
        "components": {
            "predictor": {
                "latestCreatedRevision": NEW,
                "latestReadyRevision": NEW,
                "latestRolledoutRevision": OLD,
                "previousRolledoutRevision": OLD,
                "traffic": [
                    {"revisionName": NEW, "percent": 10, "latestRevision": True, "tag": "latest"},
                    {"revisionName": OLD, "percent": 90, "latestRevision": False, "tag": "prev"},
                ],
            }
        },
    }
    return obj


def failed_canary() -> dict:
    obj = live_isvc()
    predictor = obj["status"]["components"]["predictor"]
    predictor["latestReadyRevision"] = OLD
    predictor["traffic"] = [{"revisionName": OLD, "percent": 100, "latestRevision": False}]
    obj["status"]["conditions"] = [
        {"type": "LatestDeploymentReady", "status": "False", "reason": "RevisionFailed",
         "message": f'Revision "{NEW}" failed with message: Container failed with: '
                    "ModuleNotFoundError: No module named 'xgboost'."},
        {"type": "PredictorReady", "status": "True"},
        {"type": "Ready", "status": "True"},
    ]  # fmt: skip
    obj["status"]["modelStatus"] = {
        "transitionStatus": "BlockedByFailedLoad",
        "states": {"activeModelState": "Loaded", "targetModelState": "FailedToLoad"},
        "lastFailureInfo": {"reason": "ModelLoadFailed", "modelRevisionName": NEW,
                            "message": "model failed to load"},
    }  # fmt: skip
    return obj


def promoted() -> dict:
    obj = live_isvc("full", generation=3, observed=3)
    predictor = obj["status"]["components"]["predictor"]
    predictor.update(
        {
            "latestRolledoutRevision": NEW,
            "previousRolledoutRevision": OLD,
            "traffic": [{"revisionName": NEW, "percent": 100, "latestRevision": True}],
        }
    )
    return obj


def test_canary_serving_at_its_share():
    """A ready latest revision at exactly the canary share is SERVING.

    Proves: latestReadyRevision == latestCreatedRevision and traffic 10 % => SERVING,
    naming both revisions.

    Cannot prove Knative routes exactly 10 % of requests (the status says so).
    """
    state = kserve.canary_state(live_isvc(), 10)
    assert state.phase is Phase.SERVING
    assert NEW in state.reason
    assert OLD in state.reason


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda o: o["status"].update(observedGeneration=1), "not observed"),
        (
            lambda o: o["status"]["components"]["predictor"].update(latestReadyRevision=OLD),
            "not ready",
        ),
        (
            lambda o: o["status"]["components"]["predictor"]["traffic"][0].update(percent=0),
            "gets 0%",
        ),
    ],
)
def test_canary_pending_cases(mutate, fragment):
    """Spec not yet observed, revision not ready, or traffic not shifted => PENDING.

    Proves: each of the three in-progress shapes reads as PENDING with the reason.

    Cannot prove how long KServe stays in each of them.
    """
    obj = live_isvc()
    mutate(obj)
    state = kserve.canary_state(obj, 10)
    assert state.phase is Phase.PENDING
    assert fragment in state.reason


def test_failed_revision_reads_as_failed_with_its_message():
    """A failed canary revision is FAILED and the message says why.

    Proves: LatestDeploymentReady=False RevisionFailed => FAILED quoting Knative's
    message; a model load failure on the new revision alone is FAILED too.

    Cannot prove every failure reason KServe/Knative may report.
    """
    state = kserve.canary_state(failed_canary(), 10)
    assert state.phase is Phase.FAILED
    assert "RevisionFailed" in state.reason
    assert "xgboost" in state.reason
    only_model_failure = live_isvc()
    only_model_failure["status"]["modelStatus"]["lastFailureInfo"] = {
        "reason": "ModelLoadFailed",
        "modelRevisionName": NEW,
        "message": "boom",
    }
    assert kserve.canary_state(only_model_failure, 10).phase is Phase.FAILED


def test_rollout_state_after_promotion():
    """After promotion the new revision must take 100 % and be rolled out.

    Proves: the promoted status is SERVING; the canary status (10/90) is still PENDING
    for a full rollout.

    Cannot prove how long Knative takes to shift the traffic.
    """
    assert kserve.rollout_state(promoted()).phase is Phase.SERVING
    assert kserve.rollout_state(live_isvc()).phase is Phase.PENDING


POLICY = CanaryPolicy(ready_timeout_s=60, observe_s=30, max_error_ratio=0.05, poll_s=1)


@pytest.mark.parametrize(
    ("state", "elapsed", "serving", "ratio", "verdict"),
    [
        (State(Phase.FAILED, "RevisionFailed"), 5, 0, None, Verdict.ROLLBACK),
        (State(Phase.PENDING, "loading"), 10, 0, None, Verdict.WAIT),
        (State(Phase.PENDING, "loading"), 61, 0, None, Verdict.ROLLBACK),
        (State(Phase.SERVING, "10%"), 20, 10, None, Verdict.WAIT),
        (State(Phase.SERVING, "10%"), 40, 30, None, Verdict.PROMOTE),
        (State(Phase.SERVING, "10%"), 40, 30, 0.01, Verdict.PROMOTE),
        (State(Phase.SERVING, "10%"), 20, 5, 0.2, Verdict.ROLLBACK),
    ],
)
def test_decide(state, elapsed, serving, ratio, verdict):
    """The verdict table: failure, timeouts, observation window and error ratio.

    Proves: failed => rollback; pending until the ready timeout, then rollback; serving
    is promoted only after the observation window, and rolled back at once when the
    error ratio exceeds the limit.

    Cannot prove the thresholds suit a given service.
    """
    decision = decide(state, elapsed_s=elapsed, serving_s=serving, error_ratio=ratio, policy=POLICY)
    assert decision.verdict is verdict


def scripted(states: list[State]):
    """Returns each state once, then keeps returning the last one."""
    remaining = list(states)

    def read() -> State:
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return read


FAST = CanaryPolicy(ready_timeout_s=5, observe_s=0.05, max_error_ratio=0.05, poll_s=0.01)


def test_watch_promotes_after_observation_and_rolls_back_on_errors():
    """The watch loop over status readings (real clock, short windows).

    Proves: pending -> serving is promoted once the canary served for observe_s; the
    same sequence with a 20 % error ratio is rolled back; a revision that fails while
    loading is rolled back with its reason; the loop ends by itself.

    Cannot prove the loop's behaviour against a live API (reads are scripted states).
    """
    pending, serving = State(Phase.PENDING, "loading"), State(Phase.SERVING, "10%")
    started = time.monotonic()
    decision = watch(scripted([pending, pending, serving]), FAST)
    assert decision.verdict is Verdict.PROMOTE
    assert time.monotonic() - started >= FAST.observe_s
    bad = watch(scripted([pending, serving]), FAST, lambda: 0.2)
    assert bad.verdict is Verdict.ROLLBACK
    assert "0.200" in bad.reason
    failed = watch(scripted([pending, State(Phase.FAILED, "RevisionFailed")]), FAST)
    assert failed.verdict is Verdict.ROLLBACK
    assert "RevisionFailed" in failed.reason
    stuck = watch(scripted([pending]), CanaryPolicy(0.05, 0.05, 0.05, 0.01))
    assert stuck.verdict is Verdict.ROLLBACK


def test_same_version_twice_computes_no_change():
    """Re-applying the same version is a no-op; a new version or a leftover canary is not.

    Proves: the live object (server defaults, metadata, status, "1" vs 1) matches the
    rendered full object => no diff, so nothing is applied; a different storageUri and a
    leftover canaryTrafficPercent are both reported; a missing object needs an apply.

    Cannot prove server-side apply itself leaves generation unchanged (needs a cluster).
    """
    full = kserve_objects(REQUEST, MODEL)["full"]
    assert apply_diff(full, promoted(), absent=(kserve.CANARY_PATH,)) == []
    leftover = apply_diff(full, live_isvc(), absent=(kserve.CANARY_PATH,))
    assert leftover == ["spec.predictor.canaryTrafficPercent (to remove)"]
    older = promoted()
    older["spec"]["predictor"]["model"]["storageUri"] = "s3://mlflow/1/models/m-old/artifacts"
    older["metadata"]["labels"]["mlops.kfp-suite.io/model-version"] = "7"
    assert apply_diff(full, older) == [
        "metadata.labels.mlops.kfp-suite.io/model-version",
        "spec.predictor.model.storageUri",
    ]
    assert apply_diff(full, None) == ["<object does not exist>"]


def seldon_model(status: str, reason: str = "", message: str = "", generation: int = 1) -> dict:
    return {
        "apiVersion": seldon.API_VERSION,
        "kind": "Model",
        "metadata": {"name": "churn-v8", "namespace": "kfp-mlops", "generation": generation},
        "spec": {"storageUri": MODEL.storage_uri, "requirements": ["mlflow"]},
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "availableReplicas": 1 if status == "True" else 0,
            "conditions": [
                {"type": "ModelReady", "status": status, "reason": reason, "message": message},
                {"type": "Ready", "status": status, "reason": reason},
            ],
        },
    }


def test_seldon_model_states():
    """Seldon Model conditions: progressing is pending, failed states fail, True serves.

    Proves: ModelReady False with "ModelProgressing" is PENDING (Seldon keeps it False
    while loading); "ScheduleFailed"/"ModelFailed" are FAILED with the reason; True is
    SERVING; an unobserved generation is PENDING; an Experiment reads the same way.

    Cannot prove Seldon's wording stays the same across releases.
    """
    assert seldon.object_state(seldon_model("True"), "ModelReady").phase is Phase.SERVING
    progressing = seldon_model("False", "rpc error", "ModelProgressing")
    assert seldon.object_state(progressing, "ModelReady").phase is Phase.PENDING
    failed = seldon_model("False", "ScheduleFailed", "no matching servers for requirements")
    state = seldon.object_state(failed, "ModelReady")
    assert state.phase is Phase.FAILED
    assert "ScheduleFailed" in state.reason
    assert seldon.object_state(seldon_model("True", generation=2), "ModelReady").phase is (
        Phase.PENDING
    )
    experiment = {
        "metadata": {"generation": 1},
        "status": {
            "observedGeneration": 1,
            "conditions": [
                {"type": "ExperimentReady", "status": "True"},
                {"type": "Ready", "status": "True"},
            ],
        },
    }
    assert seldon.object_state(experiment, "ExperimentReady").phase is Phase.SERVING


@pytest.mark.parametrize(
    ("body", "value"),
    [
        ({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {}, "value": [1795460121.6, "0.125"]}]}}, 0.125),
        ({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {}, "value": [1795460121.6, "NaN"]}]}}, None),
        ({"status": "success", "data": {"resultType": "vector", "result": []}}, None),
        ({"status": "error", "errorType": "bad_data", "error": "parse error"}, None),
    ],
)  # fmt: skip
def test_prometheus_answers_become_a_ratio_or_no_signal(body, value):
    """Prometheus query answers: a value, or None for NaN, no samples or an error.

    Proves: only a finite sample counts as a signal; anything else means "no signal"
    (the rollout then relies on status conditions).

    Cannot prove the PromQL label names match a given cluster's scrape config.
    """
    assert parse_prometheus_scalar(body) == value
