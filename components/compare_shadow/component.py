"""KFP component: paired comparison of a shadow challenger with the champion (thin wrapper)."""

from kfp import dsl
from kfp.dsl import Artifact, Markdown, Metrics, Output

from components._images import image_for


@dsl.component(base_image=image_for("compare_shadow"), install_kfp_package=False)
def compare_shadow(
    prediction_log: str,
    window_start: str,
    window_end: str,
    label_source: str,
    feature_repo: str,
    tracking_uri: str,
    model_name: str,
    min_labels: int = 500,
    bootstrap_samples: int = 1000,
    auc_tolerance: float = 0.005,
    join_by: str = "entity_time",
    max_delay: str = "30D",
    prediction_time_column: str = "timestamp",
    require_approval: bool = False,
    seed: int = 0,
    pipeline_run: str = "",
    *,
    report: Output[Markdown],
    report_json: Output[Artifact],
    metrics: Output[Metrics],
) -> str:
    """Promotes a shadow challenger that beats the champion on the same labelled requests.

    Args:
        prediction_log: Prediction-log root holding both answers (or the champion's only:
            then the challenger scores the logged inputs, the KServe path).
        window_start: First answer time compared (inclusive).
        window_end: End of the answers compared (exclusive).
        label_source: Labels parquet (entity key, label time, label).
        feature_repo: Feature repo whose suite.yaml names the roles.
        tracking_uri: MLflow tracking and registry URI.
        model_name: Registered model whose ``challenger`` is compared with its ``champion``.
        min_labels: Labelled rows needed before deciding (fixed before the comparison).
        bootstrap_samples: Paired row resamples.
        auc_tolerance: How much lower the challenger's ROC AUC may be.
        join_by: ``entity_time`` or ``request_id``.
        max_delay: Longest prediction-to-label delay ("" = no limit).
        prediction_time_column: Prediction time in the log.
        require_approval: Promote only an approved challenger.
        seed: Seed of the resampling.
        pipeline_run: KFP run recorded in the audit records.
        report: Markdown summary.
        report_json: The full comparison as JSON.
        metrics: Log losses, ROC AUCs, their paired differences and intervals.

    Returns:
        The decision: ``promote``, ``keep``, ``waiting`` or ``no_challenger``.

    Raises:
        ValueError: A parameter out of range (``min_labels`` < 2, ``bootstrap_samples``
            < 100, ``confidence`` outside (0, 1), a negative ROC AUC tolerance), a
            prediction log without the score column, labels without the label column or
            the join keys, or labels that are not 0/1 (each named).
        components._registry_lock.RegistryLockTimeout: If promoting, the registry lock
            stays taken.
    """
    from components._contract import publish
    from components.compare_shadow.core import CompareShadowConfig, ShadowConfig, run

    shadow = ShadowConfig(
        min_labels=min_labels, bootstrap_samples=bootstrap_samples,
        auc_tolerance=auc_tolerance, seed=seed,
    )  # fmt: skip
    result = run(
        CompareShadowConfig(
            prediction_log, window_start, window_end, label_source, feature_repo, model_name,
            shadow, tracking_uri=tracking_uri, join_by=join_by, max_delay=max_delay,
            prediction_time_column=prediction_time_column, pipeline_run=pipeline_run,
            require_approval=require_approval,
        )
    )  # fmt: skip
    publish(
        result, metrics=metrics, metadata=[report, report_json], report=report_json, markdown=report
    )
    return result.return_value()
