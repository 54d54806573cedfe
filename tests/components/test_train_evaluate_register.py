"""train_model -> evaluate_model -> dsl.If(blessed) -> register_model through kfp.local.

A producer task writes the churn_data snapshot as the training frame (it stands in
for get_features). MLflow is a sqlite store in tmp_path. Two pipeline runs share the
store: the first trains on true labels and must end with a champion; the second
trains on shuffled labels, must not be blessed, and its register task must not run.
Nothing runs in a container: SubprocessRunner runs each task in this interpreter's
venv (the suite image is only named). No ``from __future__ import annotations``:
KFP reads the component annotations as types.
"""

import json
from pathlib import Path

import mlflow
import pytest
from kfp import dsl, local
from kfp.dsl import Dataset, Output

from churn_data.schema import TRAIN_ROLES
from components import _mlflow as mlf
from components._fingerprint import frame_fingerprint
from components._images import image_for
from components.evaluate_model.component import evaluate_model
from components.register_model.component import register_model
from components.train_model.component import train_model

MODEL_NAME = "churn-kfp"
CUSTOMERS = 2000
SEED = 4


@dsl.component(base_image=image_for("train_model"), install_kfp_package=False)
def produce_training_frame(
    n_customers: int, seed: int, shuffle_labels: bool, frame: Output[Dataset]
):
    """Writes churn_data's ground-truth snapshot as the training frame, labels maybe shuffled."""
    import numpy as np

    from churn_data import GeneratorConfig, generate

    snapshot = generate(GeneratorConfig(n_customers=n_customers, seed=seed)).snapshot
    snapshot = snapshot.drop(columns=["churn_probability"])
    if shuffle_labels:
        labels = snapshot["churned"].to_numpy()
        snapshot["churned"] = np.random.default_rng(seed).permutation(labels)
    snapshot.to_parquet(frame.path, index=False)


@dsl.pipeline(name="train-gate-register")
def train_gate_register(tracking_uri: str, shuffle_labels: bool):
    """Trains, gates against the registry's champion, and registers only when blessed."""
    data = produce_training_frame(n_customers=CUSTOMERS, seed=SEED, shuffle_labels=shuffle_labels)
    trained = train_model(
        training_data=data.outputs["frame"],
        tracking_uri=tracking_uri,
        feature_service="churn_v1",
        **TRAIN_ROLES,
    )
    gate = evaluate_model(
        model=trained.outputs["model"],
        holdout=trained.outputs["holdout"],
        tracking_uri=tracking_uri,
        registered_model_name=MODEL_NAME,
        slice_features=["plan"],
    )
    with dsl.If(gate.outputs["Output"] == True):  # noqa: E712 (a KFP condition)
        register_model(
            model=trained.outputs["model"],
            evaluation=gate.outputs["evaluation"],
            tracking_uri=tracking_uri,
            registered_model_name=MODEL_NAME,
        )


def _task_dirs(root: Path, task: str) -> list[Path]:
    return sorted(root.glob(f"train-gate-register-*/{task}"))


@pytest.fixture(scope="module")
def pipeline_runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Runs the pipeline twice (true labels, then shuffled) and records the registry after each."""
    root = tmp_path_factory.mktemp("kfp_train")
    tracking_uri = f"sqlite:///{root / 'mlflow.db'}"
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root / "runs"))
    client = mlf.mlflow_client(tracking_uri)
    train_gate_register(tracking_uri=tracking_uri, shuffle_labels=False)
    first = client.get_model_version_by_alias(MODEL_NAME, mlf.ALIAS_CHAMPION)
    registered_after_first = _task_dirs(root / "runs", "register-model")
    train_gate_register(tracking_uri=tracking_uri, shuffle_labels=True)
    return {
        "client": client,
        "runs_root": root / "runs",
        "first_champion": first,
        "registered_after_first": registered_after_first,
        "champion_after_second": client.get_model_version_by_alias(MODEL_NAME, mlf.ALIAS_CHAMPION),
        "versions": client.search_model_versions(f"name='{MODEL_NAME}'"),
    }


def test_blessed_model_becomes_champion_with_lineage(pipeline_runs: dict) -> None:
    """A model trained on true labels passes the gate and is registered as champion.

    Proves: the chained tasks hand Dataset / Model / Artifact outputs along, the gate's
    single bool drives dsl.If, and register_model leaves ``champion`` (and no longer
    ``challenger``) on a version whose tags carry the KFP run id (same as the training
    run's), the data fingerprint of the very frame the producer wrote, the feature
    service, suite version and holdout metrics; the task returns the pinned
    ``models:/<name>/<version>`` URI; the Model artifact is a loadable MLflow model of
    the same run; the model card and gate report exist.
    Cannot prove the same on a cluster (Argo, MinIO, an MLflow server) - only locally.
    """
    from churn_data import GeneratorConfig, generate

    client = pipeline_runs["client"]
    version = pipeline_runs["first_champion"]
    assert len(pipeline_runs["registered_after_first"]) == 1
    aliases = client.get_registered_model(MODEL_NAME).aliases
    assert mlf.ALIAS_CHALLENGER not in aliases  # promoted: the winner is no longer a challenger
    tags = version.tags
    run_tags = client.get_run(version.run_id).data.tags
    assert tags[mlf.TAG_PIPELINE_RUN_ID]
    assert tags[mlf.TAG_PIPELINE_RUN_ID] == run_tags[mlf.TAG_PIPELINE_RUN_ID]
    frame = generate(GeneratorConfig(n_customers=CUSTOMERS, seed=SEED)).snapshot
    expected = frame_fingerprint(frame.drop(columns=["churn_probability"]))
    assert tags[mlf.TAG_DATA_FINGERPRINT] == expected
    assert tags[mlf.TAG_FEATURE_SERVICE] == "churn_v1"
    assert tags[mlf.TAG_SUITE_VERSION]
    assert float(tags["holdout_roc_auc"]) > 0.6
    assert tags[mlf.TAG_GATE_BLESSED] == "true"
    task_dir = pipeline_runs["registered_after_first"][0]
    returned = json.loads((task_dir / "executor_output.json").read_text(encoding="utf-8"))
    assert returned["parameterValues"]["Output"] == f"models:/{MODEL_NAME}/{version.version}"
    card = (task_dir / "model_card").read_text(encoding="utf-8")
    exported = task_dir.parent / "train-model" / "model"
    assert mlflow.pyfunc.load_model(str(exported)).metadata.run_id == version.run_id
    assert f"# Model card: `{MODEL_NAME}` version {version.version}" in card
    reports = _task_dirs(pipeline_runs["runs_root"], "evaluate-model")
    assert "# Gate decision: BLESSED" in (reports[0] / "report").read_text(encoding="utf-8")


def test_shuffled_label_model_is_not_blessed_and_not_registered(pipeline_runs: dict) -> None:
    """A clearly worse model (shuffled labels) is stopped by the gate; nothing changes.

    Proves: the second run's gate says NOT BLESSED, its register task never ran (no
    output directory, still one registered version), and the champion is the first
    run's version; the rejected run is still tracked in MLflow with the verdict tag.
    Cannot prove what the KFP backend shows for a skipped branch (only kfp.local here).
    """
    client = pipeline_runs["client"]
    assert len(_task_dirs(pipeline_runs["runs_root"], "register-model")) == 1
    assert len(pipeline_runs["versions"]) == 1
    first, now = pipeline_runs["first_champion"], pipeline_runs["champion_after_second"]
    assert now.version == first.version
    reports = _task_dirs(pipeline_runs["runs_root"], "evaluate-model")
    assert len(reports) == 2
    second_report = (reports[1] / "report").read_text(encoding="utf-8")
    assert "# Gate decision: NOT BLESSED" in second_report
    rejected = client.search_runs(
        [client.get_experiment_by_name(mlf.DEFAULT_EXPERIMENT).experiment_id],
        filter_string=f"tags.`{mlf.TAG_GATE_BLESSED}` = 'false'",
    )
    assert len(rejected) == 1
