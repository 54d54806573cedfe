"""A promotion killed half-way (SIGKILL between alias writes) and the run after it.

The killed process is a real separate process running the suite's `promote`; it kills
itself right after one registry write, so nothing of it runs afterwards (no finally,
no lock release), as when a pod is OOM-killed or evicted. Backend: the
PostgreSQL-backed MLflow server (and SQLite for the mid-move kill).
"""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from components import _aliases as alias_moves
from components import _mlflow as mlf
from components._registry_lock import lock_model_name
from components.register_model import core

WORKER = Path(__file__).with_name("registry_worker.py")
LEASE = 3.0  # seconds: the killed process's ticket blocks the next move this long


@pytest.fixture(params=["postgres", "sqlite"])
def backend(request, tmp_path) -> str:
    """A tracking URI: the PostgreSQL-backed server, or a fresh sqlite file."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_tracking_uri")
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def _versions(client, name: str, count: int) -> list[str]:
    experiment_id = mlf.ensure_experiment(client, "registry-interrupted")
    versions = []
    for _ in range(count):
        run = client.create_run(experiment_id)
        source = f"runs:/{run.info.run_id}/model"
        versions.append(core.register(client, name, source, run.info.run_id).version)
    return versions


def _aliases(client, name: str) -> dict[str, str]:
    return {k: str(v) for k, v in client.get_registered_model(name).aliases.items()}


def _killed_promotion(tracking_uri: str, name: str, version: str, step: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(WORKER),
            "promote",
            f"--tracking-uri={tracking_uri}",
            f"--name={name}",
            f"--version={version}",
            f"--lease={LEASE}",
            f"--kill-at={step}",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr[-2000:]


@pytest.mark.parametrize("step", ["intent", "previous", "champion"])
def test_killed_promotion_serves_the_old_champion_and_the_next_run_finishes_it(
    postgres_tracking_uri, request, step
):
    """Kill after each write of v2's promotion; then the next promotion (v3) runs.

    Proves: right after the kill ``champion`` is never absent (v1, or v2 once its write
    landed), the intent naming v2 is recorded and the dead process's lock ticket is
    left; the next promotion waits out that ticket's lease (not forever), finishes v2's
    move first (champion v2, previous v1, recorded in ``suite.registry.repaired``) and
    then its own, ending champion v3 / previous v2, as if v2's promotion had completed.
    Cannot prove: a kill in the middle of one HTTP write (the database makes each alias
    write atomic; that is PostgreSQL's guarantee, not this code's).
    """
    name = f"interrupted-{step}"
    client = mlf.mlflow_client(postgres_tracking_uri)
    v1, v2, v3 = _versions(client, name, 3)
    core.promote(client, name, v1)
    _killed_promotion(postgres_tracking_uri, name, v2, step)

    after_kill = _aliases(client, name)
    expected_champion = v2 if step == "champion" else v1
    assert after_kill[mlf.ALIAS_CHAMPION] == expected_champion
    if step != "intent":
        assert after_kill[mlf.ALIAS_PREVIOUS] == v1
    assert alias_moves.pending_intent(client, name)["champion"] == v2
    assert len(client.search_model_versions(f"name='{lock_model_name(name)}'")) == 1

    t0 = time.monotonic()
    change = core.promote(client, name, v3)
    waited = time.monotonic() - t0
    assert waited < LEASE + 30
    assert (change.champion, change.previous) == (v3, v2)
    assert _aliases(client, name) == {mlf.ALIAS_CHAMPION: v3, mlf.ALIAS_PREVIOUS: v2}
    repaired = json.loads(client.get_registered_model(name).tags[alias_moves.TAG_REPAIRED])
    assert (repaired["champion"], repaired["previous"]) == (v2, v1)
    assert alias_moves.pending_intent(client, name) is None
    assert client.search_model_versions(f"name='{lock_model_name(name)}'") == []


def test_repair_alone_finishes_the_move_on_both_backends(backend, request):
    """Kill between the ``previous`` and ``champion`` writes; `repair` with nothing else.

    Proves: the half-done state (v1 in both champion and previous, v2 still challenger)
    is finished by `repair` to champion v2 / previous v1 with the challenger alias gone,
    and a second `repair` finds nothing to do.
    Cannot prove more than the PostgreSQL variant above; it shows the same journal works
    on the sqlite file that ``make run`` uses.
    """
    name = f"repair-{request.node.callspec.id}"
    client = mlf.mlflow_client(backend)
    v1, v2 = _versions(client, name, 2)
    core.promote(client, name, v1)
    _killed_promotion(backend, name, v2, "previous")
    half_done = _aliases(client, name)
    assert (half_done[mlf.ALIAS_CHAMPION], half_done[mlf.ALIAS_PREVIOUS]) == (v1, v1)

    finished = alias_moves.repair(client, name)
    assert (finished["champion"], finished["previous"]) == (v2, v1)
    assert _aliases(client, name) == {mlf.ALIAS_CHAMPION: v2, mlf.ALIAS_PREVIOUS: v1}
    assert alias_moves.repair(client, name) is None


def test_an_intent_that_cannot_be_finished_is_refused_and_changes_nothing(
    postgres_tracking_uri,
):
    """The interrupted move's target was deleted meanwhile: the next run refuses clearly.

    Proves: `promote` raises `RegistryStateError` naming the interrupted move, the missing
    version and the tag to clear; the aliases are left exactly as the kill left them
    (v1 serving); after a person deletes the tag, promotions go on.
    Cannot prove what a person should decide; it only makes the decision theirs.
    """
    name = "interrupted-refused"
    client = mlf.mlflow_client(postgres_tracking_uri)
    v1, v2, v3 = _versions(client, name, 3)
    core.promote(client, name, v1)
    _killed_promotion(postgres_tracking_uri, name, v2, "previous")
    client.delete_model_version(name, v2)
    before = _aliases(client, name)

    with pytest.raises(alias_moves.RegistryStateError, match=rf"v{v2}.*{alias_moves.TAG_INTENT}"):
        core.promote(client, name, v3)
    assert _aliases(client, name) == before
    assert before[mlf.ALIAS_CHAMPION] == v1

    client.delete_registered_model_tag(name, alias_moves.TAG_INTENT)
    change = core.promote(client, name, v3)
    assert (change.champion, change.previous) == (v3, v1)
