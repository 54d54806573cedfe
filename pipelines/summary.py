"""The end of `make run`: what happened, in a form a person can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SAMPLE_REQUEST_ROWS = 5


def query_served_model(base_url: str, feature_repo: Path) -> dict[str, Any]:
    """Sends real V2 requests to the local MLServer and returns rows and answers.

    The rows are the first entities' features as Feast's online store serves them
    right now (what a live caller would send), for the repo's feature service and
    entity key (`suite.yaml`), to the model served under the repo's model name.

    Args:
        base_url: The local MLServer.
        feature_repo: The applied feature repo (its online store is read).

    Returns:
        ``{"rows": DataFrame, "entity_key": str, "answers": list[float], "version": str}``,
        or ``{"error": str}`` when the server did not answer.
    """
    import requests

    from components._feast import open_store
    from components._serving.v2 import build_v2_request, decode_v2_outputs, infer
    from components._suite import load_suite_config

    suite = load_suite_config(feature_repo)
    store = open_store(feature_repo)
    service = store.get_feature_service(suite.feature_service)
    keys = _entity_sample(store, suite)
    rows = store.get_online_features(
        features=service, entity_rows=[{suite.entity_key: k} for k in keys]
    ).to_df()
    features = rows.drop(columns=[suite.entity_key])
    with requests.Session() as session:
        answer = infer(session, base_url, suite.model_name, build_v2_request(features))
    if not answer.ok:
        return {"rows": rows, "error": f"HTTP {answer.status}: {answer.text}"}
    return {
        "rows": rows,
        "entity_key": suite.entity_key,
        "label": suite.label,
        "answers": decode_v2_outputs(answer.body).ravel().tolist(),
        "version": answer.body.get("model_version"),
    }


def _entity_sample(store: Any, suite: Any) -> list[Any]:
    """The first `SAMPLE_REQUEST_ROWS` entity keys of the feature service's first source."""
    import pyarrow.parquet as pq

    service = store.get_feature_service(suite.feature_service)
    view = store.get_feature_view(service.feature_view_projections[0].name)
    path = view.batch_source.path
    keys = pq.read_table(path, columns=[suite.entity_key]).column(0).to_pylist()
    return list(dict.fromkeys(keys))[:SAMPLE_REQUEST_ROWS]


def _reports(result: Any) -> list[Path]:
    """HTML and Markdown reports a run wrote (validation, drift, gate decision, model card)."""
    if result is None or result.pipeline_root is None:
        return []
    wanted = ("report", "model_card")
    return sorted(
        p for p in Path(result.pipeline_root).rglob("*") if p.is_file() and p.name in wanted
    )


def task_json(result: Any, task: str, output: str) -> dict[str, Any] | None:
    """Reads a JSON output of `task` (the last one by task-name suffix) from a local run."""
    import json

    if result is None or result.pipeline_root is None:
        return None
    found = sorted(Path(result.pipeline_root).glob(f"*/{task}*/{output}"))
    return json.loads(found[-1].read_text(encoding="utf-8")) if found else None


def _gate_lines(evaluation: dict[str, Any]) -> list[str]:
    decision = evaluation["decision"]
    verdict = "BLESSED" if decision["blessed"] else "NOT BLESSED"
    lines = [f"  gate: {verdict} (holdout {evaluation['holdout_rows']} rows)"]
    lines += [f"    {reason}" for reason in decision["reasons"]]
    champion = evaluation.get("champion")
    columns = [("challenger", evaluation["challenger"])]
    if champion:
        columns.append((f"champion v{champion.get('version')}", champion))
    lines.append("    " + f"{'metric':<10}" + "".join(f"{name:>18}" for name, _ in columns))
    for metric in ("roc_auc", "pr_auc", "f1", "log_loss", "brier"):
        values = "".join(f"{m['metrics'].get(metric, float('nan')):>18.4f}" for _, m in columns)
        lines.append(f"    {metric:<10}{values}")
    return lines


def _drift_lines(report: dict[str, Any]) -> list[str]:
    lines = [
        f"  drift check: {report['status']} on {report['n_current']} entities (latest row each) "
        f"(drift_detected={report['drift_detected']})"
    ]
    lines += [f"    {reason}" for reason in report.get("reasons", [])]
    return lines


def registry_state(tracking_uri: str, name: str) -> list[dict[str, Any]]:
    """Returns the registered versions (newest first) with their aliases and key tags."""
    import warnings

    from components._mlflow import mlflow_client

    aliases: dict[str, list[str]] = {}
    with warnings.catch_warnings():
        # MLflow's SQLAlchemy store warns about its own loader options on first use.
        warnings.simplefilter("ignore")
        client = mlflow_client(tracking_uri)
        versions = client.search_model_versions(f"name = '{name}'")
        if versions:
            for alias, version in client.get_registered_model(name).aliases.items():
                aliases.setdefault(str(version), []).append(alias)
    return [
        {
            "version": v.version,
            "aliases": sorted(aliases.get(str(v.version), [])),
            "run_id": v.run_id,
            "tags": dict(v.tags),
        }
        for v in sorted(versions, key=lambda v: int(v.version), reverse=True)
    ]


def _interval_text(block: dict[str, Any] | None) -> str:
    if not block:
        return "n/a"
    return f"{block['value']:.4f} [{block['low']:.4f}, {block['high']:.4f}]"


def _performance_lines(result: Any) -> list[str]:
    """Estimated, then realized performance, then the retrain decision and its rule."""
    lines = []
    estimate = task_json(result, "estimate-performance", "report_json")
    if estimate:
        lines.append(f"  estimated performance (no labels, CBPE): {estimate['status']}")
        if estimate.get("estimate"):
            metrics = estimate["estimate"]["metrics"]
            lines.append(
                f"    ROC AUC {_interval_text(metrics['roc_auc'])}, log loss "
                f"{_interval_text(metrics['log_loss'])} on {estimate['rows']} rows "
                f"(scores: {estimate['score_source']})"
            )
        else:
            lines.append(f"    {estimate['reason']}")
    realized = task_json(result, "join-labels", "report_json")
    if realized:
        lines.append(
            f"  realized performance (labels {realized['label_source']}): {realized['status']}, "
            f"{realized['labelled_rows']} of {realized['rows']} predictions labelled "
            f"({realized['labelled_share']:.0%})"
        )
        if realized.get("performance"):
            metrics = realized["performance"]["metrics"]
            lines.append(
                f"    ROC AUC {_interval_text(metrics['roc_auc'])}, log loss "
                f"{_interval_text(metrics['log_loss'])}, ECE {metrics['ece']['value']:.4f}; "
                f"champion holdout ROC AUC {realized['holdout'].get('roc_auc') or float('nan'):.4f}"
            )
    decision = task_json(result, "decide-retrain", "decision")
    if decision:
        lines.append(f"  retrain policy '{decision['policy']}': rule {decision['rule']}")
        lines.append(f"    {decision['reason']}")
    return lines


def _pipeline_lines(label: str, result: Any) -> list[str]:
    """Task statuses, drift verdict, performance, retrain decision and gate of one run."""
    statuses = ", ".join(f"{t.name} {t.status}" for t in result.tasks)
    lines = [f"{label} pipeline ({result.seconds:.0f}s): {statuses}"]
    if any(t.name.startswith("get-live-window") for t in result.tasks):
        lines.append("  window: the prediction log (what the served model answered)")
    drift = task_json(result, "check-drift", "report_json")
    if drift:
        lines += _drift_lines(drift)
    lines += _performance_lines(result)
    evaluation = task_json(result, "evaluate-model", "evaluation")
    if evaluation:
        lines += _gate_lines(evaluation)
    elif label == "monitoring":
        lines.append("  no retraining: the If(decide_retrain) branch was not taken")
    return [*lines, ""]


def _registry_lines(tracking_uri: str, name: str) -> list[str]:
    lines = ["Model registry (MLflow aliases):"]
    versions = registry_state(tracking_uri, name)
    for version in versions:
        aliases = ", ".join(version["aliases"]) or "-"
        lines.append(f"  {name} v{version['version']}: {aliases}  (run {version['run_id'][:8]})")
    if not versions:
        lines.append(f"  no version of {name} is registered (the gate blessed none)")
    return lines


def _served_lines(served: dict[str, Any]) -> list[str]:
    if "answers" in served:
        key, label = served["entity_key"], served["label"]
        lines = [
            f"Served model (local MLServer, version {served.get('version')}), live V2 answers:"
        ]
        for entity, p in zip(served["rows"][key], served["answers"], strict=True):
            lines.append(f"  {key} {entity}: P({label} = 1) = {p:.3f}")
        return lines
    if "error" in served:
        return [f"Served model did not answer: {served['error']}"]
    return []


def print_summary(facts: dict[str, Any], out=print) -> None:
    """Prints the short summary at the end of `make run`."""
    from components._suite import load_suite_config

    run = facts["run"]
    suite = load_suite_config(run.feature_repo)
    out("")
    out("=" * 78)
    out("SUMMARY")
    out("=" * 78)
    replay = facts.get("replay")
    if replay is not None:
        out(
            f"Traffic: {replay.rows:,} rows of the monitored period sent to the served "
            f"model (versions {', '.join(replay.model_versions)}) in {replay.requests} V2 "
            f"requests, {replay.seconds:.1f}s; logged in [{replay.window_start}, "
            f"{replay.window_end})"
        )
        out("")
    for label in ("training", "monitoring"):
        if facts.get(label) is not None:
            for line in _pipeline_lines(label, facts[label]):
                out(line)
    for line in _registry_lines(run.tracking_uri, suite.model_name):
        out(line)
    out("")
    for line in _served_lines(facts.get("served") or {}):
        out(line)
    out("")
    out("Reports:")
    for label in ("training", "monitoring"):
        for path in _reports(facts.get(label)):
            out(f"  {path}")
    out("")
    out("MLflow UI:")
    out(f"  .venv/bin/mlflow ui --backend-store-uri {run.tracking_uri} --port 5000")
    out("Serve the champion again: make serve")


def print_repo_summary(facts: dict[str, Any], out=print) -> None:
    """Prints the summary at the end of `python -m pipelines train|monitor`."""
    suite, workspace = facts["suite"], facts["workspace"]
    out("")
    out("=" * 78)
    out(f"SUMMARY ({suite.model_name}: feature service {suite.feature_service})")
    out("=" * 78)
    for label in ("training", "monitoring"):
        if facts.get(label) is not None:
            for line in _pipeline_lines(label, facts[label]):
                out(line)
            out("Reports:")
            for path in _reports(facts[label]):
                out(f"  {path}")
            out("")
    for line in _registry_lines(workspace.tracking_uri, suite.model_name):
        out(line)
    out("")
    out("Stage times: " + ", ".join(f"{k} {v:.0f}s" for k, v in facts["stage_seconds"].items()))
    out(f"MLflow UI: .venv/bin/mlflow ui --backend-store-uri {workspace.tracking_uri} --port 5000")
