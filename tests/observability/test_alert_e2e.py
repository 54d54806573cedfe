"""End to end on loopback: a drifted window -> Pushgateway -> Prometheus -> Alertmanager -> webhook.

Every part is the real thing: churn_data generates a drifted window, train_model's core
trains the champion into a sqlite MLflow store, the validate_data, check_drift and
deploy_model *components* run through kfp.local and push their gauges to a real
Pushgateway, a real MLServer serves the model with the suite runtime (its metrics port
scraped), real Prometheus evaluates observability/prometheus/rules.yml, real Alertmanager
runs observability/alertmanager/alertmanager.yml, and a webhook receiver started here plays
Slack. Only the timings are shortened (1 s scrape/evaluation, 1 s group wait).

No `from __future__ import annotations`: KFP reads the component annotations at runtime.
"""

import json
import time

import pytest
import requests
from kfp import dsl, local
from kfp.dsl import Dataset, Output

from churn_data.schema import DRIFT_ROLES, TRAIN_ROLES
from components._images import image_for
from components._observability.stack import (
    DASHBOARD_FILE,
    WebhookReceiver,
    panel_queries,
    resolve_variables,
    start_stack,
)

FEATURE_SERVICE = "churn_v1"
MODEL = "churn"
pytestmark = pytest.mark.usefixtures("prometheus_binaries")


@dsl.component(base_image=image_for("check_drift"), install_kfp_package=False)
def produce_window(source: str, feature_service: str, window: Output[Dataset]):
    """Copies a parquet file into a Dataset with get_features' metadata (stands in for it)."""
    import shutil

    shutil.copyfile(source, window.path)
    window.metadata["feature_service"] = feature_service


def _monitoring_probe():
    from components.check_drift.component import check_drift
    from components.validate_data.component import validate_data

    @dsl.pipeline(name="observed-monitoring")
    def observed_monitoring(
        tracking_uri: str, source: str, contract: dict, pushgateway_url: str, feature_service: str
    ):
        """The monitoring pipeline's first half: window -> validate_data -> check_drift."""
        window = produce_window(source=source, feature_service=feature_service)
        validation = validate_data(
            data=window.outputs["window"],
            contract=contract,
            on_failure="schema",
            pushgateway_url=pushgateway_url,
            pipeline_run=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
        )
        check_drift(
            current=window.outputs["window"],
            tracking_uri=tracking_uri,
            model_name=MODEL,
            **DRIFT_ROLES,
            pushgateway_url=pushgateway_url,
            pipeline_run=dsl.PIPELINE_JOB_NAME_PLACEHOLDER,
        ).after(validation)

    return observed_monitoring


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """churn@champion (v1, with a drift reference) and v2 (same model); a drifted window."""
    import mlflow

    from churn_data import DriftScenario, GeneratorConfig, generate, schema
    from components._drift_reference import build_reference, log_reference
    from components._mlflow import mlflow_client
    from components.train_model.core import TrainConfig, train

    root = tmp_path_factory.mktemp("observed")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    client = mlflow_client(uri)
    world = GeneratorConfig(n_customers=3000, seed=0)
    frame = generate(world).snapshot.drop(columns=schema.PROBABILITY)
    config = TrainConfig(model_type="logistic_regression", **TRAIN_ROLES).with_features_of(frame)
    result = train(frame, client, config)
    model = mlflow.pyfunc.load_model(result.model_uri)
    holdout = result.holdout
    reference_dir = build_reference(
        holdout,
        model.predict(holdout[result.feature_columns]),
        config.categorical_features,
        config.numeric_features,
        sample_size=2000,
        seed=0,
        out_dir=root / "reference",
        labels=holdout[result.label_column],
    )
    log_reference(result.run_id, reference_dir, client)
    for _ in range(2):
        mlflow.register_model(result.model_uri, MODEL)
    client.set_registered_model_alias(MODEL, "champion", "1")
    scenario = DriftScenario.parse("covariate_shift", start=world.start, magnitude=1.0)
    snapshot = generate(GeneratorConfig(n_customers=3000, seed=1, scenario=scenario)).snapshot
    window = snapshot[snapshot["event_timestamp"] >= holdout["event_timestamp"].min()]
    source = root / "drifted.parquet"
    window.drop(columns=schema.PROBABILITY).to_parquet(source)
    return {"uri": uri, "client": client, "root": root, "source": source, "result": result}


@pytest.fixture(scope="module")
def served(world):
    """A real MLServer (suite runtime) serving churn v1 on loopback."""
    from components._serving.serve import seed_repository
    from components._serving.server import start_mlserver

    repo = world["root"] / "serving"
    seed_repository(repo, world["client"], f"models:/{MODEL}/1")
    server = start_mlserver(repo, ready_models=[MODEL])
    yield server
    server.stop()


@pytest.fixture(scope="module")
def receiver():
    with WebhookReceiver() as rx:
        yield rx


@pytest.fixture(scope="module")
def stack(served, receiver, tmp_path_factory):
    """Pushgateway, Prometheus (scraping it and MLServer) and Alertmanager on loopback."""
    work = tmp_path_factory.mktemp("stack")
    metrics = f"{served.host}:{served.ports.metrics}"
    with start_stack(work, receiver.url, mlserver_targets=[metrics], fast=True) as running:
        yield running


@pytest.fixture(scope="module")
def monitored(world, served, stack, tmp_path_factory):
    """Runs the observed steps once: monitoring probe, deploy v2, gate, served traffic."""
    from components._observability.steps import publish_evaluation
    from components._serving.demo_model import FEATURES
    from components._serving.v2 import build_v2_request, infer
    from components.deploy_model.component import deploy_model
    from components.evaluate_model import core as gate
    from pipelines.config import PipelineConfig

    root = tmp_path_factory.mktemp("kfp")
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    _monitoring_probe()(
        tracking_uri=world["uri"],
        source=str(world["source"]),
        contract=PipelineConfig.from_repo().contract,
        pushgateway_url=stack.pushgateway_url,
        feature_service=FEATURE_SERVICE,
    )
    deployed = deploy_model(
        model_uri=f"models:/{MODEL}/2",
        target="local",
        tracking_uri=world["uri"],
        served_name=MODEL,
        local_url=served.http_url,
        local_repo=str(served.repo_dir),
        pushgateway_url=stack.pushgateway_url,
        pipeline_run="observed-deploy",
    )
    result = world["result"]
    evaluation = gate.evaluate(
        result.holdout,
        result.model_uri,
        world["client"],
        MODEL,
        label_column="churned",
        slice_features=["plan"],
        challenger_run_id=result.run_id,
    )
    publish_evaluation(evaluation, gateway_url=stack.pushgateway_url, pipeline_run="observed-gate")

    rows = result.holdout[list(FEATURES)].head(20)
    with requests.Session() as session:
        for _ in range(12):  # spread over a few scrapes so rate() has two points
            assert infer(session, served.http_url, MODEL, build_v2_request(rows)).status == 200
            time.sleep(0.25)
        bad = infer(session, served.http_url, MODEL, build_v2_request(rows.drop(columns="age")))
        assert bad.status == 422
    return {"deploy": deployed.outputs["Output"], "kfp_root": root}


def _drift_alert(body) -> bool:
    return "ModelDriftConfirmed" in json.dumps(body) and "FIRING" in json.dumps(body)


def test_drift_verdict_reaches_the_webhook_naming_model_and_features(
    monitored, stack, receiver, record_property
):
    """A drifted window's verdict arrives at the webhook as a Slack payload within seconds.

    Proves: check_drift (through kfp.local) pushed its gauges with model, version,
    feature service and the kfp.local run name; Prometheus scraped them with
    honor_labels, ModelDriftConfirmed fired, Alertmanager routed it to the
    slack_configs receiver, and the payload names churn, v1 and the shifted features
    (sessions_7d, spend_30d) that the JSON drift report names. Measures the time from
    the verdict (the pushed suite_drift_last_check_timestamp_seconds) to delivery.
    Cannot prove Slack itself renders the payload, nor the production timings (30 s
    group wait, 15 s scrape), nor the same on a cluster (Prometheus Operator).
    """
    delivery = receiver.wait_for(_drift_alert, timeout_s=60)
    assert delivery is not None, f"no drift alert; got {[d.body for d in receiver.deliveries]}"
    (verdict,) = stack.query("suite_drift_last_check_timestamp_seconds")
    latency = delivery.received_at - float(verdict["value"][1])
    record_property("drift_verdict_to_webhook_seconds", round(latency, 2))
    print(f"[suite] drift verdict -> webhook: {latency:.2f} s", flush=True)
    assert 0 < latency < 45

    text = json.dumps(delivery.body)
    attachment = delivery.body["attachments"][0]
    assert attachment["title"].startswith("[FIRING] ModelDriftConfirmed: churn")
    assert "Drift confirmed on churn v1 (churn_v1)" in attachment["text"]
    reports = [json.loads(p.read_text()) for p in monitored["kfp_root"].rglob("report_json")]
    (report,) = [r for r in reports if "drifted_features" in r]
    assert {"sessions_7d", "spend_30d"} <= set(report["drifted_features"])
    for feature in report["drifted_features"]:
        assert feature in attachment["text"], feature
    assert "age " not in text.split("Drifted features:")[1].split("model=")[0]
    labels = verdict["metric"]
    assert labels["model"] == MODEL
    assert labels["version"] == "1"
    assert labels["feature_service"] == FEATURE_SERVICE
    assert labels["pipeline_run"].startswith("observed-monitoring")
    assert labels["job"] == "kfp_mlops_suite_check_drift"


def test_every_dashboard_panel_query_returns_data(monitored, stack):
    """Every target of every panel in the Grafana dashboard returns a non-empty result.

    Proves: with one monitoring run, a promotion, a gate evaluation and real traffic on
    the suite runtime, each PromQL expression of observability/grafana (with $model =
    All) is valid for Prometheus 2.42 and has data: serving RED panels (suite runtime and
    MLServer's own counters), served probability histogram, drift, gate, rollout,
    validation, schedule and alert panels. Cannot prove Grafana renders them (Grafana is
    not packaged here) or that the panel types suit the data.
    """
    assert monitored["deploy"] == "promoted"
    dashboard = json.loads(DASHBOARD_FILE.read_text())
    empty = {}
    deadline = time.monotonic() + 30
    pending = list(panel_queries(dashboard))
    assert len(pending) >= 16
    while pending and time.monotonic() < deadline:
        still = []
        for row, title, expr in pending:
            if not stack.query(resolve_variables(expr)):
                still.append((row, title, expr))
                empty[f"{row} / {title}"] = expr
        pending = still
        if pending:
            time.sleep(1)
    assert not pending, f"panels without data: {pending}"


def test_failing_validation_inhibits_the_drift_alert(monitored, stack, world, tmp_path):
    """While validation of churn_v1 fails, Alertmanager holds back the drift alert on it.

    Proves: a real failed validation (validate_data's core on a window with null
    customer ids) pushed for the same feature service fires DataValidationFailed, and
    Alertmanager marks ModelDriftConfirmed as suppressed, inhibited by it (the
    inhibit_rules of alertmanager.yml, equal on feature_service). Cannot prove the
    AlertmanagerConfig on a cluster does the same (its CRD test checks its shape only).
    """
    import pandas as pd

    from components._observability.steps import publish_validation
    from components.validate_data.contract import contract_from_dict
    from components.validate_data.core import validate_frame
    from pipelines.config import PipelineConfig

    broken = pd.read_parquet(world["source"])
    broken["customer_id"] = broken["customer_id"].astype("float64")
    broken.loc[broken.index[:50], "customer_id"] = None
    report = validate_frame(broken, contract_from_dict(PipelineConfig.from_repo().contract))
    assert not report.success
    publish_validation(
        report,
        gateway_url=stack.pushgateway_url,
        pipeline_run="observed-broken",
        feature_service=FEATURE_SERVICE,
    )
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        alerts = {a["labels"]["alertname"]: a for a in stack.alerts()}
        drift = alerts.get("ModelDriftConfirmed")
        if "DataValidationFailed" in alerts and drift and drift["status"]["inhibitedBy"]:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"drift alert not inhibited: {stack.alerts()}")
    assert drift["status"]["state"] == "suppressed"
    assert alerts["DataValidationFailed"]["status"]["state"] == "active"
