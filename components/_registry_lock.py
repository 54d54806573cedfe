"""One writer at a time for a registered model's aliases, built on the MLflow registry itself.

Why: an alias move is several MLflow calls (read ``champion``, write ``previous``, write
``champion``), and MLflow has no compare-and-set. Two promotions that interleave lose an
update (both read the same champion; the first promoted version ends up in neither
``champion`` nor ``previous``), and on PostgreSQL two first-time writes of one alias
race inside MLflow's own upsert (an IntegrityError answered as a server error). Pipeline
pods reach the registry only over MLflow's REST API, so the lock must live there too.

How: the lock of registered model ``<name>`` is a companion registered model
``<name>.registry-lock``; taking the lock creates one *ticket*, a model version of it.
MLflow numbers a model's versions ``max(version) + 1`` inside one transaction (a unique
key, retried on conflict, and deleted versions keep their numbers), so ticket numbers
are unique and increasing, and a ticket numbered below mine was committed before mine
was. The holder is the lowest live ticket: a process waits until every lower ticket is
released (deleted) or expired. No two processes can both see themselves lowest, and no
ticket can appear below one that is already waiting; this is ZooKeeper's sequential-node
lock, with the registry's version numbers as the sequence.

A holder killed while holding never releases its ticket, so every ticket carries a lease
(seconds, a version tag written in the same call that creates it). Expiry is judged on
the *server's* clock only: the ticket's ``creation_timestamp`` plus the lease, against
the waiter's own ticket's ``creation_timestamp`` plus the time it has waited, so clock
skew between pods does not matter. A waiting process renews its own lease as it waits
(it rewrites the tag), so a long queue never makes a live ticket look dead. The
assumption that makes this a lock rather than a hint: a holder finishes its writes
within its lease. Alias moves take milliseconds against a default lease of 120 s, and
`Ticket.ensure_held` refuses a write once the lease has run out.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlflow import MlflowClient

LOCK_SUFFIX = ".registry-lock"
# MLflow requires a source for a model version; a ticket's is never downloaded. A scheme of
# its own, an absolute path naming no host and no run: the server accepts it without a
# run_id (it refuses mlflow-artifacts:/ and runs:/ sources that no run contains).
TICKET_SOURCE = "suite-lock:/registry-lock/ticket"
TAG_LEASE = "suite.lock.live_seconds"  # live for this long after creation
TAG_OWNER = "suite.lock.owner"
TAG_PURPOSE = "suite.lock.purpose"
DEFAULT_LEASE_SECONDS = 120.0
DEFAULT_TIMEOUT_SECONDS = 600.0
DEFAULT_POLL_SECONDS = 0.2
_GONE = ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE")


class RegistryLockTimeout(TimeoutError):
    """The lock was not acquired in time; names the ticket(s) still ahead."""


class RegistryLockLost(RuntimeError):
    """The holder's lease ran out before a write; the write was not made."""


def lock_model_name(name: str) -> str:
    """Returns the name of the registered model that holds `name`'s lock tickets.

    Args:
        name: Registered model whose aliases the lock protects.
    """
    return f"{name}{LOCK_SUFFIX}"


@dataclass
class Ticket:
    """A held lock: one model version of the lock model.

    Attributes:
        lock_name: The lock model (see `lock_model_name`).
        number: The ticket's version number (the order of acquisition).
        created_ms: Server time the ticket was created, in ms.
        lease_seconds: How long the ticket stays live after each renewal.
        owner: Random id of the process that took it (a tag, for people reading the UI).
        started: `time.monotonic()` when the ticket was created.
        live_until: Seconds after creation until which the ticket counts as live (its
            lease tag: the lease, plus the time waited before the last renewal).
    """

    lock_name: str
    number: int
    created_ms: int
    lease_seconds: float
    owner: str
    started: float = field(default_factory=time.monotonic)
    live_until: float = 0.0

    def __post_init__(self) -> None:
        self.live_until = self.live_until or self.lease_seconds

    def elapsed(self) -> float:
        """Seconds since the ticket was created."""
        return time.monotonic() - self.started

    def server_now_ms(self) -> float:
        """The server's current time as this process can tell it (its clock is never read)."""
        return self.created_ms + self.elapsed() * 1000.0

    def renew(self, client: MlflowClient) -> None:
        """Extends the lease to `lease_seconds` from now (rewrites the ticket's lease tag).

        Args:
            client: MLflow client.

        Raises:
            RegistryLockLost: If the lease already ran out or the ticket is gone.
        """
        from mlflow.exceptions import MlflowException

        self.ensure_held()
        live_until = self.elapsed() + self.lease_seconds
        try:
            client.set_model_version_tag(
                self.lock_name, str(self.number), TAG_LEASE, f"{live_until:.3f}"
            )
        except MlflowException as error:
            if error.error_code in _GONE:
                raise RegistryLockLost(
                    f"lock {self.lock_name} ticket {self.number} was removed while waiting"
                ) from error
            raise
        self.live_until = live_until

    def ensure_held(self) -> None:
        """Raises `RegistryLockLost` if this ticket's lease has run out.

        Raises:
            RegistryLockLost: If the lease expired; another process may hold the lock.
        """
        # This process's clock starts a request's latency after the server's did: keep a
        # margin so the holder never believes in more lease than the waiters grant it.
        margin = min(1.0, self.lease_seconds / 10)
        if self.elapsed() >= self.live_until - margin:
            raise RegistryLockLost(
                f"lock {self.lock_name} ticket {self.number}: its lease ran out "
                f"{self.elapsed() - self.live_until:.1f}s ago; no further write was made"
            )


def _is_live(version, now_ms: float) -> bool:
    """True when a ticket's lease has not run out at server time `now_ms`."""
    lease = float(version.tags.get(TAG_LEASE, DEFAULT_LEASE_SECONDS))
    return now_ms < int(version.creation_timestamp) + lease * 1000.0


def _ensure_lock_model(client: MlflowClient, lock_name: str, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(
            lock_name,
            description=(
                f"Suite registry lock for `{name}`: each version is a ticket held or awaited "
                "by one alias move (register/promote). Not a model; do not serve it."
            ),
        )
    except MlflowException as error:
        if error.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise


def _release(client: MlflowClient, lock_name: str, number: int) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.delete_model_version(lock_name, str(number))
    except MlflowException as error:
        if error.error_code not in _GONE:
            raise


@contextmanager
def registry_lock(
    client: MlflowClient,
    name: str,
    purpose: str,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
) -> Iterator[Ticket]:
    """Holds `name`'s registry lock for the body of a ``with`` block.

    Args:
        client: MLflow client (any backend: sqlite file, or a tracking server).
        name: Registered model whose aliases are about to move.
        purpose: Short text recorded on the ticket, e.g. ``promote v3``.
        lease_seconds: How long this ticket counts as held if this process dies.
        timeout_seconds: How long to wait for the tickets ahead before giving up.
        poll_seconds: Pause between looks at the tickets ahead.

    Yields:
        The held ticket; call `Ticket.ensure_held` before each write.

    Raises:
        RegistryLockTimeout: If a live ticket is still ahead after `timeout_seconds`.
    """
    lock_name = lock_model_name(name)
    _ensure_lock_model(client, lock_name, name)
    owner = uuid.uuid4().hex
    created = client.create_model_version(
        lock_name,
        TICKET_SOURCE,
        tags={TAG_LEASE: f"{lease_seconds:g}", TAG_OWNER: owner, TAG_PURPOSE: purpose[:250]},
    )
    ticket = Ticket(
        lock_name, int(created.version), int(created.creation_timestamp), lease_seconds, owner
    )
    try:
        deadline = time.monotonic() + timeout_seconds
        while True:
            now_ms = ticket.server_now_ms()
            ahead = []
            for version in client.search_model_versions(f"name='{lock_name}'"):
                if int(version.version) >= ticket.number:
                    continue
                if _is_live(version, now_ms):
                    ahead.append(version)
                else:
                    # Its holder died; the ticket only clutters the lock model.
                    _release(client, lock_name, int(version.version))
            if not ahead:
                break
            if ticket.elapsed() > ticket.live_until - ticket.lease_seconds / 2:
                ticket.renew(client)
            if time.monotonic() >= deadline:
                raise RegistryLockTimeout(
                    f"lock {lock_name}: ticket {ticket.number} waited {timeout_seconds:g}s; "
                    "still ahead: "
                    + ", ".join(
                        f"{v.version} ({v.tags.get(TAG_PURPOSE, '?')})"
                        for v in sorted(ahead, key=lambda v: int(v.version))
                    )
                )
            time.sleep(poll_seconds)
        if ticket.elapsed() > ticket.lease_seconds / 4:
            ticket.renew(client)  # a full lease for the writes, whatever the wait was
        yield ticket
    finally:
        _release(client, lock_name, ticket.number)
