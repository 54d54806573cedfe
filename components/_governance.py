"""Approval and audit records on MLflow model versions (open-source MLflow has neither).

Approval: a person approves or rejects a registered version (`approve`, `reject`); the
decision is one version tag, ``suite.approval``, a JSON record of who, when and why.
With approval required, `components.register_model.core.promote` moves ``champion``
only to an approved version, and checks that under the registry lock, so an approval
and a promotion cannot interleave.

Audit: every alias move (``challenger`` set by a registration, ``champion`` /
``previous`` moved by a promotion, an alias removed) and every approval
decision writes one record on the model version it concerns: a version tag
``suite.audit.<UTC ms>.<n>`` holding JSON ``{at, who, action, alias, run, why, ...}``.
Tags are never rewritten, so a version's tags are its alias history (`audit_history`).

Who: ``$SUITE_ACTOR`` when set (a pipeline sets the KFP run's identity), else the
operating-system user.
"""

from __future__ import annotations

import getpass
import itertools
import json
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow import MlflowClient

TAG_APPROVAL = "suite.approval"
AUDIT_PREFIX = "suite.audit."
APPROVED = "approved"
REJECTED = "rejected"
_counter = itertools.count()


class ApprovalRequired(PermissionError):
    """A promotion was refused: the version has no approval (or was rejected)."""


class StaleGate(PermissionError):
    """A promotion was refused: the champion moved since the gate compared the version."""


# What the next pipeline run finds about a waiting challenger (`waiting_challenger`).
READY = "ready"
NO_CHALLENGER = "no challenger waiting"
AWAITING = "awaiting approval"
WAS_REJECTED = "rejected"
ROLLED_BACK = "rolled back"
NOT_BLESSED = "not blessed"
STALE = "stale"


@dataclass(frozen=True)
class WaitingChallenger:
    """The registry's ``challenger`` as the next pipeline run sees it.

    Attributes:
        status: `READY` (promote it), or why not: `NO_CHALLENGER`, `AWAITING`,
            `WAS_REJECTED`, `ROLLED_BACK`, `NOT_BLESSED`, `STALE`.
        version: The challenger version, or None without one.
        gated_against: The champion version the gate compared it with ("" = none,
            None = not recorded).
        reason: One line for the log.
    """

    status: str
    version: str | None
    gated_against: str | None
    reason: str

    @property
    def ready(self) -> bool:
        """True iff the next run promotes this version."""
        return self.status == READY


def actor() -> str:
    """Returns who acts: ``$SUITE_ACTOR``, else the operating-system user."""
    explicit = os.environ.get("SUITE_ACTOR", "").strip()
    if explicit:
        return explicit
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> tuple[int, str]:
    ms = int(time.time() * 1000)
    return ms, datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def record_audit(
    client: MlflowClient,
    name: str,
    version: str | int,
    action: str,
    *,
    alias: str = "",
    why: str = "",
    run: str = "",
    who: str = "",
    **details: Any,
) -> dict[str, Any]:
    """Writes one audit record on a model version; returns it.

    Args:
        client: MLflow client.
        name: Registered model name.
        version: The version the record concerns.
        action: What happened, e.g. ``set_alias``, ``remove_alias``, ``approve``.
        alias: The alias moved, if any.
        why: The reason given (a person's text or the step that moved it).
        run: Pipeline run (or MLflow run) the move came from; "" = none (a CLI call).
        who: Actor; "" = `actor()`.
        **details: Further JSON-safe fields (e.g. ``replaced``, ``ticket``).
    """
    ms, at = _now()
    record = {
        "at": at,
        "who": who or actor(),
        "action": action,
        "alias": alias,
        "run": run,
        "why": why,
        **details,
    }
    key = f"{AUDIT_PREFIX}{ms:013d}.{os.getpid()}.{next(_counter)}"
    client.set_model_version_tag(name, str(version), key, json.dumps(record, sort_keys=True))
    return record


def audit_history(tags: dict[str, str]) -> list[dict[str, Any]]:
    """Returns a version's audit records, oldest first, from its tags.

    Args:
        tags: The model version's tags (``ModelVersion.tags``).
    """
    records = []
    for key in sorted(k for k in tags if k.startswith(AUDIT_PREFIX)):
        try:
            records.append(json.loads(tags[key]))
        except ValueError:
            records.append({"action": "unreadable", "raw": tags[key]})
    return records


def approval(tags: dict[str, str]) -> dict[str, Any] | None:
    """Returns a version's approval decision (``decision``, ``by``, ``at``, ``reason``), or None.

    Args:
        tags: The model version's tags.
    """
    raw = tags.get(TAG_APPROVAL)
    return json.loads(raw) if raw else None


def _decide(
    client: MlflowClient, name: str, version: str | int, decision: str, reason: str, who: str
) -> dict[str, Any]:
    if not reason.strip():
        raise ValueError(f"a {decision} decision needs a reason (--reason TEXT)")
    mv = client.get_model_version(name, str(version))
    _, at = _now()
    record = {"decision": decision, "by": who or actor(), "at": at, "reason": reason}
    client.set_model_version_tag(name, str(mv.version), TAG_APPROVAL, json.dumps(record))
    action = {APPROVED: "approve", REJECTED: "reject"}[decision]
    record_audit(client, name, mv.version, action, why=reason, who=record["by"])
    return record


def approve(
    client: MlflowClient, name: str, version: str | int, reason: str, who: str = ""
) -> dict[str, Any]:
    """Records that a person approved `version` for promotion.

    Args:
        client: MLflow client.
        name: Registered model name.
        version: Version approved.
        reason: Why (required).
        who: Approver; "" = `actor()`.

    Raises:
        ValueError: Without a reason.
        mlflow.exceptions.MlflowException: If the version does not exist.
    """
    return _decide(client, name, version, APPROVED, reason, who)


def reject(
    client: MlflowClient, name: str, version: str | int, reason: str, who: str = ""
) -> dict[str, Any]:
    """Records that a person rejected `version`: it can no longer be promoted.

    Args:
        client: MLflow client.
        name: Registered model name.
        version: Version rejected.
        reason: Why (required).
        who: Who rejected it; "" = `actor()`.

    Raises:
        ValueError: Without a reason.
    """
    return _decide(client, name, version, REJECTED, reason, who)


def require_approved(client: MlflowClient, name: str, version: str | int) -> dict[str, Any]:
    """Returns `version`'s approval, or raises `ApprovalRequired` naming what is missing.

    Args:
        client: MLflow client.
        name: Registered model name.
        version: Version about to be promoted.
    """
    mv = client.get_model_version(name, str(version))
    decision = approval(mv.tags)
    if decision is None:
        raise ApprovalRequired(
            f"{name} v{mv.version} is waiting for approval: run `python -m pipelines approve "
            f"--model {name} --version {mv.version} --reason TEXT` (or `reject`)"
        )
    if decision["decision"] != APPROVED:
        raise ApprovalRequired(
            f"{name} v{mv.version} was {decision['decision']} by {decision['by']} at "
            f"{decision['at']}: {decision['reason']}"
        )
    return decision


def waiting_challenger(client: MlflowClient, name: str) -> WaitingChallenger:
    """Decides whether the next pipeline run promotes the waiting ``challenger``.

    The rule ("as recorded"): the challenger is promoted iff a person approved it, the
    gate blessed it, it was never rolled back, and the champion the gate compared it
    with still serves (the version tag ``suite.gate.champion_version``; "" = there was none, and
    there still is none). The gate is not run again: its verdict holds for the champion
    it was measured against, and only for that one. A champion that moved in between
    (another promotion, a rollback) makes the verdict stale: the version is not
    promoted by a run, though a person may still `promote` it by hand.

    Args:
        client: MLflow client.
        name: Registered model name.
    """
    from mlflow.exceptions import MlflowException

    from components import _mlflow as mlf

    blessed_tag, gate_champion_tag = mlf.TAG_GATE_BLESSED, mlf.TAG_GATE_CHAMPION

    try:
        aliases = client.get_registered_model(name).aliases
    except MlflowException as error:
        if error.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        aliases = {}
    version = aliases.get(mlf.ALIAS_CHALLENGER)
    if version is None:
        return WaitingChallenger(NO_CHALLENGER, None, None, f"{name} has no challenger")
    version = str(version)
    champion = str(aliases.get(mlf.ALIAS_CHAMPION, ""))
    tags = client.get_model_version(name, version).tags
    gated_against = tags.get(gate_champion_tag)
    decision = approval(tags)

    def verdict(status: str, why: str) -> WaitingChallenger:
        return WaitingChallenger(status, version, gated_against, f"{name} v{version}: {why}")

    if version == champion:
        return verdict(NO_CHALLENGER, "is already the champion")
    if tags.get(mlf.TAG_ROLLED_BACK):
        return verdict(ROLLED_BACK, f"was rolled back ({tags[mlf.TAG_ROLLED_BACK][:200]})")
    if tags.get(blessed_tag) != "true":
        return verdict(NOT_BLESSED, f"has no gate blessing ({blessed_tag}={tags.get(blessed_tag)})")
    if decision is None:
        return verdict(AWAITING, "waits for a person's approval (python -m pipelines approve)")
    if decision["decision"] != APPROVED:
        return verdict(WAS_REJECTED, f"was rejected by {decision['by']}: {decision['reason']}")
    if gated_against is None:
        return verdict(STALE, f"records no {gate_champion_tag}: promote it by hand if wanted")
    if gated_against != champion:
        gated = f"v{gated_against}" if gated_against else "no champion"
        now = f"v{champion}" if champion else "none"
        return verdict(
            STALE,
            f"the gate compared it with {gated}, the champion is now {now}: its verdict no "
            "longer holds (a later run gates a new model; `promote` it by hand if wanted)",
        )
    return verdict(READY, f"approved by {decision['by']} ({decision['reason']}); promoting")
