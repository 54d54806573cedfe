"""validate_data through kfp.local (SubprocessRunner, use_venv=False) inside small pipelines.

kfp.local refuses a lone component with an input artifact, so each pipeline has a
producer task that writes the parquet Dataset validate_data consumes. The batch is the
churn_data generator's point-in-time snapshot (what a correct get_features returns).
Every task is a new process that imports Great Expectations (~8 s), so only the clean
run and the failing run use GX here; report mode is covered by the core unit tests.
"""

import json
from pathlib import Path
from typing import NamedTuple

import pytest
from kfp import dsl, local
from kfp.dsl import HTML, Artifact, Dataset, Metrics, Output

from churn_data import GeneratorConfig, generate, schema
from components._images import image_for
from components.validate_data.component import validate_data
from components.validate_data.core import contract_parameter

REPO = Path(__file__).resolve().parents[2]
CONTRACT = contract_parameter(REPO / "feature_repo" / "contracts" / "churn_v1.yaml")
NOW = "2026-06-01T00:00:00+00:00"


@dsl.component(base_image=image_for("validate_data"), install_kfp_package=False)
def publish_parquet(src: str, out: Output[Dataset]):
    """Copies a parquet file into a Dataset artifact (the producer task)."""
    import shutil

    shutil.copyfile(src, out.path)


class ValidationOutputs(NamedTuple):
    passed: bool
    report: HTML
    result: Artifact
    metrics: Metrics


@dsl.pipeline(name="validate-data-check")
def validate_pipeline(src: str, contract: dict, on_failure: str, now: str) -> ValidationOutputs:
    """Publishes a parquet file, then validates it against a contract."""
    produced = publish_parquet(src=src)
    checked = validate_data(
        data=produced.outputs["out"], contract=contract, on_failure=on_failure, now=now
    )
    return ValidationOutputs(
        passed=checked.outputs["Output"],
        report=checked.outputs["report"],
        result=checked.outputs["result"],
        metrics=checked.outputs["metrics"],
    )


@pytest.fixture(scope="module")
def batches(tmp_path_factory) -> dict[str, str]:
    """A good parquet batch and one with an unknown plan category."""
    root = tmp_path_factory.mktemp("batches")
    frame = generate(GeneratorConfig(n_customers=800, seed=5)).snapshot
    frame = frame[list(schema.TRAINING_COLUMNS)]
    good, bad = root / "good.parquet", root / "bad.parquet"
    frame.to_parquet(good)
    frame.assign(plan=frame["plan"].where(frame.index % 50 != 0, "platinum")).to_parquet(bad)
    return {"good": str(good), "bad": str(bad)}


@pytest.fixture(scope="module")
def pipeline_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pipeline_root")
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    return root


def test_clean_batch_passes_in_a_pipeline(batches, pipeline_root):
    """A clean batch passes through the real component and writes all three outputs.

    Proves, through kfp.local with the component's compiled spec: the producer's Dataset
    reaches validate_data, the single return value is True, the HTML artifact is a
    self-contained PASSED page, the JSON result and Metrics carry the counts, and the
    lineage metadata names the contract.
    Cannot prove the same on a KFP backend (Argo, MinIO artifact store, the KFP UI viewer).
    """
    run = validate_pipeline(src=batches["good"], contract=CONTRACT, on_failure="fail", now=NOW)
    assert run.outputs["passed"] is True
    page = Path(run.outputs["report"].path).read_text(encoding="utf-8")
    assert "PASSED" in page
    assert "https://" not in page
    result = json.loads(Path(run.outputs["result"].path).read_text(encoding="utf-8"))
    assert result["success"] is True
    assert result["contract"] == "churn_v1"
    metrics = run.outputs["metrics"].metadata
    assert metrics["expectations_failed"] == 0
    assert metrics["expectations_evaluated"] == len(result["checks"])
    assert metrics["rows"] == result["rows"] > 500
    assert run.outputs["report"].metadata["contract_version"] == 1


def test_fail_mode_fails_the_pipeline_naming_the_expectation(batches, pipeline_root, capfd):
    """on_failure="fail" makes the pipeline run fail, and the task log names the failure.

    Proves a failed contract stops the run (kfp.local raises on the failed task), that the
    error the task raised names the column, the GX expectation, and expected vs observed
    values, and that the HTML report was still written (locally, in the pipeline root).
    Cannot prove how the KFP UI shows the failed task.
    """
    with pytest.raises(RuntimeError, match="FAILURE"):
        validate_pipeline(src=batches["bad"], contract=CONTRACT, on_failure="fail", now=NOW)
    log = "".join(capfd.readouterr())
    failed_reports = [
        p
        for p in pipeline_root.glob("validate-data-check-*/validate-data/report")
        if "FAILED" in p.read_text(encoding="utf-8")
    ]
    assert len(failed_reports) == 1, "the report is written before the task fails"
    assert "e.g. platinum" in failed_reports[0].read_text(encoding="utf-8")
    assert "DataValidationError" in log
    assert "plan: expect_column_values_to_be_in_set (allowed_values)" in log
    assert "observed" in log
    assert "e.g. platinum" in log


def test_bad_on_failure_value_fails_the_task_clearly(batches, pipeline_root, capfd):
    """An unknown on_failure value fails the task with a message naming the parameter.

    Proves the component rejects the value (before importing Great Expectations or reading
    data) and says which values are allowed.
    Cannot prove the check happens at compile time; KFP parameters are only known at run.
    """
    with pytest.raises(RuntimeError, match="FAILURE"):
        validate_pipeline(src=batches["good"], contract=CONTRACT, on_failure="warn", now=NOW)
    log = "".join(capfd.readouterr())
    assert "on_failure must be one of ['fail', 'schema', 'report'], got 'warn'" in log
