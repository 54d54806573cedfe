"""check_drift through kfp.local: a producer task feeds the window, the bool drives a dsl.If.

The champion is real: churn_data generates a training frame, train_model trains and
logs it to a sqlite MLflow store in tmp_path, the drift reference is built from its
holdout and logged on its run, and the version gets the ``champion`` alias, which is
what the training pipeline does. Nothing here runs in a container: SubprocessRunner
runs each task in this interpreter's venv (the suite image is only named).
"""

import json

import pytest
from kfp import dsl, local
from kfp.dsl import Dataset, Output

from churn_data.schema import DRIFT_ROLES, TRAIN_ROLES
from components._images import image_for
from components.check_drift.component import check_drift

BASE_IMAGE = image_for("check_drift")


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def produce_window(source: str, window: Output[Dataset]):
    """Copies a parquet file into a Dataset artifact (stands in for get_features)."""
    import shutil

    shutil.copyfile(source, window.path)


@dsl.component(base_image=BASE_IMAGE, install_kfp_package=False)
def mark_taken(flag_path: str):
    """Writes a file, so the test can see which branch ran."""
    from pathlib import Path

    Path(flag_path).write_text("taken", encoding="utf-8")


@dsl.pipeline(name="drift-check-probe")
def drift_probe(
    tracking_uri: str, stable_source: str, drifted_source: str, stable_flag: str, drifted_flag: str
):
    """Two windows checked against the champion; each True result takes its branch."""
    stable = check_drift(
        current=produce_window(source=stable_source).outputs["window"],
        tracking_uri=tracking_uri,
        model_name="churn",
        **DRIFT_ROLES,
    )
    drifted = check_drift(
        current=produce_window(source=drifted_source).outputs["window"],
        tracking_uri=tracking_uri,
        model_name="churn",
        **DRIFT_ROLES,
        checks=["feature", "psi", "prediction", "multivariate", "performance"],
        persistence_k=1,  # this window alone decides here; persistence is unit-tested
        persistence_m=1,
    )
    with dsl.If(stable.outputs["Output"] == True):  # noqa: E712 (a KFP condition)
        mark_taken(flag_path=stable_flag)
    with dsl.If(drifted.outputs["Output"] == True):  # noqa: E712
        mark_taken(flag_path=drifted_flag)


@pytest.fixture(scope="module")
def champion_store(tmp_path_factory):
    """A sqlite MLflow store whose registered model churn@champion carries a drift reference."""
    import mlflow

    from churn_data import DriftScenario, GeneratorConfig, generate, schema
    from components._drift_reference import build_reference, log_reference
    from components._mlflow import mlflow_client
    from components.train_model.core import TrainConfig, train

    root = tmp_path_factory.mktemp("drift_kfp")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = mlflow_client(uri)
    world = GeneratorConfig(n_customers=3000, seed=0)
    frame = generate(world).snapshot.drop(columns=schema.PROBABILITY)
    config = TrainConfig(**TRAIN_ROLES, model_type="logistic_regression").with_features_of(frame)
    result = train(frame, client, config)
    model = mlflow.pyfunc.load_model(result.model_uri)
    holdout = result.holdout
    reference_dir = build_reference(
        holdout,
        model.predict(holdout[result.feature_columns]),
        config.categorical_features,
        config.numeric_features,
        sample_size=2000,
        seed=0,
        out_dir=root / "reference",
        labels=holdout[result.label_column],
    )
    log_reference(result.run_id, reference_dir, client)
    version = mlflow.register_model(result.model_uri, "churn").version
    client.set_registered_model_alias("churn", "champion", version)

    # Windows: another world (other customers) over the holdout's time range.
    sources = {}
    for name, scenario in (
        ("stable", DriftScenario()),
        ("drifted", DriftScenario.parse("covariate_shift", start=world.start, magnitude=1.0)),
    ):
        snapshot = generate(GeneratorConfig(n_customers=3000, seed=1, scenario=scenario)).snapshot
        window = snapshot[snapshot["event_timestamp"] >= holdout["event_timestamp"].min()]
        sources[name] = root / f"{name}.parquet"
        window.to_parquet(sources[name])
    return {"uri": uri, "root": root, "run_id": result.run_id, **sources}


def test_check_drift_runs_in_a_pipeline_and_its_bool_drives_dsl_if(champion_store, tmp_path):
    """kfp.local runs check_drift twice; only the drifted window's True takes its branch.

    Proves: the component loads churn@champion and its reference from MLflow inside
    a task, reads a Dataset produced by an upstream task, returns one bool that a
    dsl.If reads (True for a 1-SD covariate shift, False for a same-distribution
    window, and the branch not taken did not run), and writes an HTML report with
    no external URL, a strict JSON report naming the shifted features, and metrics
    with per-feature p-values and share_drifted. Cannot prove the same on a KFP
    cluster (Argo) or inside the suite image; the compiled-pipeline tests cover
    compilation.
    """
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))
    flags = {name: tmp_path / f"{name}.flag" for name in ("stable", "drifted")}

    drift_probe(
        tracking_uri=champion_store["uri"],
        stable_source=str(champion_store["stable"]),
        drifted_source=str(champion_store["drifted"]),
        stable_flag=str(flags["stable"]),
        drifted_flag=str(flags["drifted"]),
    )

    assert flags["drifted"].read_text() == "taken"
    assert not flags["stable"].exists()
    reports = {}
    for path in tmp_path.rglob("report_json"):
        body = json.loads(path.read_text(), parse_constant=pytest.fail)
        reports[body["status"]] = body
    assert set(reports) == {"drift", "no_drift"}
    drifted = reports["drift"]
    assert {"sessions_7d", "spend_30d"} <= set(drifted["drifted_features"])
    assert drifted["run_id"] == champion_store["run_id"]
    assert drifted["multivariate"]["feature_importances"]
    assert reports["no_drift"]["drifted_features"] == []
    html_files = list(tmp_path.rglob("report"))
    assert len(html_files) == 2
    for html in html_files:
        text = html.read_text()
        assert text.startswith("<!DOCTYPE html>")
        assert "http://" not in text
        assert "https://" not in text
    metrics = [json.loads(p.read_text()) for p in tmp_path.rglob("executor_output.json")]
    logged = [
        artifact["metadata"]
        for output in metrics
        for name, group in output.get("artifacts", {}).items()
        if name == "metrics"
        for artifact in group["artifacts"]
    ]
    assert len(logged) == 2
    for values in logged:
        assert {"share_drifted", "p_value_sessions_7d", "psi_plan", "statistic_age"} <= set(values)
