"""validate_serving through kfp.local: a producer task feeds the holdout Dataset.

The model is real: churn_data generates a frame, train_model trains and logs it to a
sqlite MLflow store in tmp_path and it is registered as churn/1, as the training pipeline
does. SubprocessRunner runs each task in this interpreter's venv (the suite image is only
named), and validate_serving starts a real MLServer on loopback inside its task.
"""

import json
from pathlib import Path

import pytest
from kfp import dsl, local
from kfp.dsl import Dataset, Output

from churn_data.schema import TRAIN_ROLES
from components._images import image_for
from components.validate_serving.component import validate_serving


@dsl.component(base_image=image_for("validate_serving"), install_kfp_package=False)
def produce_holdout(source: str, holdout: Output[Dataset]):
    """Copies a parquet file into a Dataset artifact (stands in for train_model's holdout)."""
    import shutil

    shutil.copyfile(source, holdout.path)


@dsl.pipeline(name="validate-serving-probe")
def serving_probe(tracking_uri: str, model_uri: str, source: str) -> bool:
    """Holdout producer -> validate_serving."""
    check = validate_serving(
        model_uri=model_uri,
        holdout=produce_holdout(source=source).outputs["holdout"],
        tracking_uri=tracking_uri,
        max_rows=300,
    )
    return check.outputs["Output"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """churn/1 trained by train_model (logistic regression) and its holdout as parquet."""
    from churn_data import GeneratorConfig, generate, schema
    from components._mlflow import mlflow_client
    from components.train_model.core import TrainConfig, train

    root = tmp_path_factory.mktemp("serving_kfp")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = mlflow_client(uri)
    frame = generate(GeneratorConfig(n_customers=2000, seed=0)).snapshot
    result = train(
        frame.drop(columns=schema.PROBABILITY),
        client,
        TrainConfig("logistic_regression", **TRAIN_ROLES),
    )
    client.create_registered_model("churn")
    client.create_model_version("churn", result.model_uri, result.run_id, model_id=result.model_id)
    holdout = root / "holdout.parquet"
    result.holdout.to_parquet(holdout)
    return uri, holdout, root


def test_validate_serving_in_a_pipeline(trained):
    """The component serves train_model's model in MLServer and passes, with metrics.

    Proves: inside a kfp.local pipeline the task reads the holdout Dataset, resolves
    models:/churn/1 through the registry, serves it with the suite runtime, returns True
    and writes rows_compared, max_abs_diff and p50/p99 latencies to its Metrics artifact.

    Cannot prove the same task works in the suite image on a cluster (no container here).
    """
    uri, holdout, root = trained
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root / "runs"))
    run = serving_probe(tracking_uri=uri, model_uri="models:/churn/1", source=str(holdout))
    assert run.output is True
    (output_file,) = [
        p
        for p in Path(root / "runs").rglob("executor_output.json")
        if p.parent.name == "validate-serving"
    ]
    executor_output = json.loads(output_file.read_text())
    metrics = executor_output["artifacts"]["metrics"]["artifacts"][0]["metadata"]
    assert metrics["model_uri"] == "models:/churn/1"
    assert metrics["rows_compared"] == 300
    assert metrics["max_abs_diff"] <= 1e-6
    assert metrics["malformed_checks_passed"] == 3
    assert metrics["single_row_p99_ms"] >= metrics["single_row_p50_ms"] > 0
    assert metrics["batch_p50_ms"] > 0
