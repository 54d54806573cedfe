"""MLServer's repository API as the tests read it (what a model repository holds)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from components._serving.v2 import post_json

if TYPE_CHECKING:
    import requests


def repository_index(session: requests.Session, base_url: str) -> list[dict[str, Any]]:
    """Lists the models MLServer finds in its repository, with state and version.

    Raises:
        RuntimeError: If the server does not answer 200.
    """
    answer = post_json(session, base_url.rstrip("/") + "/v2/repository/index", {})
    if not answer.ok:
        raise RuntimeError(f"repository index failed with {answer.status}: {answer.error}")
    return list(answer.body.get("result", []))
