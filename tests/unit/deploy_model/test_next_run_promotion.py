"""The next pipeline run promotes an approved waiting challenger, on a real MLServer.

`deploy_model.core.run` with ``waiting_challenger_of`` is what the training pipeline's
first step (``promote-approved-challenger``) runs when ``require_approval`` is on.
"""

from __future__ import annotations

from collections.abc import Iterator

import mlflow.pyfunc
import numpy as np
import pytest
import requests

from components import _governance as gov
from components import _mlflow as mlf
from components._aliases import promote
from components._mlflow import alias_version
from components._serving.serve import seed_repository
from components._serving.server import start_mlserver
from components._serving.v2 import build_v2_request, decode_v2_outputs, infer
from components.deploy_model.core import DeployConfig, run
from tests._helpers.demo_model import FEATURES, demo_frame, log_demo_model

NAME = "churn"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    """Four demo versions, v1 champion and served by a real local MLServer."""
    root = tmp_path_factory.mktemp("next_run")
    client = mlf.mlflow_client(f"sqlite:///{root / 'mlflow.db'}")
    for c in (1.0, 0.02, 0.3, 3.0):
        log_demo_model(client, NAME, c=c)
    client.set_registered_model_alias(NAME, mlf.ALIAS_CHAMPION, "1")
    repo = root / "serving"
    seed_repository(repo, client, "models:/churn/1")
    server = start_mlserver(repo, ready_models=[NAME])
    yield client, server
    server.stop()


def wait_as_challenger(client, version: str, gated_against: str) -> None:
    """What a run with require_approval leaves: challenger alias, blessing, gate record."""
    client.set_model_version_tag(NAME, version, mlf.TAG_GATE_BLESSED, "true")
    client.set_model_version_tag(NAME, version, mlf.TAG_GATE_CHAMPION, gated_against)
    client.set_registered_model_alias(NAME, mlf.ALIAS_CHALLENGER, version)


def next_run(client, server):
    """The pipeline's promote-approved-challenger step (its wrapper builds this config)."""
    config = DeployConfig(
        "", "local", NAME, require_approval=True, waiting_challenger_of=NAME,
        local_url=server.http_url, local_repo=str(server.repo_dir),
    )  # fmt: skip
    return run(config, client=client)


def served(server) -> tuple[str, np.ndarray]:
    rows = demo_frame(30, seed=9)[list(FEATURES)]
    with requests.Session() as session:
        answer = infer(session, server.http_url, NAME, build_v2_request(rows))
    assert answer.status == 200, answer.error
    return answer.body["model_version"], decode_v2_outputs(answer.body)


def test_waiting_rejected_approved_and_stale_challengers(world) -> None:
    """Only an approved challenger whose gate verdict still holds is promoted by a run.

    Proves, with a real MLServer and registry: an unapproved challenger (v2) is left
    waiting and nothing is deployed; once rejected it is never promoted; an approved
    one (v3, gated against the serving v1) is rolled out by the next run: MLServer
    answers as v3 with v3's own in-process predictions, champion=3, previous=1, the
    challenger alias is gone and v3's audit record says who approved it; a run after
    that finds nothing waiting; an approved v4 that was gated against v1 while v3 now
    serves is stale and not promoted, and `promote` refuses it under the lock too.
    v2 never carried ``champion``.
    Cannot prove the same through kfp.local (the wrapper only builds this config; see
    tests/components/test_deploy_model.py) or on a cluster target.
    """
    client, server = world
    wait_as_challenger(client, "2", gated_against="1")
    result = next_run(client, server)
    assert (result.action, result.version) == (gov.AWAITING, "2")
    assert served(server)[0] == "1"

    gov.reject(client, NAME, "2", "worse for premium customers", who="risk")
    assert next_run(client, server).action == gov.WAS_REJECTED
    assert alias_version(client, NAME, mlf.ALIAS_CHAMPION) == "1"

    wait_as_challenger(client, "3", gated_against="1")
    gov.approve(client, NAME, "3", "slices checked", who="risk")
    result = next_run(client, server)
    assert (result.action, result.version, result.previous_version) == ("promoted", "3", "1")
    version, answer = served(server)
    assert version == "3"
    v3 = mlflow.pyfunc.load_model("models:/churn/3")
    rows = demo_frame(30, seed=9)[list(FEATURES)]
    np.testing.assert_allclose(answer, mlf.positive_probability(v3.predict(rows)), atol=1e-9)
    assert alias_version(client, NAME, mlf.ALIAS_CHAMPION) == "3"
    assert alias_version(client, NAME, mlf.ALIAS_PREVIOUS) == "1"
    assert alias_version(client, NAME, mlf.ALIAS_CHALLENGER) is None
    records = gov.audit_history(client.get_model_version(NAME, "3").tags)
    champion_set = [r for r in records if r["alias"] == mlf.ALIAS_CHAMPION]
    assert champion_set[-1]["why"] == "approved by risk: slices checked"

    assert next_run(client, server).action == gov.NO_CHALLENGER

    wait_as_challenger(client, "4", gated_against="1")
    gov.approve(client, NAME, "4", "looked fine last week", who="risk")
    result = next_run(client, server)
    assert result.action == gov.STALE
    assert "champion is now v3" in result.reason
    with pytest.raises(gov.StaleGate, match="gated against v1, but the champion is now v3"):
        promote(client, NAME, "4", require_approval=True, gated_against="1")
    assert served(server)[0] == "3"
    history = gov.audit_history(client.get_model_version(NAME, "2").tags)
    assert not any(r["alias"] == mlf.ALIAS_CHAMPION for r in history)
