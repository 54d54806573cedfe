"""Move MLflow registry aliases only after a rollout is confirmed.

``champion`` is what serves; ``previous`` is the rollback target. A rolled-back
version keeps its aliases untouched and gets a ``suite.rolled_back`` tag saying
why. (Written here because ``register_model``'s promote/rollback helpers were
not committed when this was; swap them in if they land.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components._mlflow import ALIAS_CHAMPION, ALIAS_PREVIOUS, TAG_ROLLED_BACK

if TYPE_CHECKING:
    from mlflow import MlflowClient


def alias_version(client: MlflowClient, name: str, alias: str) -> str | None:
    """Returns the version an alias points at, or None if the alias is not set."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def promote_champion(client: MlflowClient, name: str, version: str) -> str | None:
    """Points ``champion`` at ``version`` and ``previous`` at the old champion.

    Idempotent: promoting the current champion changes nothing.

    Returns:
        The former champion version (None if there was none or it is the same).
    """
    current = alias_version(client, name, ALIAS_CHAMPION)
    if current == str(version):
        return None
    if current is not None:
        client.set_registered_model_alias(name, ALIAS_PREVIOUS, current)
    client.set_registered_model_alias(name, ALIAS_CHAMPION, str(version))
    return current


def mark_rolled_back(client: MlflowClient, name: str, version: str, reason: str) -> None:
    """Tags a version that failed its rollout; aliases are left as they are."""
    client.set_model_version_tag(name, str(version), TAG_ROLLED_BACK, reason[:5000])
