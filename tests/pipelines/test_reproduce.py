"""`python -m pipelines reproduce` on a generated churn world with a real Feast repo."""

from __future__ import annotations

import pandas as pd
import pytest

from churn_data import GeneratorConfig, generate, write_sources
from churn_data.schema import TRAIN_ROLES
from components import _mlflow as mlf
from components._feast import apply_repo, copy_repo
from components._suite import load_suite_config
from components.evaluate_model import core as evaluate_core
from components.get_features.core import GetFeaturesConfig
from components.get_features.core import run as get_features
from components.register_model import core as register_core
from components.train_model import core as train_core
from components.validate_data.contract import contract_parameter
from pipelines.cli import main

NAME = "churn-reproduce"
WINDOW = ("2024-01-15", "2024-03-15")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """A generated world, an applied repo copy, and one registered version trained on it.

    Trained the way the pipeline's tasks do it (get_features over a label window, then
    train with the lineage get_features recorded, evaluate, register with lineage tags).
    """
    root = tmp_path_factory.mktemp("reproduce")
    data = generate(GeneratorConfig(n_customers=900, start="2024-01-01", end="2024-04-15", seed=5))
    write_sources(data, root / "sources")
    repo = copy_repo(root / "feature_repo")
    apply_repo(repo, source_dir=str(root / "sources"))
    labels = root / "sources" / "labels.parquet"
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = mlf.mlflow_client(uri)
    frame = get_features(GetFeaturesConfig(repo, "churn_v1", labels, *WINDOW)).frame
    lineage = train_core.Lineage(
        pipeline_run_id="kfp-run-1", feature_service="churn_v1", data_source="features.parquet",
        feature_repo=str(repo), entity_source=str(labels), train_start=WINDOW[0],
        train_end=WINDOW[1],
        data_contract=contract_parameter(load_suite_config(repo).contract_path),
    )  # fmt: skip
    config = train_core.TrainConfig(**TRAIN_ROLES, hyperparameters={"max_depth": 3})
    run = train_core.train(frame, client, config, lineage)
    evaluation = evaluate_core.evaluate(
        run.holdout, run.model_uri, client, NAME, label_column="churned",
        challenger_run_id=run.run_id,
    ).report()  # fmt: skip
    tags = register_core.lineage_tags(run.metadata(), evaluation, "kfp-run-1")
    version = register_core.register(client, NAME, run.model_uri, run.run_id, tags).version
    return uri, version, labels, run


def test_reproduce_is_identical_then_refuses_after_the_data_changed(world, capsys) -> None:
    """The version is rebuilt bit-identically from its records; changed data is refused.

    Proves, with real Feast retrieval, training and MLflow: a label changed *outside*
    the recorded window does not matter (the window is honoured); then the command
    rebuilds the same frame (fingerprint), the same holdout, the same hyperparameters,
    and the rebuilt model's holdout predictions equal the registered version's with max
    abs diff 0 (exit 0). After one label *inside* the window flips, it refuses with exit 4
    naming both fingerprints, and trains nothing.
    Cannot prove reproducibility across library versions or machines (same venv here);
    the summary reports the lock hash for that.
    """
    uri, version, labels_path, run = world
    labels = pd.read_parquet(labels_path)
    times = labels["event_timestamp"]
    outside = times >= pd.Timestamp(WINDOW[1], tz="UTC")
    assert outside.any()
    changed = labels.copy()
    first_outside = changed.index[outside][0]
    changed.loc[first_outside, "churned"] = 1 - changed.loc[first_outside, "churned"]
    changed.to_parquet(labels_path, index=False)

    code = main(["reproduce", "--model", NAME, "--version", version, "--tracking-uri", uri])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"{NAME} v{version}: holdout predictions identical (max abs diff 0 over" in out

    rows = run.train_rows + run.holdout_rows
    assert f"training frame   {rows} rows, {run.data_fingerprint} (as recorded)" in out
    assert f"holdout          {run.holdout_rows} rows, fingerprint as recorded" in out
    assert "hyperparameters as recorded" in out
    assert "(hash matches)" in out

    inside = (times >= pd.Timestamp(WINDOW[0], tz="UTC")) & ~outside
    first_inside = changed.index[inside][0]
    changed.loc[first_inside, "churned"] = 1 - changed.loc[first_inside, "churned"]
    changed.to_parquet(labels_path, index=False)
    code = main(["reproduce", "--model", NAME, "--version", version, "--tracking-uri", uri])
    captured = capsys.readouterr()
    assert code == 4
    assert "cannot be reproduced: the training frame rebuilt" in captured.err
    assert run.data_fingerprint in captured.err
    assert "holdout predictions" not in captured.out
