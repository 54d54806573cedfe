"""KFP component: delayed labels joined to a window's predictions, realized performance."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Output

from components._images import image_for


@dsl.component(base_image=image_for("join_labels"), install_kfp_package=False)
def join_labels(
    window: Input[Dataset],
    label_source: str,
    feature_repo: str,
    tracking_uri: str,
    model_name: str,
    join_by: str = "entity_time",
    max_delay: str = "30D",
    prediction_time_column: str = "timestamp",
    min_labelled_rows: int = 200,
    bootstrap_samples: int = 200,
    seed: int = 0,
    score_column: str = "",
    *,
    joined: Output[Dataset],
    report_json: Output[Artifact],
    metrics: Output[Metrics],
):
    """Joins labels that arrived later to the window's predictions and measures the champion.

    Args:
        window: Prediction-log window (or a feature-store window holding its labels).
        label_source: Labels parquet (path or s3:// URI) with entity key, label time, label.
        feature_repo: Feature repo whose suite.yaml names label, entity key and timestamp.
        tracking_uri: MLflow tracking and registry URI.
        model_name: Registered model whose ``@champion`` is measured.
        join_by: ``entity_time`` or ``request_id``.
        max_delay: Longest prediction-to-label delay, e.g. ``30D`` ("" = no limit).
        prediction_time_column: Prediction time in the window (``timestamp`` = answer time).
        min_labelled_rows: Fewer labelled rows give status ``insufficient_labels``.
        bootstrap_samples: Row resamples of the intervals.
        seed: Seed of the resampling.
        score_column: Served-score column ("" = ``<label>_probability``).
        joined: Every window row with label, ``labelled`` and ``champion_score``.
        report_json: Status, labelled share, ROC AUC / log loss / Brier / ECE with
            intervals, reliability bins, holdout metrics.
        metrics: The same numbers, flat.

    Raises:
        ValueError: ``join_by`` or ``max_delay`` unreadable, a join column missing (named),
            a label that is not 0/1 after ``positive_label``, a label key labelled twice,
            or the champion's run has no holdout metrics.
        SuiteConfigError: ``feature_repo`` has no valid suite.yaml.
    """
    import pandas as pd

    from components._contract import publish
    from components.join_labels.core import JoinLabelsConfig, LabelJoinParams, run

    params = LabelJoinParams(
        by=join_by, max_delay=max_delay, prediction_time_column=prediction_time_column,
        min_labelled_rows=min_labelled_rows, bootstrap_samples=bootstrap_samples, seed=seed,
    )  # fmt: skip
    config = JoinLabelsConfig(
        pd.read_parquet(window.path), label_source, feature_repo, model_name, params,
        tracking_uri=tracking_uri, score_column=score_column,
    )  # fmt: skip
    result = run(config)
    publish(
        result, metrics=metrics, metadata=[report_json], report=report_json,
        frames={joined: result.joined},
    )  # fmt: skip
