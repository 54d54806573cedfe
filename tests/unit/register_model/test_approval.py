"""Approval before the champion moves, and the audit record of every alias move.

Runs the real CLI entry point (`pipelines.cli.main`) against the session's MLflow sqlite
registry, with real logged models from the conftest.
"""

from __future__ import annotations

import pytest

from components import _governance as gov
from components import _mlflow as mlf
from components.register_model import core
from pipelines.cli import main


def test_only_an_approved_version_is_promoted_and_every_move_is_audited(
    runs, client, tracking_uri: str, model_name: str, monkeypatch, capsys
) -> None:
    """Approve, reject and promote through the CLI, with who, when and why on the version.

    Proves: a registered (challenger) version is refused by `promote` until approved
    (exit 3, the message says how to approve); `approve` needs a reason and records
    who (``$SUITE_ACTOR``), when and why on the version; after approval `promote` makes it
    champion; a rejected version is refused with the rejecter's reason; every alias
    move (challenger set and removed, champion set, previous set) left an audit record
    on its version naming who, the action, the alias and why, in order.
    Cannot prove who the person really is (the actor is whatever the environment says;
    an identity provider is out of scope), nor anything about a KFP UI approval.
    """
    monkeypatch.setenv("SUITE_ACTOR", "alice@example.com")
    first, second = (
        core.register(client, model_name, r.model_uri, r.run_id, pipeline_run="kfp-run-1").version
        for r in runs
    )
    uri = ["--tracking-uri", tracking_uri, "--model", model_name]
    assert main(["promote", *uri, "--version", first]) == 3
    assert "waiting for approval" in capsys.readouterr().err
    assert mlf.alias_version(client, model_name, mlf.ALIAS_CHAMPION) is None
    with pytest.raises(SystemExit):
        main(["approve", *uri, "--version", first])  # --reason is required
    assert main(["approve", *uri, "--version", first, "--reason", "fair on every plan"]) == 0
    assert main(["promote", *uri, "--version", first]) == 0
    assert mlf.alias_version(client, model_name, mlf.ALIAS_CHAMPION) == first

    monkeypatch.setenv("SUITE_ACTOR", "bob@example.com")
    assert main(["reject", *uri, "--version", second, "--reason", "worse for premium"]) == 0
    assert main(["promote", *uri, "--version", second]) == 3
    assert "rejected by bob@example.com" in capsys.readouterr().err
    assert mlf.alias_version(client, model_name, mlf.ALIAS_CHAMPION) == first

    tags = client.get_model_version(model_name, first).tags
    decision = gov.approval(tags)
    assert (decision["decision"], decision["by"], decision["reason"]) == (
        "approved", "alice@example.com", "fair on every plan",
    )  # fmt: skip
    assert decision["at"].endswith("+00:00")
    history = [(r["action"], r["alias"], r["who"]) for r in gov.audit_history(tags)]
    assert history == [
        ("set_alias", "challenger", "alice@example.com"),
        ("remove_alias", "challenger", "alice@example.com"),
        ("approve", "", "alice@example.com"),
        ("set_alias", "champion", "alice@example.com"),
    ]
    records = gov.audit_history(tags)
    assert records[0]["run"] == "kfp-run-1"
    assert records[-1]["why"] == "approved by alice@example.com: fair on every plan"
    second_history = gov.audit_history(client.get_model_version(model_name, second).tags)
    assert [r["action"] for r in second_history] == ["set_alias", "reject"]
    assert second_history[-1]["why"] == "worse for premium"
