"""The shipped rule and Alertmanager files, checked by the upstream tools themselves."""

import re
import subprocess
from pathlib import Path

import pytest
import yaml

from components._observability.stack import (
    ALERTMANAGER_FILE,
    DASHBOARD_FILE,
    RULES_FILE,
    RULES_TEST_FILE,
    alertmanager_config,
)

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.usefixtures("prometheus_binaries")
ALERTS = {
    "ModelDriftConfirmed",
    "ModelPerformanceDegraded",
    "DataValidationFailed",
    "ModelRolledBack",
    "MonitoringRunMissing",
    "ServingErrorRatioHigh",
    "ServingLatencyP99High",
}


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def test_promtool_accepts_the_rules_and_every_rule_has_a_unit_test():
    """Promtool check rules passes, promtool test rules passes, every alert is tested.

    Proves: the rules parse and their templates compile on Prometheus 2.42; each alert
    fires on its failing input with the expected labels and annotations (drifted features
    listed by the query template) and stays silent on healthy input; every alert in
    rules.yml appears in rules.test.yml. Cannot prove the thresholds suit a real service.
    """
    check = _run("promtool", "check", "rules", str(RULES_FILE))
    assert check.returncode == 0, check.stdout + check.stderr
    tested = _run("promtool", "test", "rules", str(RULES_TEST_FILE))
    assert tested.returncode == 0, tested.stdout + tested.stderr
    rules = yaml.safe_load(RULES_FILE.read_text())
    names = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert names == ALERTS
    tests = yaml.safe_load(RULES_TEST_FILE.read_text())["tests"]
    covered = {
        case["alertname"] for t in tests for case in t["alert_rule_test"] if case["exp_alerts"]
    }
    assert covered == ALERTS


def test_amtool_accepts_the_alertmanager_config(tmp_path):
    """Amtool check-config passes on the shipped routing with its URL file in place.

    Proves: the route, the inhibition of drift alerts by DataValidationFailed (equal on
    feature_service) and the slack_configs receiver parse on Alertmanager 0.25, and the
    webhook URL is read from a file, not written in the config. Cannot prove delivery
    (the end-to-end test does).
    """
    url_file = tmp_path / "url"
    url_file.write_text("http://127.0.0.1:9/hook")
    config = tmp_path / "alertmanager.yml"
    config.write_text(yaml.safe_dump(alertmanager_config(url_file)))
    checked = _run("amtool", "check-config", str(config))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    shipped = yaml.safe_load(ALERTMANAGER_FILE.read_text())
    (inhibit,) = shipped["inhibit_rules"]
    assert inhibit["source_matchers"] == ['alertname=~"DataValidationFailed"']
    assert "ModelDriftConfirmed" in inhibit["target_matchers"][0]
    assert inhibit["equal"] == ["feature_service"]
    (slack,) = shipped["receivers"][0]["slack_configs"]
    assert "api_url" not in slack
    assert slack["api_url_file"].startswith("/etc/alertmanager/secrets/")


def test_every_suite_metric_in_rules_and_dashboard_is_produced_by_the_suite():
    """Each suite_* name a rule or panel reads is defined in components/_observability.

    Proves: no rule or panel reads a metric name the suite never exports (a typo would
    leave an alert that can never fire). Cannot prove the values are right (the
    end-to-end test evaluates every panel against real pushes).
    """
    source = "\n".join(p.read_text() for p in (REPO / "components" / "_observability").glob("*.py"))
    produced = set(re.findall(r'"(suite_[a-z0-9_]+)"', source))
    produced |= {f"{name}_bucket" for name in produced} | {f"{name}_sum" for name in produced}
    produced |= {f"{name}_count" for name in produced} | {"suite_model_requests_total"}
    used = set(re.findall(r"\bsuite_[a-z0-9_]+", RULES_FILE.read_text()))
    used |= set(re.findall(r"\bsuite_[a-z0-9_]+", DASHBOARD_FILE.read_text()))
    used -= {"suite_webhook"}
    assert used, "no metric names found"
    assert used <= produced, sorted(used - produced)
