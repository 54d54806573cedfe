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
    correction: str = "fdr",
    min_sample_size: int = 200,
    psi_threshold: float = 0.2,
    min_psi: float = 0.1,
    min_distance: float = 0.15,
    persistence_k: int = 1,
    persistence_m: int = 1,
    cooldown_windows: int = 1,
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
        correction: ``fdr`` (Benjamini-Hochberg) or ``bonferroni`` across features.
        min_sample_size: Fewer rows (one per entity) give status ``insufficient_data``.
        psi_threshold: PSI at or above which a feature counts as drifted without a test.
        min_psi: Effect-size floor: a significant test alarms only with PSI >= this ...
        min_distance: ... or (numeric features, scores) Wasserstein distance >= this
            many reference SDs.
        persistence_k: Window alarms needed in the last `persistence_m` windows.
        persistence_m: Windows of the same champion version looked back over.
        cooldown_windows: Windows after a retrain that cannot alarm (0 = none).
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
        metrics: Per-feature p/q-value, statistic, PSI, distance; raw and window alarm,
            persistence count, cooldown state.

    Returns:
        The governed drift alarm (significance, effect size, persistence, cooldown;
        the drift alarm a retrain policy consumes): the one return value a ``dsl.If`` can read, as
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
        min_psi=min_psi, min_distance=min_distance, persistence_k=persistence_k,
        persistence_m=persistence_m, cooldown_windows=cooldown_windows,
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
