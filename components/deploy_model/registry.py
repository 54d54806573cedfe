"""Move MLflow registry aliases only after a rollout is confirmed.

``champion`` is what serves; ``previous`` is the rollback target. Promotion is
`register_model`'s (one implementation of the alias rules); a rolled-back version
keeps its aliases untouched and gets a ``suite.rolled_back`` tag saying why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components._mlflow import TAG_ROLLED_BACK
from components.register_model.core import alias_version, promote

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["alias_version", "mark_rolled_back", "promote_champion"]


def promote_champion(
    client: MlflowClient,
    name: str,
    version: str,
    *,
    require_approval: bool = False,
    gated_against: str | None = None,
) -> str | None:
    """Points ``champion`` at ``version`` and ``previous`` at the old champion.

    Idempotent: promoting the current champion changes nothing. Under the registry
    lock, `require_approval` re-checks the version's approval and `gated_against` that
    the champion is still the one the gate compared it with (see `promote`).

    Returns:
        The former champion version (None if there was none or it is the same).
    """
    change = promote(
        client, name, version, require_approval=require_approval, gated_against=gated_against
    )
    return change.previous if change.changed else None


def mark_rolled_back(client: MlflowClient, name: str, version: str, reason: str) -> None:
    """Tags a version that failed its rollout; aliases are left as they are."""
    client.set_model_version_tag(name, str(version), TAG_ROLLED_BACK, reason[:5000])
