"""The end of `make run`: what happened, in a form a person can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

SAMPLE_REQUEST_ROWS = 5


def query_served_model(base_url: str, run: Any, served_name: str = "churn") -> dict[str, Any]:
    """Sends real V2 requests to the local MLServer and returns rows and answers.

    The rows are the latest customers' features as Feast's online store serves them
    right now (what a live caller would send).

    Args:
        base_url: The local MLServer.
        run: The `LocalRunConfig` of this run.
        served_name: V2 model name.

    Returns:
        ``{"rows": DataFrame, "entity_key": str, "answers": list[float], "version": str}``.
    """
    import requests

    from components._feast import load_suite_config, open_store
    from components._serving.v2 import build_v2_request, decode_v2_outputs, infer

    suite = load_suite_config(run.feature_repo)
    store = open_store(run.feature_repo)
    service = store.get_feature_service(suite.feature_service)
    entities = [{suite.entity_key: i} for i in range(1, SAMPLE_REQUEST_ROWS + 1)]
    rows = store.get_online_features(features=service, entity_rows=entities).to_df()
    features = rows.drop(columns=[suite.entity_key])
    with requests.Session() as session:
        answer = infer(session, base_url, served_name, build_v2_request(features))
    if not answer.ok:
        return {"rows": rows, "error": f"HTTP {answer.status}: {answer.text}"}
    return {
        "rows": rows,
        "entity_key": suite.entity_key,
        "answers": decode_v2_outputs(answer.body).ravel().tolist(),
        "version": answer.body.get("model_version"),
    }


def _reports(result: Any) -> list[Path]:
    """HTML and Markdown reports a run wrote (validation, drift, gate decision, model card)."""
    if result is None or result.pipeline_root is None:
        return []
    wanted = ("report", "model_card")
    return sorted(
        p for p in Path(result.pipeline_root).rglob("*") if p.is_file() and p.name in wanted
    )


def _task_json(result: Any, task: str, output: str) -> dict[str, Any] | None:
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
        f"  drift check: {report['status']} on {report['n_current']} customers "
        f"(drift_detected={report['drift_detected']})"
    ]
    lines += [f"    {reason}" for reason in report.get("reasons", [])]
    return lines


def registry_state(tracking_uri: str, name: str = "churn") -> list[dict[str, Any]]:
    """Returns the registered versions (newest first) with their aliases and key tags."""
    import warnings

    from components._mlflow import mlflow_client

    client = mlflow_client(tracking_uri)
    aliases: dict[str, list[str]] = {}
    with warnings.catch_warnings():
        # MLflow's SQLAlchemy store warns about its own loader options on first query.
        warnings.simplefilter("ignore")
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


def print_summary(facts: dict[str, Any], out=print) -> None:
    """Prints the short summary at the end of `make run`."""
    run = facts["run"]
    out("")
    out("=" * 78)
    out("SUMMARY")
    out("=" * 78)
    for label in ("training", "monitoring"):
        result = facts.get(label)
        if result is None:
            continue
        statuses = ", ".join(f"{t.name} {t.status}" for t in result.tasks)
        out(f"{label} pipeline ({result.seconds:.0f}s): {statuses}")
        drift = _task_json(result, "check-drift", "report_json")
        if drift:
            for line in _drift_lines(drift):
                out(line)
        evaluation = _task_json(result, "evaluate-model", "evaluation")
        if evaluation:
            for line in _gate_lines(evaluation):
                out(line)
        elif label == "monitoring":
            out("  no retraining: the If(drift_detected) branch was not taken")
        out("")
    out("Model registry (MLflow aliases):")
    for version in registry_state(run.tracking_uri):
        aliases = ", ".join(version["aliases"]) or "-"
        out(f"  churn v{version['version']}: {aliases}  (run {version['run_id'][:8]})")
    served = facts.get("served") or {}
    out("")
    if "answers" in served:
        out(f"Served model (local MLServer, version {served.get('version')}), live V2 answers:")
        for cid, p in zip(served["rows"][served["entity_key"]], served["answers"], strict=True):
            out(f"  {served['entity_key']} {cid}: P(churn) = {p:.3f}")
    elif "error" in served:
        out(f"Served model did not answer: {served['error']}")
    out("")
    out("Reports:")
    for label in ("training", "monitoring"):
        for path in _reports(facts.get(label)):
            out(f"  {path}")
    out("")
    out("MLflow UI:")
    out(f"  .venv/bin/mlflow ui --backend-store-uri {run.tracking_uri} --port 5000")
    out("Serve the champion again: make serve")
