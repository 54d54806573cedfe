"""One call per verdict step: its result as gauges on the Pushgateway (+ a direct notification).

Each ``publish_*`` function is what a step's ``component.py`` calls after its verdict is
known and before it applies its failure policy. They never raise for an unreachable
gateway or webhook (see :mod:`.push` and :mod:`.notify`), so metrics can never change a
verdict. The metric names below are the contract with ``observability/`` (alert rules and
dashboard); ``tests/observability`` checks every name the rules and panels use is pushed.

Every series carries ``model``, ``version``, ``feature_service``, ``pipeline_run`` and the
Pushgateway's ``job`` (``kfp_mlops_suite_<step>``).
"""

from __future__ import annotations

import math
import time
from typing import Any

from components._contract import ComponentResult
from components._observability.notify import Notification, notify
from components._observability.push import PushOutcome, RunLabels, Sample, push_gauges

# The step results (check_drift's DriftReport, validate_data's ValidationReport,
# evaluate_model's Evaluation, deploy_model's DeployResult) are typed by the shared
# protocol: a shared module never imports a component.
LAST_RUN = "suite_step_last_run_timestamp_seconds"
"""Unix time the step finished (pushed by every step)."""


def _finite(value: Any) -> float:
    """Returns `value` as a float, NaN for None (NaN series are not pushed)."""
    return math.nan if value is None else float(value)


def _last_run() -> Sample:
    return Sample(LAST_RUN, "Unix time the step finished.", time.time())


def _model_name(model_uri: str) -> str:
    """``models:/<name>@champion`` or ``models:/<name>/3`` -> ``<name>`` ("" otherwise)."""
    from components._mlflow import registered_name

    try:
        return registered_name(model_uri)
    except ValueError:
        return ""


def registry_version(model_uri: str, tracking_uri: str = "") -> str:
    """Returns the registry version a ``models:/`` URI points at ("" if it cannot be told).

    ``models:/<name>/3`` -> ``3`` without a lookup; ``models:/<name>@champion`` asks the
    registry which version holds the alias.
    """
    from components._mlflow import alias_version, mlflow_client, parse_models_uri

    try:
        name, version, alias = parse_models_uri(model_uri)
    except ValueError:
        return ""
    if not alias:
        return version or ""
    from mlflow.exceptions import MlflowException

    try:
        return alias_version(mlflow_client(tracking_uri), name, alias) or ""
    except MlflowException:
        return ""


def drift_samples(report: ComponentResult) -> list[Sample]:
    """Returns check_drift's gauges: verdict, per-feature statistics, prediction, performance."""
    samples = [
        Sample(
            "suite_drift_detected", "1 when the drift check found drift.", report.drift_detected
        ),
        Sample(
            "suite_drift_check_status",
            "1 for the status of the latest check (drift, no_drift, insufficient_data).",
            1.0,
            {"status": report.status},
        ),
        Sample("suite_drift_share_drifted", "Share of features drifted.", report.share_drifted),
        Sample(
            "suite_drift_drifted_features",
            "Number of drifted features.",
            len(report.drifted_features),
        ),
        Sample("suite_drift_window_rows", "Rows (one per entity) checked.", report.n_current),
        Sample(
            "suite_drift_last_check_timestamp_seconds",
            "Unix time of the latest completed drift check.",
            time.time(),
        ),
        _last_run(),
    ]
    for f in report.features:
        labels = {"feature": f.name, "test": f.test}
        samples += [
            Sample("suite_drift_feature_p_value", "Per-feature test p-value.", f.p_value, labels),
            Sample(
                "suite_drift_feature_statistic",
                "Per-feature test statistic (KS D is the effect size of a numeric feature).",
                f.statistic,
                labels,
            ),
            Sample("suite_drift_feature_psi", "Per-feature PSI.", f.psi, {"feature": f.name}),
            Sample(
                "suite_drift_feature_drifted",
                "1 when the feature is flagged as drifted.",
                f.drifted,
                {"feature": f.name},
            ),
            Sample(
                "suite_drift_feature_null_share",
                "Share of missing values in the window.",
                f.null_share_current,
                {"feature": f.name},
            ),
        ]
    if report.prediction is not None:
        p = report.prediction
        samples += [
            Sample("suite_drift_prediction_psi", "PSI of the champion's scores.", p.psi),
            Sample("suite_drift_prediction_ks_statistic", "KS D of the scores.", p.statistic),
            Sample("suite_drift_prediction_p_value", "KS p-value of the scores.", p.p_value),
            Sample("suite_drift_prediction_drifted", "1 when the scores drifted.", p.drifted),
            Sample(
                "suite_drift_prediction_mean",
                "Mean predicted probability.",
                p.reference_mean,
                {"sample": "reference"},
            ),
            Sample(
                "suite_drift_prediction_mean",
                "Mean predicted probability.",
                p.current_mean,
                {"sample": "window"},
            ),
        ]
    if report.multivariate is not None:
        samples.append(
            Sample(
                "suite_drift_multivariate_p_value",
                "Domain-classifier test p-value.",
                report.multivariate.p_value,
            )
        )
    if report.performance is not None:
        perf = report.performance
        samples += [
            Sample(
                "suite_drift_roc_auc",
                "Realized ROC AUC of the champion (reference = holdout, window = labelled rows).",
                _finite(perf.reference_roc_auc),
                {"sample": "reference"},
            ),
            Sample(
                "suite_drift_roc_auc",
                "Realized ROC AUC of the champion (reference = holdout, window = labelled rows).",
                _finite(perf.current_roc_auc),
                {"sample": "window"},
            ),
            Sample(
                "suite_drift_performance_degraded",
                "1 when the window's ROC AUC is below the holdout's beyond tolerance.",
                perf.degraded,
            ),
        ]
    return samples


def publish_drift(
    report: ComponentResult,
    *,
    gateway_url: str = "",
    pipeline_run: str = "",
    feature_service: str = "",
    model_name: str = "",
    tracking_uri: str = "",
    report_url: str = "",
    webhook_url: str = "",
) -> PushOutcome:
    """Pushes check_drift's gauges; notifies the webhook when drift was found.

    Args:
        report: What check_drift found.
        gateway_url: Pushgateway ("" = ``$SUITE_PUSHGATEWAY_URL``; both empty = off).
        pipeline_run: KFP run name.
        feature_service: Feature service of the window (the Dataset's metadata).
        model_name: Registered model name; "" = taken from the report's model URI.
        tracking_uri: MLflow registry, to resolve the champion alias to a version.
        report_url: Link to the HTML report, put in the notification.
        webhook_url: Direct notification webhook ("" = ``$SUITE_ALERT_WEBHOOK_URL``).
    """
    uri = report.model_uri or ""
    labels = RunLabels(
        model=model_name or _model_name(uri),
        version=registry_version(uri, tracking_uri),
        feature_service=feature_service,
        pipeline_run=pipeline_run,
    )
    outcome = push_gauges("check_drift", drift_samples(report), labels, gateway_url)
    if report.drift_detected:
        features = ", ".join(report.drifted_features) or "(none: prediction/performance)"
        notify(
            Notification(
                event="drift",
                title=f"Drift confirmed on {labels.model} v{labels.version or '?'}",
                text=f"Drifted features: {features}\n" + "\n".join(report.reasons),
                severity="warning",
                report_url=report_url,
                fields={"share drifted": f"{report.share_drifted:.2f}", **_fields(labels)},
            ),
            webhook_url,
        )
    return outcome


def _fields(labels: RunLabels) -> dict[str, str]:
    return {k: v for k, v in labels.as_dict().items() if v}


def validation_samples(report: ComponentResult) -> list[Sample]:
    """Returns validate_data's gauges: verdict, expectations evaluated and failed, rows."""
    samples = [
        Sample("suite_validation_success", "1 when every expectation passed.", report.success),
        Sample("suite_validation_expectations_evaluated", "Expectations run.", len(report.checks)),
        Sample(
            "suite_validation_expectations_failed", "Expectations failed.", len(report.failures)
        ),
        Sample("suite_validation_rows", "Rows in the validated batch.", report.rows),
        _last_run(),
    ]
    for check in report.failures:
        samples.append(
            Sample(
                "suite_validation_failed_check",
                "1 per failed expectation (column, expectation).",
                1.0,
                {"column": str(check.column), "expectation": str(check.expectation)},
            )
        )
    return samples


def publish_validation(
    report: ComponentResult,
    *,
    gateway_url: str = "",
    pipeline_run: str = "",
    feature_service: str = "",
    model_name: str = "",
    report_url: str = "",
    webhook_url: str = "",
) -> PushOutcome:
    """Pushes validate_data's gauges; notifies the webhook when validation failed.

    Args:
        report: The validation report.
        gateway_url: Pushgateway ("" = ``$SUITE_PUSHGATEWAY_URL``; both empty = off).
        pipeline_run: KFP run name.
        feature_service: Feature service of the batch (the Dataset's metadata).
        model_name: Model the data is for, when known ("" is fine: data is per service).
        report_url: Link to the HTML report.
        webhook_url: Direct notification webhook ("" = ``$SUITE_ALERT_WEBHOOK_URL``).
    """
    labels = RunLabels(model_name, "", feature_service, pipeline_run)
    outcome = push_gauges("validate_data", validation_samples(report), labels, gateway_url)
    if not report.success:
        notify(
            Notification(
                event="validation_failed",
                title=f"Data validation failed ({feature_service or report.contract_name})",
                text=report.failure_message(),
                severity="critical",
                report_url=report_url,
                fields=_fields(labels),
            ),
            webhook_url,
        )
    return outcome


def evaluation_samples(evaluation: ComponentResult) -> list[Sample]:
    """Returns evaluate_model's gauges: the gate decision and both models' holdout metrics."""
    samples = [
        Sample("suite_gate_blessed", "1 when the challenger passed the gate.", evaluation.blessed),
        Sample("suite_gate_holdout_rows", "Holdout rows scored.", evaluation.holdout_rows),
        _last_run(),
    ]
    for score in (evaluation.challenger, evaluation.champion):
        if score is None:
            continue
        for metric, value in score.metrics.items():
            samples.append(
                Sample(
                    "suite_gate_metric",
                    "Holdout metric of the challenger and the champion.",
                    _finite(value),
                    {"metric": metric, "role": score.name},
                )
            )
    return samples


def publish_evaluation(
    evaluation: ComponentResult,
    *,
    gateway_url: str = "",
    pipeline_run: str = "",
    feature_service: str = "",
) -> PushOutcome:
    """Pushes evaluate_model's gauges (version = ``run:<challenger run id>``: not registered yet).

    Args:
        evaluation: The gate's evaluation.
        gateway_url: Pushgateway ("" = ``$SUITE_PUSHGATEWAY_URL``; both empty = off).
        pipeline_run: KFP run name.
        feature_service: Feature service the model was trained on.
    """
    run_id = evaluation.challenger.run_id
    labels = RunLabels(
        evaluation.registered_model_name,
        f"run:{run_id}" if run_id else "",
        feature_service,
        pipeline_run,
    )
    return push_gauges("evaluate_model", evaluation_samples(evaluation), labels, gateway_url)


DEPLOY_ACTIONS = ("promoted", "unchanged", "rolled_back", "shadowing", "rendered")


def deployment_samples(result: ComponentResult, canary_percent: int) -> list[Sample]:
    """Returns deploy_model's gauges: the action (one-hot), rollback flag, canary share."""
    samples = [
        Sample(
            "suite_deploy_action",
            "1 for the action of the latest rollout (promoted, unchanged, rolled_back, "
            "shadowing, rendered).",
            float(result.action == action),
            {"action": action, "previous_version": str(result.previous_version or "")},
        )
        for action in DEPLOY_ACTIONS
    ]
    samples += [
        Sample(
            "suite_deploy_rolled_back",
            "1 when the latest canary was rolled back.",
            result.action == "rolled_back",
        ),
        Sample(
            "suite_deploy_canary_percent", "Canary traffic share while watched.", canary_percent
        ),
        _last_run(),
    ]
    return samples


def publish_deployment(
    result: ComponentResult,
    *,
    canary_percent: int,
    target: str,
    gateway_url: str = "",
    pipeline_run: str = "",
    feature_service: str = "",
    webhook_url: str = "",
) -> PushOutcome:
    """Pushes deploy_model's gauges; notifies the webhook on a rollback or a promotion.

    Args:
        result: What the deployment did.
        canary_percent: Canary share the rollout used.
        target: ``local``, ``kserve`` or ``seldon`` (in the notification).
        gateway_url: Pushgateway ("" = ``$SUITE_PUSHGATEWAY_URL``; both empty = off).
        pipeline_run: KFP run name.
        feature_service: Feature service of the model, when known.
        webhook_url: Direct notification webhook ("" = ``$SUITE_ALERT_WEBHOOK_URL``).
    """
    labels = RunLabels(result.model_name, str(result.version), feature_service, pipeline_run)
    outcome = push_gauges(
        "deploy_model", deployment_samples(result, canary_percent), labels, gateway_url
    )
    if result.action in ("rolled_back", "promoted"):
        rolled_back = result.action == "rolled_back"
        notify(
            Notification(
                event="rollback" if rolled_back else "promotion",
                title=(
                    f"{'Rolled back' if rolled_back else 'Promoted'} {result.model_name} "
                    f"v{result.version} on {target}"
                ),
                text=result.reason,
                severity="critical" if rolled_back else "info",
                fields={"previous version": str(result.previous_version), **_fields(labels)},
            ),
            webhook_url,
        )
    return outcome
