"""Unit tests of `components.register_model.core` against a real MLflow registry (sqlite)."""

from __future__ import annotations

import mlflow
import numpy as np
import pytest

from components import _aliases
from components import _mlflow as mlf
from components.register_model import core


def _register(client, name: str, run, evaluation) -> core.Registration:
    tags = core.lineage_tags(run.metadata(), evaluation, "kfp-register-run")
    return core.register(client, name, run.model_uri, run.run_id, tags, run.model_id)


def test_register_sets_challenger_with_lineage_and_is_idempotent(
    client, model_name: str, runs, evaluations
) -> None:
    """Registration creates one version, aliased challenger, carrying the lineage tags.

    Proves: the version's source and run are the logged model's; tags hold the data
    fingerprint, feature service, suite version, MLflow run, KFP run and holdout
    metrics; registering the same run again reuses the version (no duplicate); the
    version loads through the ``challenger`` alias and answers like the logged model.
    Cannot prove idempotency under two concurrent registrations of the same run.
    """
    run, evaluation = runs[0], evaluations[0]
    first = _register(client, model_name, run, evaluation)
    again = _register(client, model_name, run, evaluation)
    assert first.created
    assert not again.created
    assert again.version == first.version
    assert len(client.search_model_versions(f"name='{model_name}'")) == 1
    version = client.get_model_version_by_alias(model_name, mlf.ALIAS_CHALLENGER)
    assert str(version.version) == first.version
    assert version.source == run.model_uri
    assert version.run_id == run.run_id
    tags = version.tags
    assert tags[mlf.TAG_DATA_FINGERPRINT] == run.data_fingerprint
    assert tags[mlf.TAG_FEATURE_SERVICE] == "churn_v1"
    assert tags[mlf.TAG_SUITE_VERSION] == run.suite_version
    assert tags[mlf.TAG_RUN_ID] == run.run_id
    assert tags[mlf.TAG_PIPELINE_RUN_ID] == "kfp-register-run"
    assert tags[mlf.TAG_HOLDOUT_FINGERPRINT] == evaluation["holdout_fingerprint"]
    roc = evaluation["challenger"]["metrics"]["roc_auc"]
    assert float(tags["holdout_roc_auc"]) == pytest.approx(roc, rel=1e-5)
    ece = evaluation["challenger"]["calibration"]["ece"]
    assert float(tags["holdout_ece"]) == pytest.approx(ece, rel=1e-5)
    assert first.version_uri == f"models:/{model_name}/{first.version}"
    served = mlflow.pyfunc.load_model(f"models:/{model_name}@{mlf.ALIAS_CHALLENGER}")
    logged = mlflow.pyfunc.load_model(run.model_uri)
    assert np.array_equal(served.predict(run.holdout), logged.predict(run.holdout))


def test_promote_moves_champion_to_previous(client, model_name: str, runs, evaluations) -> None:
    """Promotion makes a version champion and keeps the one it replaced as previous.

    Proves: first promotion sets champion with no previous; promoting a second version
    moves the old champion to previous; promoting the champion again changes nothing;
    promoting a version that does not exist raises; the winner loses its challenger alias.
    Cannot prove anything about the serving deployment (deploy_model moves traffic).
    """
    v1 = _register(client, model_name, runs[0], evaluations[0]).version
    first = core.promote(client, model_name, v1)
    assert (first.champion, first.previous, first.changed) == (v1, None, True)
    v2 = _register(client, model_name, runs[1], evaluations[1]).version
    assert mlf.alias_version(client, model_name, mlf.ALIAS_CHALLENGER) == v2
    assert mlf.alias_version(client, model_name, mlf.ALIAS_CHAMPION) == v1
    second = core.promote(client, model_name, v2)
    assert (second.champion, second.previous, second.changed) == (v2, v1, True)
    assert mlf.alias_version(client, model_name, mlf.ALIAS_PREVIOUS) == v1
    assert mlf.alias_version(client, model_name, mlf.ALIAS_CHALLENGER) is None
    repeat = core.promote(client, model_name, v2)
    assert (repeat.champion, repeat.previous, repeat.changed) == (v2, v1, False)
    with pytest.raises(mlflow.exceptions.MlflowException):
        core.promote(client, model_name, "99")


def test_rollback_restores_previous_champion(client, model_name: str, runs, evaluations) -> None:
    """Rollback puts previous back as champion, once.

    Proves: after v1 -> v2 promotion, rollback makes v1 champion, removes previous, tags
    v2 as rolled back, and loading ``@champion`` gives v1's answers; a second rollback
    (nothing to roll back to) raises.
    Cannot prove a rollback of the serving deployment (deploy_model's job).
    """
    v1 = _register(client, model_name, runs[0], evaluations[0]).version
    core.promote(client, model_name, v1)
    v2 = _register(client, model_name, runs[1], evaluations[1]).version
    core.promote(client, model_name, v2)
    change = _aliases.rollback(client, model_name)
    assert (change.champion, change.previous) == (v1, None)
    assert mlf.alias_version(client, model_name, mlf.ALIAS_CHAMPION) == v1
    assert mlf.alias_version(client, model_name, mlf.ALIAS_PREVIOUS) is None
    assert client.get_model_version(model_name, v2).tags[mlf.TAG_ROLLED_BACK] == "true"
    champion = mlflow.pyfunc.load_model(f"models:/{model_name}@{mlf.ALIAS_CHAMPION}")
    holdout = runs[0].holdout
    expected = mlflow.pyfunc.load_model(runs[0].model_uri).predict(holdout)
    assert np.array_equal(champion.predict(holdout), expected)
    with pytest.raises(ValueError, match="has no 'previous' version"):
        _aliases.rollback(client, model_name)


def test_only_a_blessed_evaluation_of_the_same_run_is_registered(runs, evaluations) -> None:
    """The register step refuses a model the gate did not bless, or another run's verdict.

    Proves: `require_blessed` passes for the run's own blessed report, and raises naming
    the reasons for a not-blessed report and naming both runs for a mismatched report.
    Cannot prove the pipeline wires the right report (the kfp.local test does).
    """
    core.require_blessed(evaluations[0], runs[0].run_id)
    refused = {**evaluations[0], "decision": {"blessed": False, "reasons": ["FAIL floor"]}}
    with pytest.raises(ValueError, match="not blessed by the gate: FAIL floor"):
        core.require_blessed(refused, runs[0].run_id)
    with pytest.raises(ValueError, match=f"not of the model's run {runs[1].run_id}"):
        core.require_blessed(evaluations[0], runs[1].run_id)


def test_model_card_describes_the_version(client, model_name: str, runs, evaluations) -> None:
    """The model card names the version, its aliases, metrics, lineage and parameters.

    Proves: the Markdown card holds the version, its aliases (champion only, once
    promoted), holdout ROC AUC, the data
    fingerprint and the training params read back from the registry and the run.
    Cannot prove the card renders well in the KFP UI (plain Markdown tables only).
    """
    run = runs[0]
    version = _register(client, model_name, run, evaluations[0]).version
    core.promote(client, model_name, version)
    card = core.model_card(client, model_name, version)
    assert f"# Model card: `{model_name}` version {version}" in card
    assert "`champion`" in card
    assert "`challenger`" not in card
    assert "| roc_auc |" in card
    assert run.data_fingerprint in card
    assert "| model_type | `logistic_regression` |" in card
