"""Two approved versions promoted at the same moment by two CLI processes.

Each promotion is a separate OS process (`python -m pipelines promote`, as two people or
two pipeline runs would start them) on one MLflow sqlite registry.
"""

from __future__ import annotations

import subprocess
import sys

from components import _governance as gov
from components import _mlflow as mlf
from components.register_model import core


def test_concurrent_promotions_leave_exactly_one_champion(tmp_path) -> None:
    """Concurrent promotions of two approved versions end with one champion, never two or none.

    Proves, over three rounds: both CLI processes succeed; afterwards exactly one version
    holds ``champion`` (MLflow allows one version per alias, so "two champions" would show
    as the loser's move being lost instead) and the other holds ``previous``, i.e. the
    moves were applied one after the other in ticket order; each promoted version has an
    audit record of its champion move naming the ticket, and the later ticket is the
    champion.
    Cannot prove the same on PostgreSQL behind a tracking server here (the sibling
    test_concurrent_promotions covers the lock on both backends), nor fairness of order.
    """
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = mlf.mlflow_client(uri)
    name = "churn-concurrent-approved"
    experiment = client.create_experiment("concurrent-approved")
    for round_ in range(3):
        versions = []
        for i in range(2):
            run = client.create_run(experiment, run_name=f"round{round_}-{i}")
            client.set_terminated(run.info.run_id)
            model_uri = f"runs:/{run.info.run_id}/model"
            version = core.register(client, name, model_uri, run.info.run_id).version
            gov.approve(client, name, version, f"round {round_}", who="carol")
            versions.append(version)
        procs = []
        for v in versions:
            command = [sys.executable, "-m", "pipelines", "promote", "--tracking-uri", uri]
            command += ["--model", name, "--version", v, "--reason", f"round {round_}"]
            procs.append(
                subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            )
        outcomes = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outcomes
        champion = mlf.alias_version(client, name, mlf.ALIAS_CHAMPION)
        previous = mlf.alias_version(client, name, mlf.ALIAS_PREVIOUS)
        assert {champion, previous} == set(versions)
        tickets = {}
        for v in versions:
            moves = [
                r
                for r in gov.audit_history(client.get_model_version(name, v).tags)
                if r["action"] == "set_alias" and r["alias"] == mlf.ALIAS_CHAMPION
            ]
            assert len(moves) == 1
            tickets[v] = moves[0]["ticket"]
        assert max(tickets, key=tickets.get) == champion
