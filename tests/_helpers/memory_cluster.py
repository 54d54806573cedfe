"""An in-memory stand-in for the three Kubernetes calls deploy_model makes, with controllers.

`MemoryCluster` has the signatures of :class:`components.deploy_model.kube.Cluster`
(``get``, ``apply``, ``delete``) and keeps objects the way an API server does for one
field manager using server-side apply: the applied fields are merged into the live
object, a field this manager applied before and no longer sends is removed (that is how
``canaryTrafficPercent`` disappears on promotion), ``metadata.generation`` moves only when
``spec`` changes and an apply that changes nothing changes nothing (not even
``resourceVersion``). Lists are atomic, as in the CRDs' default list type.

Controllers play what KServe (Serverless mode) and Seldon Core 2 write into ``status``,
one reconcile step per read of the object, with the field names of the vendored CRDs
(tests/crds): KServe revisions per predictor template, ``latestCreatedRevision`` /
``latestReadyRevision`` / ``latestRolledoutRevision``, per-revision traffic, readiness
conditions, ``modelStatus.lastFailureInfo``; Seldon ``ModelReady`` / ``ExperimentReady`` /
``Ready`` conditions. How a model behaves is set per artifact (``storageUri``), see
`Behaviour`.

What this cannot prove: that a real API server, admission webhook or controller acts
exactly so (wording of messages, the number of reconcile steps, timing); the stand-in
follows the projects' documented fields and the canary semantics the suite relies on.
"""

from __future__ import annotations

import abc
import copy
import enum
import json
from dataclasses import dataclass, field
from typing import Any

FIELD_MANAGER = "kfp-mlops-suite"
Key = tuple[str, str, str, str]  # apiVersion, kind, namespace, name


class Behaviour(enum.Enum):
    """How a model artifact behaves once a controller tries to serve it."""

    HEALTHY = "healthy"
    FAILS_TO_LOAD = "fails_to_load"  # the server cannot load it (e.g. a missing module)
    FAILS_AT_FULL_TRAFFIC = "fails_at_full_traffic"  # loads, but not as the only server
    NEVER_READY = "never_ready"  # stays loading (e.g. an image that never pulls)


@dataclass(frozen=True)
class Call:
    """One state-changing call the code under test made."""

    verb: str  # "apply" or "delete"
    kind: str
    name: str
    body: dict[str, Any] | None = None  # the applied object, as sent
    found: bool = True  # delete: whether the object existed


def _key(api_version: str, kind: str, name: str, namespace: str) -> Key:
    return (api_version, kind, namespace or "", name)


def _leaf_paths(obj: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    if isinstance(obj, dict) and obj:
        paths: set[tuple[str, ...]] = set()
        for key, value in obj.items():
            paths |= _leaf_paths(value, (*prefix, key))
        return paths
    return {prefix}


def _remove(obj: dict[str, Any], path: tuple[str, ...]) -> None:
    for key in path[:-1]:
        obj = obj.get(key)
        if not isinstance(obj, dict):
            return
    obj.pop(path[-1], None)


def _merge(live: dict[str, Any], applied: dict[str, Any]) -> None:
    for key, value in applied.items():
        if isinstance(value, dict) and isinstance(live.get(key), dict):
            _merge(live[key], value)
        else:
            live[key] = copy.deepcopy(value)


class MemoryCluster:
    """``get`` / ``apply`` / ``delete`` over a dict, with controllers that write status.

    Attributes:
        calls: Every apply and delete, in order (reads are not recorded).
        behaviours: storageUri -> `Behaviour` (absent = healthy).
    """

    def __init__(self, behaviours: dict[str, Behaviour] | None = None) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self.applied: dict[Key, dict[str, Any]] = {}  # this manager's last applied config
        self.calls: list[Call] = []
        self.behaviours = dict(behaviours or {})
        self.controllers: dict[str, Controller] = {
            "InferenceService": KServeController(self),
            "Model": SeldonModelController(self),
            "Experiment": SeldonExperimentController(self),
        }
        self._version = 0

    def behaviour(self, storage_uri: str | None) -> Behaviour:
        """How the artifact at ``storage_uri`` behaves."""
        return self.behaviours.get(storage_uri or "", Behaviour.HEALTHY)

    def _next_version(self) -> str:
        self._version += 1
        return str(self._version)

    def get(self, api_version: str, kind: str, name: str, namespace: str) -> dict | None:
        """Returns a copy of the live object after one reconcile step, or None."""
        key = _key(api_version, kind, name, namespace)
        if key not in self.objects:
            return None
        controller = self.controllers.get(kind)
        if controller is not None:
            controller.reconcile(self.objects[key])
        return copy.deepcopy(self.objects[key])

    def peek(self, api_version: str, kind: str, name: str, namespace: str) -> dict | None:
        """Returns a copy of the live object without a reconcile step (for assertions)."""
        found = self.objects.get(_key(api_version, kind, name, namespace))
        return copy.deepcopy(found)

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Server-side applies ``obj`` as one field manager with forced conflicts."""
        meta = obj["metadata"]
        key = _key(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace", ""))
        self.calls.append(Call("apply", obj["kind"], meta["name"], copy.deepcopy(obj)))
        live = self.objects.get(key)
        if live is None:
            live = copy.deepcopy(obj)
            live["metadata"].update(
                uid=f"uid-{len(self.objects) + 1}",
                generation=1,
                resourceVersion=self._next_version(),
                creationTimestamp="2026-12-02T00:00:00Z",
                managedFields=[{"manager": FIELD_MANAGER, "operation": "Apply"}],
            )
            self.objects[key] = live
        else:
            before = copy.deepcopy(live)
            for path in _leaf_paths(self.applied[key]) - _leaf_paths(obj):
                _remove(live, path)
            _merge(live, obj)
            if live != before:
                live["metadata"]["resourceVersion"] = self._next_version()
                if live.get("spec") != before.get("spec"):
                    live["metadata"]["generation"] = before["metadata"]["generation"] + 1
        self.applied[key] = copy.deepcopy(obj)
        return copy.deepcopy(live)

    def delete(self, api_version: str, kind: str, name: str, namespace: str) -> bool:
        """Deletes an object; returns False if it was already gone."""
        key = _key(api_version, kind, name, namespace)
        found = self.objects.pop(key, None) is not None
        self.applied.pop(key, None)
        self.calls.append(Call("delete", kind, name, found=found))
        return found


class Controller(abc.ABC):
    """Writes an object's ``status``, one step per read.

    The first read after a spec change sees the old status (the controller has not
    observed the new generation yet); later reads call `step`.
    """

    def __init__(self, cluster: MemoryCluster) -> None:
        self.cluster = cluster
        self.seen: dict[str, int] = {}  # uid -> the generation a read has seen

    def reconcile(self, obj: dict[str, Any]) -> None:
        """One reconcile step of ``obj`` (changed in place)."""
        meta = obj["metadata"]
        if self.seen.get(meta["uid"]) != meta["generation"]:
            self.seen[meta["uid"]] = meta["generation"]
            return
        self.step(obj)

    @abc.abstractmethod
    def step(self, obj: dict[str, Any]) -> None:
        """Moves ``obj``'s status one step on (each target's controller defines it)."""


def _conditions(**statuses: str | tuple[str, str, str]) -> list[dict[str, Any]]:
    """Conditions from ``Type="True"`` or ``Type=("False", reason, message)``."""
    out = []
    for kind, value in statuses.items():
        status, reason, message = (value, "", "") if isinstance(value, str) else value
        entry = {"type": kind, "status": status, "lastTransitionTime": "2026-12-02T00:00:00Z"}
        if reason:
            entry["reason"] = reason
        if message:
            entry["message"] = message
        out.append(entry)
    return out


@dataclass
class _Revision:
    name: str
    storage_uri: str
    ready: bool = False
    failed: bool = False


@dataclass
class _IsvcState:
    template: str = ""
    revisions: list[_Revision] = field(default_factory=list)
    rolled_out: str | None = None
    previous_rolled_out: str | None = None


class KServeController(Controller):
    """KServe in Serverless mode: a revision per predictor template, traffic per revision.

    Step 1 after a spec change observes the generation (and creates a revision when the
    predictor template changed: everything but ``canaryTrafficPercent``); step 2 makes the
    new revision ready, or failed if its artifact fails to load. Traffic: with
    ``canaryTrafficPercent`` N the latest ready revision gets N % and the rolled-out one
    the rest (N = 0 is KServe's rollback: all to the rolled-out revision); without it the
    latest ready revision gets 100 % and becomes the rolled-out one once it is Ready. An
    artifact that fails at full traffic turns Ready/PredictorReady False at 100 %.
    """

    def __init__(self, cluster: MemoryCluster) -> None:
        super().__init__(cluster)
        self.state: dict[str, _IsvcState] = {}

    def step(self, obj: dict[str, Any]) -> None:
        meta, status = obj["metadata"], obj.setdefault("status", {})
        state = self.state.setdefault(meta["uid"], _IsvcState())
        predictor = obj["spec"]["predictor"]
        if status.get("observedGeneration") != meta["generation"]:
            template = json.dumps(
                {k: v for k, v in predictor.items() if k != "canaryTrafficPercent"}, sort_keys=True
            )
            if template != state.template:
                state.template = template
                number = len(state.revisions) + 1
                state.revisions.append(
                    _Revision(
                        f"{meta['name']}-predictor-{number:05d}", predictor["model"]["storageUri"]
                    )
                )
            status["observedGeneration"] = meta["generation"]
            status.setdefault("deploymentMode", "Serverless")
            self._write(obj, state)
            return
        latest = state.revisions[-1]
        behaviour = self.cluster.behaviour(latest.storage_uri)
        if not latest.ready and not latest.failed and behaviour is not Behaviour.NEVER_READY:
            latest.failed = behaviour is Behaviour.FAILS_TO_LOAD
            latest.ready = not latest.failed
        self._write(obj, state)

    def _write(self, obj: dict[str, Any], state: _IsvcState) -> None:
        status = obj["status"]
        latest = state.revisions[-1]
        ready = [r for r in state.revisions if r.ready]
        latest_ready = ready[-1].name if ready else None
        canary = obj["spec"]["predictor"].get("canaryTrafficPercent")
        traffic: dict[str, int] = {}
        if canary is not None and state.rolled_out and latest_ready != state.rolled_out:
            if latest_ready and canary:
                traffic[latest_ready] = canary
            traffic[state.rolled_out] = 100 - sum(traffic.values())
        elif latest_ready:
            traffic[latest_ready] = 100
        full_failure = (
            latest.ready
            and traffic.get(latest.name) == 100
            and self.cluster.behaviour(latest.storage_uri) is Behaviour.FAILS_AT_FULL_TRAFFIC
        )
        ok = "True"
        conditions: dict[str, Any] = {
            "IngressReady": ok,
            "LatestDeploymentReady": ok if latest.ready else "Unknown",
            "PredictorConfigurationReady": ok,
            "PredictorReady": ok if latest_ready else "Unknown",
            "PredictorRouteReady": ok,
            "Ready": ok if latest_ready else "Unknown",
        }
        model_status: dict[str, Any] = {
            "copies": {"failedCopies": 0, "totalCopies": 1},
            "states": {"activeModelState": "Loaded", "targetModelState": "Loaded"},
            "transitionStatus": "UpToDate",
        }
        if latest.failed:
            message = (
                f'Revision "{latest.name}" failed with message: Container failed with: '
                "ModuleNotFoundError: No module named 'xgboost'."
            )
            conditions["LatestDeploymentReady"] = ("False", "RevisionFailed", message)
            model_status = {
                "copies": {"failedCopies": 1, "totalCopies": 1},
                "states": {"activeModelState": "Loaded", "targetModelState": "FailedToLoad"},
                "transitionStatus": "BlockedByFailedLoad",
                "lastFailureInfo": {
                    "reason": "ModelLoadFailed",
                    "modelRevisionName": latest.name,
                    "message": "model failed to load",
                },
            }
        elif full_failure:
            message = f'Revision "{latest.name}": container kserve-container was OOMKilled'
            conditions["PredictorReady"] = ("False", "RevisionFailed", message)
            conditions["Ready"] = ("False", "RevisionFailed", message)
        elif (
            canary is None
            and latest_ready
            and traffic.get(latest_ready) == 100
            and state.rolled_out != latest_ready
        ):  # a full rollout that serves becomes the rolled-out revision
            state.previous_rolled_out, state.rolled_out = state.rolled_out, latest_ready
        predictor_status: dict[str, Any] = {
            "latestCreatedRevision": latest.name,
            "traffic": [
                {"revisionName": name, "percent": percent, "latestRevision": name == latest.name}
                for name, percent in traffic.items()
            ],
        }
        if latest_ready:
            predictor_status["latestReadyRevision"] = latest_ready
        if state.rolled_out:
            predictor_status["latestRolledoutRevision"] = state.rolled_out
        if state.previous_rolled_out:
            predictor_status["previousRolledoutRevision"] = state.previous_rolled_out
        status["conditions"] = _conditions(**conditions)
        status["modelStatus"] = model_status
        status["components"] = {"predictor": predictor_status}
        status["url"] = (
            f"http://{obj['metadata']['name']}.{obj['metadata']['namespace']}.example.com"
        )


class SeldonModelController(Controller):
    """Seldon Core 2 Model: observe, then ``ModelProgressing``, then ready or failed.

    A Model whose artifact fails to load reports ``ModelFailed``; one that fails at full
    traffic serves as a candidate (``<served name>-v<version>``, a share of the traffic)
    and reports ``ScheduleFailed`` as the default Model.
    """

    def step(self, obj: dict[str, Any]) -> None:
        meta, status = obj["metadata"], obj.setdefault("status", {})
        if status.get("observedGeneration") != meta["generation"]:
            status.update(observedGeneration=meta["generation"], replicas=1, availableReplicas=0)
            progressing = ("False", "ModelProgressing", "Model is being loaded")
            status["conditions"] = _conditions(ModelReady=progressing, Ready=progressing)
            return
        if (status["conditions"][0].get("reason") or "") != "ModelProgressing":
            return
        behaviour = self.cluster.behaviour(obj["spec"]["storageUri"])
        if behaviour is Behaviour.NEVER_READY:
            return
        # The suite names a candidate <served name>-v<version> (seldon.candidate_name).
        version = (meta.get("labels") or {}).get("mlops.kfp-suite.io/model-version", "")
        is_candidate = meta["name"].endswith(f"-v{version}")
        if behaviour is Behaviour.FAILS_TO_LOAD:
            failed = (
                "False",
                "ModelFailed",
                f"failed to load model {meta['name']}: no module xgboost",
            )
        elif behaviour is Behaviour.FAILS_AT_FULL_TRAFFIC and not is_candidate:
            failed = (
                "False",
                "ScheduleFailed",
                f"failed to schedule model {meta['name']}: no memory",
            )
        else:
            status["availableReplicas"] = 1
            status["conditions"] = _conditions(ModelReady="True", Ready="True")
            return
        status["conditions"] = _conditions(ModelReady=failed, Ready=failed)


class SeldonExperimentController(Controller):
    """Seldon Core 2 Experiment: ready once every candidate Model is ready."""

    def step(self, obj: dict[str, Any]) -> None:
        meta, status = obj["metadata"], obj.setdefault("status", {})
        if status.get("observedGeneration") != meta["generation"]:
            status["observedGeneration"] = meta["generation"]
            waiting = ("False", "ExperimentProgressing", "waiting for candidates")
            status["conditions"] = _conditions(ExperimentReady=waiting, Ready=waiting)
            return
        api = obj["apiVersion"]
        models = [
            self.cluster.objects.get(_key(api, "Model", c["name"], meta["namespace"]))
            for c in obj["spec"]["candidates"]
        ]
        ready = all(
            m is not None
            and any(
                c["type"] == "ModelReady" and c["status"] == "True"
                for c in (m.get("status") or {}).get("conditions") or []
            )
            for m in models
        )
        if ready:
            status["conditions"] = _conditions(
                ExperimentReady="True", CandidatesReady="True", Ready="True"
            )
