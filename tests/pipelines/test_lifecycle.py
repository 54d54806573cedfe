"""The compiled pipelines, loaded back from YAML, run end to end through kfp.local.

Real backends throughout: churn data written to parquet, a Feast repo applied in
tmp_path (DuckDB offline store, sqlite online store), MLflow on sqlite, a real
MLServer on 127.0.0.1 with an ephemeral port as the local deploy target. The tests
prove the lifecycle's decisions: a first model becomes champion with lineage, a
clearly worse challenger is not promoted, a corrupt batch stops the run before
training, a monitoring run without drift does not retrain (the branch not taken did
not run), and drift triggers a retrain whose model becomes champion.

They cannot prove cluster behaviour (Argo scheduling, KServe rollout, S3): the
same YAML's cluster settings are checked in tests/manifests and test_compile.
"""

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from components import _mlflow as mlf
from components._serving.server import start_mlserver
from pipelines.compile import compile_all
from pipelines.local import (
    LocalRunConfig,
    append_period,
    generate_day0,
    live_window_arguments,
    local_arguments,
    prepare_feature_store,
    run_pipeline,
)
from pipelines.local_runner import PipelineRunError
from pipelines.summary import (
    SAMPLE_REQUEST_ROWS,
    print_summary,
    query_served_model,
    registry_state,
    task_json,
)
from pipelines.traffic import Replay, replay_period

DAY0 = ("2024-01-01", "2024-05-01")
QUIET = ("2024-05-01", "2024-06-01")  # appended with no drift
DRIFTED = ("2024-06-01", "2024-08-01")  # appended with covariate shift + concept drift


@dataclass
class World:
    run: LocalRunConfig
    compiled: dict
    arguments: dict

    def training(self, label: str, **overrides):
        arguments = {
            **self.arguments,
            "train_start": DAY0[0],
            "train_end": DAY0[1],
            **overrides,
        }
        return run_pipeline(self.run, self.compiled["training"], arguments, label, _quiet)

    def monitoring(self, label: str, window: tuple[str, str], retrain_start: str):
        arguments = {
            **self.arguments,
            "window_start": window[0],
            "window_end": window[1],
            "retrain_start": retrain_start,
            "retrain_end": window[1],
        }
        return run_pipeline(self.run, self.compiled["monitoring"], arguments, label, _quiet)

    def live_monitoring(self, label: str, replay: Replay, retrain_start: str):
        arguments = {
            **self.arguments,
            **live_window_arguments(self.run, replay),
            "retrain_start": retrain_start,
            "retrain_end": QUIET[1],
        }
        return run_pipeline(self.run, self.compiled["monitoring"], arguments, label, _quiet)

    def versions(self):
        return registry_state(self.run.tracking_uri, "churn")

    def alias(self, name: str) -> str | None:
        return next((v["version"] for v in self.versions() if name in v["aliases"]), None)

    def run_count(self) -> int:
        client = mlf.mlflow_client(self.run.tracking_uri)
        experiment = client.get_experiment_by_name("churn")
        if experiment is None:
            return 0
        return len(client.search_runs([experiment.experiment_id]))


def _quiet(_line: str) -> None:
    """Progress lines are not needed in tests; the runner's log file keeps everything."""


def _ran(result) -> set[str]:
    """Names of the tasks that ran, without the compiler's "-2" suffix of repeated tasks."""
    return {re.sub(r"-\d+$", "", t.name) for t in result.tasks}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("lifecycle")
    run = LocalRunConfig(
        data_dir=root / "data",
        customers=1500,
        day0_start=DAY0[0],
        day0_end=DAY0[1],
        seed=11,
    )
    generate_day0(run, _quiet)
    prepare_feature_store(run, DAY0[1], _quiet)
    compiled = compile_all(root / "dist")
    run.serving_repo.mkdir(parents=True)
    server = start_mlserver(run.serving_repo, prediction_log=run.predictions)
    try:
        yield World(run, compiled, local_arguments(run, server.http_url))
    finally:
        server.stop()


@pytest.fixture(scope="module")
def first_training(world):
    return world.training("first")


def test_first_training_run_makes_a_champion_with_lineage(world, first_training):
    """Compiled training YAML: features -> validate -> train -> gate -> register -> serve.

    The first blessed model is registered, validated in MLServer, deployed to the local
    MLServer and only then aliased champion; its version carries lineage tags.
    Cannot prove: the KServe/Seldon targets (rendering and decisions are unit-tested).
    """
    assert {"get-features", "validate-data", "train-model", "evaluate-model"} <= _ran(
        first_training
    )
    assert {"register-model", "validate-serving", "deploy-model"} <= _ran(first_training)
    (version,) = world.versions()
    assert version["aliases"] == ["champion"]
    tags = version["tags"]
    assert tags[mlf.TAG_FEATURE_SERVICE] == "churn_v1"
    assert len(tags[mlf.TAG_DATA_FINGERPRINT]) >= 16
    assert tags[mlf.TAG_SUITE_VERSION]
    assert tags[mlf.TAG_PIPELINE_RUN_ID]
    served = list((world.run.serving_repo).rglob("model-settings.json"))
    assert served, "the local MLServer repository holds no deployed model"


def test_clearly_worse_challenger_is_not_promoted(world, first_training):
    """A crippled model (one depth-1 tree) fails the gate: no new version, champion kept.

    Cannot prove: every way a model can be worse; the gate rule is unit-tested.
    """
    champion = world.alias("champion")
    before = len(world.versions())
    result = world.training(
        "crippled",
        hyperparameters={"n_estimators": 1, "max_depth": 1, "learning_rate": 0.01},
    )
    assert "evaluate-model" in _ran(result)
    # Exact names: the training pipeline's other deploy_model task is
    # promote-approved-challenger (deploy-model-2), which runs (a no-op) without approval.
    assert not {"register-model", "validate-serving", "deploy-model"} & {
        task.name for task in result.tasks
    }
    assert len(world.versions()) == before
    assert world.alias("champion") == champion


def test_corrupt_batch_stops_the_run_before_training(world, first_training, tmp_path):
    """Labels with an impossible value stop the run at once; nothing is trained or registered.

    A label of 2 is not binary: get_features refuses it while reading the labels
    (the label mapping of suite.yaml is applied there), naming the column and values.
    Cannot prove: every corruption (validate_data's unit tests cover each kind).
    """
    labels = pd.read_parquet(world.run.sources / "labels.parquet")
    labels.loc[labels.index[:50], "churned"] = 2
    corrupt = tmp_path / "labels_corrupt.parquet"
    labels.to_parquet(corrupt, index=False)
    runs_before, versions_before = world.run_count(), len(world.versions())
    with pytest.raises(PipelineRunError, match="get-features"):
        world.training("corrupt", entity_source=str(corrupt))
    assert world.run_count() == runs_before
    assert len(world.versions()) == versions_before
    log = next(Path(world.run.logs).glob("corrupt-*.log")).read_text(encoding="utf-8")
    assert "label column 'churned' must be binary 0/1, got values [0, 1, 2]" in log


@pytest.fixture(scope="module")
def quiet_monitoring(world, first_training):
    append_period(world.run, *QUIET, "none", _quiet)
    prepare_feature_store(world.run, QUIET[1], _quiet)
    return world.monitoring("quiet", QUIET, retrain_start="2024-02-01")


def test_monitoring_without_drift_does_not_retrain(world, quiet_monitoring):
    """No drift in the window: check_drift says so and the retrain branch does not run.

    This is the test that the If branch not taken did not run under kfp.local.
    Cannot prove: the false-alarm rate (bench/drift.py measures it over 50+ windows).
    """
    ran = _ran(quiet_monitoring)
    assert {"get-features", "validate-data", "check-drift"} <= ran
    assert not {"train-model", "evaluate-model", "register-model"} & ran
    assert len(world.versions()) == 1


@pytest.fixture(scope="module")
def live_monitoring(world, quiet_monitoring):
    replay = replay_period(
        world.run.feature_repo,
        world.run.sources / "labels.parquet",
        world.arguments["local_serving_url"],
        world.run.predictions,
        *QUIET,
        echo=_quiet,
    )
    return replay, world.live_monitoring("live", replay, retrain_start="2024-02-01")


def test_monitoring_on_the_prediction_log_measures_and_estimates(world, live_monitoring):
    """window_source=prediction_log: the served answers are the window, labels join later.

    The quiet period's labelled entity-times are replayed over V2 REST (features from
    Feast as of each time, plus customer_id and event_timestamp); the monitoring YAML
    reads the log, checks drift, estimates and measures performance, and the default
    policy does not retrain on undrifted data. Proves: the feature-store branch did not
    run, every replayed row was joined to its label by entity + time, the realized ROC
    AUC equals sklearn's on the logged scores and the labels file joined independently
    (exact entity and time), the estimate ran with a status, and decide_retrain named
    the realized-performance rule. Cannot prove: a real client's label delays (the join
    rules are unit-tested).
    """
    from sklearn.metrics import roc_auc_score

    from components._serving.prediction_log import read_prediction_log

    replay, result = live_monitoring
    ran = _ran(result)
    assert {"get-live-window", "check-drift", "estimate-performance", "join-labels"} <= ran
    assert "decide-retrain" in ran
    assert not {"get-features", "validate-data", "train-model"} & ran
    realized = task_json(result, "join-labels", "report_json")
    assert realized["status"] == "measured"
    assert realized["rows"] == replay.rows
    assert realized["labelled_rows"] == replay.rows
    log = read_prediction_log(world.run.predictions, replay.window_start, replay.window_end)
    log["event_timestamp"] = pd.to_datetime(log["event_timestamp"], utc=True)
    labels = pd.read_parquet(world.run.sources / "labels.parquet")
    labels["event_timestamp"] = labels["event_timestamp"].astype("datetime64[ns, UTC]")
    log["event_timestamp"] = log["event_timestamp"].astype("datetime64[ns, UTC]")
    truth = log.merge(labels, on=["customer_id", "event_timestamp"], how="inner")
    assert len(truth) == replay.rows
    expected = roc_auc_score(truth["churned"], truth["churned_probability"])
    assert abs(realized["performance"]["metrics"]["roc_auc"]["value"] - expected) < 1e-9
    estimate = task_json(result, "estimate-performance", "report_json")
    assert estimate["status"] in ("estimated", "not_estimable")
    assert estimate["score_source"].startswith("logged 'churned_probability'")
    decision = task_json(result, "decide-retrain", "decision")
    assert decision["rule"] == "performance (realized)"
    assert decision["retrain"] is False
    assert len(world.versions()) == 1


@pytest.fixture(scope="module")
def drifted_monitoring(world, live_monitoring):
    champion_before = world.alias("champion")
    append_period(world.run, *DRIFTED, "covariate_shift+concept_drift", _quiet)
    prepare_feature_store(world.run, DRIFTED[1], _quiet)
    result = world.monitoring("drifted", DRIFTED, retrain_start="2024-05-15")
    return champion_before, result


def test_drift_triggers_a_retrain_that_becomes_champion(world, drifted_monitoring):
    """Covariate shift + concept drift: drift found, performance lost, retrained, new champion.

    Under the default policy the retrain comes from the realized ROC AUC on the window's
    labels (concept drift costs it), not from the drift alarm alone.
    The old champion moves to `previous`. Cannot prove: that every drift scenario is
    found (bench/drift.py measures power per scenario).
    """
    old_champion, result = drifted_monitoring
    ran = _ran(result)
    decision = task_json(result, "decide-retrain", "decision")
    assert decision["rule"] == "performance (realized)"
    assert decision["retrain"] is True
    assert {"check-drift", "train-model", "evaluate-model", "register-model"} <= ran
    assert "deploy-model" in ran
    assert world.alias("champion") != old_champion
    assert world.alias("previous") == old_champion


def test_served_model_is_the_new_champion_and_the_summary_says_so(world, drifted_monitoring):
    """The local MLServer answers live V2 requests with the new champion; the summary shows it.

    Proves: after the drift retrain, the served default is the champion version, its answers
    are probabilities for online-store rows, and `make run`'s summary names the drift, the
    retrain rule that decided (realized performance under the default policy), the gate
    decision and the aliases. Cannot prove how the summary reads to a person.
    """
    old_champion, result = drifted_monitoring
    served = query_served_model(world.arguments["local_serving_url"], world.run.feature_repo)
    assert str(served["version"]) == str(world.alias("champion"))
    assert len(served["answers"]) == SAMPLE_REQUEST_ROWS
    assert all(0.0 <= p <= 1.0 for p in served["answers"])
    lines: list[str] = []
    print_summary({"run": world.run, "monitoring": result, "served": served}, out=lines.append)
    text = "\n".join(lines)
    assert "drift_detected=True" in text
    assert "retrain policy 'performance': rule performance (realized)" in text
    assert "gate: BLESSED" in text
    assert f"churn v{old_champion}: previous" in text
    assert f"version {world.alias('champion')}" in text
