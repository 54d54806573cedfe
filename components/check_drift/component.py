"""KFP component: drift check of a window against the champion's reference (thin wrapper)."""

from typing import Optional

from kfp import dsl
from kfp.dsl import HTML, Artifact, Dataset, Input, Metrics, Output

from components._images import image_for


@dsl.component(base_image=image_for("check_drift"), install_kfp_package=False)
def check_drift(
    current: Input[Dataset],
    tracking_uri: str,
    model_name: str,
    label_column: str = "",
    entity_column: str = "",
    timestamp_column: str = "",
    model_uri: str = "",
    alpha: float = 0.05,
    correction: str = "bonferroni",
    min_sample_size: int = 200,
    psi_threshold: float = 0.2,
    checks: Optional[list] = None,  # noqa: UP045 (kfp cannot parse `list | None`)
    performance_tolerance: float = 0.05,
    seed: int = 0,
    pushgateway_url: str = "",
    pipeline_run: str = "",
    *,
    report: Output[HTML],
    report_json: Output[Artifact],
    metrics: Output[Metrics],
) -> bool:
    """Checks a window of rows for drift against the champion model's drift reference.

    Args:
        current: Parquet window (feature columns; the label enables the performance check).
        tracking_uri: MLflow tracking and registry URI ("" = the suite default).
        model_name: Registered model whose ``@champion`` alias is checked.
        label_column: Label column; when the window has it, the performance check runs
            ("" = no labels).
        entity_column: Entity key: the latest row per entity is checked ("" = every row).
        timestamp_column: Orders an entity's rows (its latest is kept).
        model_uri: Explicit model URI (wins over `model_name`), e.g. ``models:/<name>/3``.
        alpha: Significance level of the whole decision, shared by the test-based checks.
        correction: ``bonferroni`` or ``fdr`` across features.
        min_sample_size: Fewer rows (one per entity) give status ``insufficient_data``.
        psi_threshold: PSI at or above which a feature counts as drifted.
        checks: Subset of feature, psi, prediction, multivariate, performance;
            None = feature, psi, prediction, performance.
        performance_tolerance: Allowed ROC AUC drop below the holdout value.
        seed: Seed of the domain classifier (multivariate check).
        pushgateway_url: Prometheus Pushgateway for this step's gauges; "" =
            ``$SUITE_PUSHGATEWAY_URL`` (the suite-endpoints ConfigMap); both empty = off.
            A push that keeps failing is logged and never changes the verdict.
        pipeline_run: KFP run name for the ``pipeline_run`` label.
        report: Self-contained HTML drift report.
        report_json: The full report as JSON.
        metrics: Per-feature p-value, statistic and PSI; share drifted.

    Returns:
        Whether drift was detected: the one return value a ``dsl.If`` can read, as
        ``task.outputs["Output"]`` (with artifact outputs ``task.output`` is ambiguous).

    Raises:
        ValueError: A knob out of range (``alpha``, ``correction``, ``min_sample_size``,
            ``psi_threshold``, ``checks``), each named; neither ``model_name`` nor
            ``model_uri``; the window lacks feature columns the reference expects (named);
            the champion has no source run.
        FileNotFoundError: The champion's run carries no drift reference (a model not
            trained by train_model).
        MlflowException: The registry has no ``champion`` alias for ``model_name``.
    """
    import pandas as pd

    from components._contract import publish
    from components.check_drift.core import DEFAULT_CHECKS, DriftCheckConfig, DriftParams, run

    params = DriftParams(
        alpha=alpha, correction=correction, min_sample_size=min_sample_size,
        psi_threshold=psi_threshold, checks=tuple(checks or DEFAULT_CHECKS),
        performance_tolerance=performance_tolerance, seed=seed, label_column=label_column,
        entity_column=entity_column, timestamp_column=timestamp_column,
    )  # fmt: skip
    config = DriftCheckConfig(
        pd.read_parquet(current.path), params, tracking_uri=tracking_uri,
        model_name=model_name, model_uri=model_uri, pushgateway_url=pushgateway_url,
        pipeline_run=pipeline_run, feature_service=current.metadata.get("feature_service", ""),
        report_url=report.uri,
    )  # fmt: skip
    result = run(config)
    publish(
        result, metrics=metrics, metadata=[report, report_json], report=report_json, html=report
    )
    return result.return_value()
