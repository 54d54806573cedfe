"""KFP component: validate a Dataset against a data contract (thin wrapper over core)."""

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Metrics, Output

from components._images import image_for


@dsl.component(base_image=image_for("validate_data"), install_kfp_package=False)
def validate_data(
    data: Input[Dataset],
    contract: dict,
    on_failure: str = "fail",
    now: str = "",
    pushgateway_url: str = "",
    pipeline_run: str = "",
    *,
    report: Output[HTML],
    result: Output[Artifact],
    metrics: Output[Metrics],
) -> bool:
    """Validates a parquet Dataset against a data contract with Great Expectations.

    Outputs are written before the failure policy applies, so a failed run still leaves
    its report behind (locally, in the pipeline root).

    Args:
        data: Parquet batch, e.g. the training frame from get_features.
        contract: The contract as a dict (the pipeline factory loads the YAML at compile
            time, so the compiled pipeline carries its contract).
        on_failure: "fail" raises an error naming each failed expectation; "schema" raises
            only for a broken batch (row count, columns, dtypes, key, future timestamps)
            and lets drift-like failures (nulls, categories, ranges) through; "report"
            never raises.
        now: ISO 8601 time that "not in the future" checks compare against; "" = task time.
        pushgateway_url: Prometheus Pushgateway for this step's gauges; "" =
            ``$SUITE_PUSHGATEWAY_URL`` (the suite-endpoints ConfigMap); both empty = off.
            A push that keeps failing is logged and never changes the verdict.
        pipeline_run: KFP run name for the ``pipeline_run`` label.
        report: Self-contained HTML report (inline CSS, no external assets).
        result: JSON validation result.
        metrics: expectations_evaluated, expectations_failed, rows.

    Returns:
        Whether every expectation passed.
    """
    import pandas as pd

    from components._contract import publish
    from components.validate_data.core import ValidateConfig, run

    config = ValidateConfig(
        pd.read_parquet(data.path), contract, on_failure=on_failure, now=now,
        pushgateway_url=pushgateway_url, pipeline_run=pipeline_run,
        feature_service=data.metadata.get("feature_service", ""), report_url=report.uri,
    )  # fmt: skip
    outcome = run(config)
    publish(outcome, metrics=metrics, metadata=[report, result], report=result, html=report)
    return outcome.return_value()
