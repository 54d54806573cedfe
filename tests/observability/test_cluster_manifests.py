"""manifests/observability carries the same rules, routing and dashboard as observability/.

The generic manifest tests (tests/manifests) build every offline kustomization, validate
core objects against the Kubernetes schemas and every custom resource strictly against
tests/crds (PrometheusRule, AlertmanagerConfig, Prometheus, Alertmanager, ServiceMonitor,
PodMonitor: Prometheus Operator v0.93.0). These tests check what those cannot: that the
cluster objects say the same as the files the local stack and promtool use.
"""

import json
import re
from pathlib import Path

import yaml

from components._observability.stack import ALERTMANAGER_FILE, DASHBOARD_FILE, RULES_FILE
from pipelines.k8s import ENDPOINT_KEYS

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = REPO / "manifests" / "observability"


def _docs(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((MANIFESTS / name).read_text()) if d]


def _matchers(items: list[str]) -> list[dict]:
    out = []
    for item in items:
        name, op, value = re.fullmatch(r'(\w+)(=~|!=|!~|=)"(.*)"', item).groups()
        out.append({"name": name, "value": value, "matchType": op})
    return out


def test_prometheusrule_is_the_promtool_tested_rule_file():
    """The PrometheusRule's groups equal observability/prometheus/rules.yml.

    Proves: the rules promtool unit-tests are the rules the cluster loads, and the
    object carries the label the Prometheus CR's ruleSelector selects. Cannot prove the
    operator loads it (no cluster here).
    """
    (rule,) = _docs("prometheusrule.yaml")
    assert rule["spec"] == yaml.safe_load(RULES_FILE.read_text())
    (prometheus,) = [d for d in _docs("prometheus.yaml") if d["kind"] == "Prometheus"]
    selector = prometheus["spec"]["ruleSelector"]["matchLabels"]
    assert selector.items() <= rule["metadata"]["labels"].items()


def test_alertmanagerconfig_routes_and_inhibits_like_the_local_config():
    """The AlertmanagerConfig has the local config's route, inhibition and Slack receiver.

    Proves: same grouping and timings, the critical sub-route, drift alerts inhibited by
    DataValidationFailed with equal feature_service, the same Slack title/text
    templates, and the webhook URL from the suite-alerts Secret (never inline).
    Cannot prove the operator's rendering (Matcher strategy None is set so no namespace
    matcher is added; see alertmanager.yaml).
    """
    (config,) = _docs("alertmanagerconfig.yaml")
    local = yaml.safe_load(ALERTMANAGER_FILE.read_text())
    route, spec = local["route"], config["spec"]
    assert spec["route"]["groupBy"] == route["group_by"]
    assert spec["route"]["groupWait"] == route["group_wait"]
    assert [r["matchers"] for r in spec["route"]["routes"]] == [
        _matchers(r["matchers"]) for r in route["routes"]
    ]
    (inhibit,) = spec["inhibitRules"]
    (local_inhibit,) = local["inhibit_rules"]
    assert inhibit["sourceMatch"] == _matchers(local_inhibit["source_matchers"])
    assert inhibit["targetMatch"] == _matchers(local_inhibit["target_matchers"])
    assert inhibit["equal"] == local_inhibit["equal"]
    (slack,) = spec["receivers"][0]["slackConfigs"]
    (local_slack,) = local["receivers"][0]["slack_configs"]
    assert slack["apiURL"] == {"name": "suite-alerts", "key": "SUITE_ALERT_WEBHOOK_URL"}
    assert (slack["title"], slack["text"]) == (local_slack["title"], local_slack["text"])
    (alertmanager,) = [d for d in _docs("alertmanager.yaml") if d["kind"] == "Alertmanager"]
    assert alertmanager["spec"]["alertmanagerConfigMatcherStrategy"] == {"type": "None"}
    labels = alertmanager["spec"]["alertmanagerConfigSelector"]["matchLabels"]
    assert labels.items() <= config["metadata"]["labels"].items()


def test_grafana_is_provisioned_with_the_tested_dashboard():
    """The dashboard ConfigMap source is byte-identical to observability/grafana.

    Proves: the dashboard whose every query the end-to-end test evaluates is the one
    Grafana provisions, and the datasource points at the suite Prometheus Service.
    Cannot prove Grafana 11 renders it (Grafana is not packaged here).
    """
    shipped = MANIFESTS / "dashboards" / DASHBOARD_FILE.name
    assert shipped.read_bytes() == DASHBOARD_FILE.read_bytes()
    dashboard = json.loads(shipped.read_text())
    assert dashboard["uid"] == "kfp-mlops-suite"
    (provisioning,) = [d for d in _docs("grafana.yaml") if d["kind"] == "ConfigMap"]
    assert (
        "http://prometheus.monitoring.svc.cluster.local:9090"
        in provisioning["data"]["datasources.yaml"]
    )


def test_steps_get_the_cluster_pushgateway_from_the_endpoints_configmap():
    """suite-endpoints names the Pushgateway Service of manifests/observability.

    Proves: on the cluster the steps' empty pushgateway_url falls back to this Service
    (SUITE_PUSHGATEWAY_URL is one of pipelines.k8s.ENDPOINT_KEYS, mapped to an env var)
    and the ServiceMonitor scrapes it with honorLabels. Cannot prove DNS resolves there.
    """
    assert "SUITE_PUSHGATEWAY_URL" in ENDPOINT_KEYS
    (config_map,) = yaml.safe_load_all((REPO / "manifests/suite/endpoints.yaml").read_text())
    url = config_map["data"]["SUITE_PUSHGATEWAY_URL"]
    service = next(d for d in _docs("pushgateway.yaml") if d["kind"] == "Service")
    port = service["spec"]["ports"][0]["port"]
    assert url == f"http://{service['metadata']['name']}.monitoring.svc.cluster.local:{port}"
    monitor = next(d for d in _docs("pushgateway.yaml") if d["kind"] == "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["honorLabels"] is True
