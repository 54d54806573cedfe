"""Move MLflow registry aliases only after a rollout is confirmed.

``champion`` is what serves; ``previous`` is the rollback target. Promotion is
`components._aliases`' (one implementation of the alias rules); a rolled-back version
keeps its aliases untouched and gets a ``suite.rolled_back`` tag saying why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components._aliases import alias_version, promote
from components._mlflow import TAG_ROLLED_BACK

if TYPE_CHECKING:
    from mlflow import MlflowClient

__all__ = ["alias_version", "mark_rolled_back", "promote_champion"]


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
    client.set_model_version_tag(name, str(version), TAG_ROLLED_BACK, reason[:5000])
