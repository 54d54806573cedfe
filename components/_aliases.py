"""Move the registry aliases that say what serves: ``champion`` and ``previous``.

Aliases (MLflow stages are deprecated):

- ``challenger``: the latest version that passed the gate (set by `register_model`);
- ``champion``: the version that serves (set by `promote`);
- ``previous``: the champion before the current one, the rollback target.

`register_model` and `promote` are separate steps so a deploy / serving validation can
sit between them: register (challenger) -> validate and deploy -> promote (by
`register_model` right away, or by `deploy_model` after the rollout).
`rollback` puts ``previous`` back as ``champion``. All are idempotent.

Concurrent runs: every alias move holds the registered model's registry lock
(`components._registry_lock`), so moves from concurrent pipeline runs apply one at a
time, in ticket order. A move of two aliases first writes its *intent* (a
registered-model tag naming the target champion and previous), then ``previous``,
then ``champion``, then clears the intent. A process killed in between leaves the old
champion serving (``champion`` is overwritten, never deleted, so it is never absent)
and the intent behind; the next move under the lock finishes it (`repair`) before
doing its own, or refuses with `RegistryStateError` when the intent cannot be
finished, leaving the aliases as they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from components import _governance as gov
from components import _mlflow as mlf
from components._mlflow import alias_version
from components._registry_lock import DEFAULT_LEASE_SECONDS, DEFAULT_TIMEOUT_SECONDS, registry_lock

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from components._registry_lock import Ticket

# Registered-model tags of the alias-move journal; version tags of the promotion order.
TAG_INTENT = "suite.registry.intent"
TAG_REPAIRED = "suite.registry.repaired"
TAG_PROMOTION_TICKET = "suite.promotion.ticket"
TAG_PROMOTION_REPLACED = "suite.promotion.replaced"

# Called after each registry write of an alias move with the step's name ("intent",
# "previous", "champion", "done"); tests kill the process there.
Checkpoint = Callable[[str], None]


class RegistryStateError(RuntimeError):
    """The registry holds an unfinished alias move that cannot be finished automatically."""


@dataclass(frozen=True)
class AliasChange:
    """Where ``champion`` and ``previous`` point after `promote` / `rollback`.

    Attributes:
        champion: Champion version now.
        previous: Previous version now, or None.
        changed: False when nothing had to move.
    """

    champion: str
    previous: str | None
    changed: bool


def _no_checkpoint(_step: str) -> None:
    """The default `Checkpoint`: nothing happens between writes."""


def _apply_move(
    client: MlflowClient,
    name: str,
    intent: Mapping[str, Any],
    ticket: Ticket,
    checkpoint: Checkpoint,
) -> None:
    """Writes an alias move's aliases; idempotent, so a repair may run it again.

    Order matters for a process killed part way: ``previous`` is written before
    ``champion`` (the old champion is then in both, and the serving alias has not
    moved yet); a rollback, with no ``previous`` to write, moves ``champion`` first
    and deletes ``previous`` after. ``champion`` is only ever overwritten.
    """
    champion = str(intent["champion"])
    audit = {
        "who": intent.get("who", ""),
        "why": intent.get("why", "") or str(intent.get("op", "move")),
        "run": intent.get("run", ""),
        "ticket": intent.get("ticket"),
        "op": intent.get("op", ""),
    }
    if intent.get("previous"):
        ticket.ensure_held()
        client.set_registered_model_alias(name, mlf.ALIAS_PREVIOUS, str(intent["previous"]))
        gov.record_audit(
            client, name, intent["previous"], "set_alias", alias=mlf.ALIAS_PREVIOUS, **audit
        )
        checkpoint("previous")
    ticket.ensure_held()
    client.set_registered_model_alias(name, mlf.ALIAS_CHAMPION, champion)
    gov.record_audit(
        client, name, champion, "set_alias", alias=mlf.ALIAS_CHAMPION,
        replaced=intent.get("previous") or intent.get("demoted"), **audit,
    )  # fmt: skip
    checkpoint("champion")
    old_previous = alias_version(client, name, mlf.ALIAS_PREVIOUS)
    if intent.get("clear_previous") and old_previous:
        ticket.ensure_held()
        client.delete_registered_model_alias(name, mlf.ALIAS_PREVIOUS)
        gov.record_audit(
            client, name, old_previous, "remove_alias", alias=mlf.ALIAS_PREVIOUS, **audit
        )
    if alias_version(client, name, mlf.ALIAS_CHALLENGER) == champion:
        ticket.ensure_held()
        client.delete_registered_model_alias(name, mlf.ALIAS_CHALLENGER)
        gov.record_audit(
            client, name, champion, "remove_alias", alias=mlf.ALIAS_CHALLENGER, **audit
        )
    if intent.get("op") == "rollback" and intent.get("demoted"):
        client.set_model_version_tag(name, str(intent["demoted"]), mlf.TAG_ROLLED_BACK, "true")
    if intent.get("op") == "promote":
        client.set_model_version_tag(name, champion, TAG_PROMOTION_TICKET, str(intent["ticket"]))
        client.set_model_version_tag(
            name, champion, TAG_PROMOTION_REPLACED, str(intent.get("previous") or "")
        )


def _write_intent(
    client: MlflowClient, name: str, intent: Mapping[str, Any], ticket: Ticket
) -> None:
    ticket.ensure_held()
    client.set_registered_model_tag(name, TAG_INTENT, json.dumps(dict(intent), sort_keys=True))


def _clear_intent(client: MlflowClient, name: str, ticket: Ticket) -> None:
    ticket.ensure_held()
    client.delete_registered_model_tag(name, TAG_INTENT)


def pending_intent(client: MlflowClient, name: str) -> dict[str, Any] | None:
    """Returns the unfinished alias move recorded on `name`, or None.

    Args:
        client: MLflow client.
        name: Registered model name.

    Raises:
        RegistryStateError: If the recorded intent is not readable JSON.
    """
    raw = client.get_registered_model(name).tags.get(TAG_INTENT)
    if raw is None:
        return None
    try:
        intent = json.loads(raw)
        str(intent["champion"])
    except (ValueError, KeyError, TypeError) as error:
        raise RegistryStateError(
            f"registered model {name!r} has an unreadable tag {TAG_INTENT}={raw!r}: an alias "
            "move was interrupted and cannot be finished automatically. Check the aliases "
            f"by hand, then delete the tag."
        ) from error
    return intent


def repair_locked(
    client: MlflowClient, name: str, ticket: Ticket, checkpoint: Checkpoint = _no_checkpoint
) -> dict[str, Any] | None:
    """Finishes an interrupted alias move; the caller holds the registry lock.

    Returns:
        The intent that was finished, or None if there was none.

    Raises:
        RegistryStateError: If a version the intent names no longer exists (nothing is
            written then: the old champion keeps serving).
    """
    from mlflow.exceptions import MlflowException

    intent = pending_intent(client, name)
    if intent is None:
        return None
    for key in ("champion", "previous"):
        if not intent.get(key):
            continue
        try:
            client.get_model_version(name, str(intent[key]))
        except MlflowException as error:
            raise RegistryStateError(
                f"registered model {name!r}: an interrupted {intent.get('op', 'move')} "
                f"(ticket {intent.get('ticket')}) wanted {key}=v{intent[key]}, which no longer "
                f"exists ({error.error_code}). The aliases were left as they are "
                f"(champion=v{alias_version(client, name, mlf.ALIAS_CHAMPION)}). Check them, "
                f"then delete the tag {TAG_INTENT} to let moves go on."
            ) from error
    _apply_move(client, name, intent, ticket, checkpoint)
    ticket.ensure_held()
    client.set_registered_model_tag(
        name, TAG_REPAIRED, json.dumps({**intent, "repaired_by": ticket.number}, sort_keys=True)
    )
    _clear_intent(client, name, ticket)
    return intent


def repair(
    client: MlflowClient,
    name: str,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> dict[str, Any] | None:
    """Finishes an alias move that a killed process left half done, under the lock.

    Every `register`, `promote` and `rollback` does this first, so calling it alone is
    only needed to fix the registry without moving anything else.

    Args:
        client: MLflow client.
        name: Registered model name.
        lease_seconds: Lease of this process's lock ticket.
        timeout_seconds: How long to wait for the lock.

    Returns:
        The intent that was finished (``op``, ``champion``, ``previous``, ``ticket``),
        or None when nothing was pending.

    Raises:
        RegistryStateError: If the pending move cannot be finished (see `pending_intent`).
    """
    with registry_lock(client, name, "repair", lease_seconds, timeout_seconds) as ticket:
        return repair_locked(client, name, ticket)


def promote(
    client: MlflowClient,
    name: str,
    version: str | int,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    checkpoint: Checkpoint = _no_checkpoint,
    *,
    require_approval: bool = False,
    why: str = "",
    pipeline_run: str = "",
) -> AliasChange:
    """Makes `version` the ``champion``; the champion it replaces becomes ``previous``.

    With `require_approval`, only a version a person approved
    (`components._governance.approve`) is promoted; the check runs under the lock.
    Every alias written gets an audit record on its version (who, why, run, ticket).

    A ``challenger`` alias on `version` is removed: the challenger has won, and a
    later reader must not mistake it for a candidate still waiting. Promoting the
    current champion again changes nothing (``previous`` keeps its target).

    Safe under concurrency: the move holds the registry lock, so concurrent promotions
    apply one after the other (the later one's ``previous`` is the earlier one's
    version), and an interrupted earlier move is finished first. The promoted version
    gets ``suite.promotion.ticket`` (the order of promotions) and
    ``suite.promotion.replaced`` (the champion it replaced) tags.

    Args:
        client: MLflow client.
        name: Registered model name.
        version: Version to promote.
        lease_seconds: Lease of this process's lock ticket.
        timeout_seconds: How long to wait for the lock.
        checkpoint: Called after each write (tests use it to kill the process there).
        require_approval: Refuse a version without an approval record.
        why: Reason recorded in the audit records.
        pipeline_run: Pipeline run recorded in the audit records.

    Raises:
        components._governance.ApprovalRequired: With `require_approval`, if the
            version was not approved (or was rejected).
        mlflow.exceptions.MlflowException: If the version does not exist.
        RegistryStateError: If an interrupted earlier move cannot be finished.
        components._registry_lock.RegistryLockTimeout: If the lock stays taken.
    """
    version = str(version)
    client.get_model_version(name, version)
    with registry_lock(
        client, name, f"promote v{version}", lease_seconds, timeout_seconds
    ) as ticket:
        repair_locked(client, name, ticket)
        if require_approval:
            decision = gov.require_approved(client, name, version)
            why = why or f"approved by {decision['by']}: {decision['reason']}"
        current = alias_version(client, name, mlf.ALIAS_CHAMPION)
        if current == version:
            if alias_version(client, name, mlf.ALIAS_CHALLENGER) == version:
                ticket.ensure_held()
                client.delete_registered_model_alias(name, mlf.ALIAS_CHALLENGER)
            return AliasChange(version, alias_version(client, name, mlf.ALIAS_PREVIOUS), False)
        intent = {"op": "promote", "champion": version, "previous": current}
        intent.update(ticket=ticket.number, who=gov.actor(), why=why, run=pipeline_run)
        _write_intent(client, name, intent, ticket)
        checkpoint("intent")
        _apply_move(client, name, intent, ticket, checkpoint)
        _clear_intent(client, name, ticket)
        checkpoint("done")
        previous = current or alias_version(client, name, mlf.ALIAS_PREVIOUS)
    return AliasChange(version, previous, True)


def rollback(
    client: MlflowClient,
    name: str,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    checkpoint: Checkpoint = _no_checkpoint,
    *,
    why: str = "",
    pipeline_run: str = "",
) -> AliasChange:
    """Puts ``previous`` back as ``champion``.

    The demoted version is tagged ``suite.rolled_back=true`` and the
    ``previous`` alias is removed, so a second rollback cannot bring the
    demoted version back by accident (it raises instead). Holds the registry lock
    and journals the move like `promote`.

    Args:
        client: MLflow client.
        name: Registered model name.
        lease_seconds: Lease of this process's lock ticket.
        timeout_seconds: How long to wait for the lock.
        checkpoint: Called after each write (tests use it to kill the process there).
        why: Reason recorded in the audit records.
        pipeline_run: Pipeline run recorded in the audit records.

    Raises:
        ValueError: If there is no ``previous`` version to roll back to.
        RegistryStateError: If an interrupted earlier move cannot be finished.
    """
    with registry_lock(client, name, "rollback", lease_seconds, timeout_seconds) as ticket:
        repair_locked(client, name, ticket)
        previous = alias_version(client, name, mlf.ALIAS_PREVIOUS)
        if previous is None:
            raise ValueError(f"registered model {name!r} has no {mlf.ALIAS_PREVIOUS!r} version")
        current = alias_version(client, name, mlf.ALIAS_CHAMPION)
        intent = {
            "op": "rollback",
            "champion": previous,
            "previous": None,
            "clear_previous": True,
            "demoted": current if current != previous else None,
            "ticket": ticket.number,
            "who": gov.actor(),
            "why": why or "rollback",
            "run": pipeline_run,
        }
        _write_intent(client, name, intent, ticket)
        checkpoint("intent")
        _apply_move(client, name, intent, ticket, checkpoint)
        _clear_intent(client, name, ticket)
        checkpoint("done")
    return AliasChange(previous, None, True)


def promote_champion(client: MlflowClient, name: str, version: str) -> str | None:
    """Points ``champion`` at ``version`` and ``previous`` at the old champion.

    Idempotent: promoting the current champion changes nothing.

    Returns:
        The former champion version (None if there was none or it is the same).
    """
    change = promote(client, name, version)
    return change.previous if change.changed else None


def mark_rolled_back(client: MlflowClient, name: str, version: str, reason: str) -> None:
    """Tags a version that failed its rollout; aliases are left as they are."""
    client.set_model_version_tag(name, str(version), mlf.TAG_ROLLED_BACK, reason[:5000])
