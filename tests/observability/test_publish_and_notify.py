"""The Pushgateway publisher and the webhook notifier against real servers on loopback."""

import time

import pytest
import requests

from components._observability.notify import Notification, notify, slack_payload
from components._observability.push import RunLabels, Sample, push_gauges
from components._observability.stack import WebhookReceiver, free_port, start_stack

LABELS = RunLabels("churn", "3", "churn_v1", "run-1")
pytestmark = pytest.mark.usefixtures("prometheus_binaries")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with WebhookReceiver() as rx, start_stack(tmp_path_factory.mktemp("s"), rx.url) as running:
        yield running


def test_push_lands_in_its_group_and_replaces_the_previous_run(stack):
    """Two pushes for the same model and step leave only the second run's series.

    Proves: gauges reach a real Pushgateway 1.5 under job kfp_mlops_suite_<step> with
    the model, version, feature service and run labels, and that the grouping key
    (step, model, feature service) makes each push replace the last, so old runs do not
    pile up. Cannot prove Prometheus scrapes them (the end-to-end test does).
    """
    for run, value in (("run-1", 0.1), ("run-2", 0.4)):
        outcome = push_gauges(
            "check_drift",
            [Sample("suite_drift_feature_psi", "PSI", value, {"feature": "age"})],
            RunLabels("churn", "3", "churn_v1", run),
            stack.pushgateway_url,
        )
        assert outcome.pushed
        assert outcome.attempts == 1
    text = requests.get(f"{stack.pushgateway_url}/metrics", timeout=5).text
    lines = [line for line in text.splitlines() if line.startswith("suite_drift_feature_psi{")]
    assert len(lines) == 1, lines
    expected = (
        'job="kfp_mlops_suite_check_drift"', 'model="churn"', 'version="3"',
        'feature_service="churn_v1"', 'pipeline_run="run-2"', 'feature="age"',
    )  # fmt: skip
    for part in expected:
        assert part in lines[0]
    assert lines[0].endswith(" 0.4")


def test_unreachable_gateway_is_retried_with_backoff_and_never_raises():
    """A gateway that refuses connections costs a few bounded retries and no exception.

    Proves: push_gauges makes `attempts` tries (tenacity, exponential backoff), then
    returns pushed=False with the error; NaN samples are skipped. Cannot prove the
    behaviour against a gateway that accepts and then hangs (the timeout covers that).
    """
    started = time.monotonic()
    outcome = push_gauges(
        "validate_data",
        [
            Sample("suite_validation_success", "ok", 1.0),
            Sample("suite_validation_rows", "n", float("nan")),
        ],
        LABELS,
        f"http://127.0.0.1:{free_port()}",
        attempts=3,
        backoff_initial_s=0.05,
        backoff_max_s=0.1,
    )
    assert not outcome.pushed
    assert outcome.attempts == 3
    assert "Connection refused" in outcome.error or "URLError" in outcome.error
    assert outcome.series == 1
    assert time.monotonic() - started < 5


def test_pushing_is_off_without_a_url(monkeypatch):
    """No parameter and no SUITE_PUSHGATEWAY_URL: nothing is sent, nothing fails.

    Proves: the default (local runs) makes no network call. Cannot prove the cluster
    ConfigMap default reaches the pod (the manifest contract test checks the key).
    """
    monkeypatch.delenv("SUITE_PUSHGATEWAY_URL", raising=False)
    outcome = push_gauges("deploy_model", [Sample("suite_deploy_rolled_back", "x", 0.0)], LABELS)
    assert (outcome.pushed, outcome.attempts) == (False, 0)


def test_a_refused_push_is_not_retried(stack):
    """A 4xx answer (a URL that is not a Pushgateway) is given up after one attempt.

    Proves: only network errors, 5xx and 429 are retried; pushing to Prometheus' own
    address by mistake answers 4xx and costs one request, not a backoff series.
    Cannot enumerate every 4xx a gateway may send.
    """
    outcome = push_gauges(
        "check_drift", [Sample("suite_drift_detected", "x", 1.0)], LABELS, stack.prometheus_url
    )
    assert not outcome.pushed
    assert outcome.attempts == 1
    assert "HTTPError 404" in outcome.error


def test_notifier_retries_a_503_and_delivers_a_slack_payload_with_the_report_link():
    """The first two POSTs get 503; the third is delivered with the Slack-shaped body.

    Proves: notify retries 5xx with backoff, posts `text` with a mrkdwn link to the
    report plus one attachment (title, title_link, fields), and reports 3 attempts.
    Cannot prove Slack accepts it (Slack is not reachable here); the shape follows
    Slack's incoming-webhook documentation.
    """
    note = Notification(
        event="drift",
        title="Drift confirmed on churn v3",
        text="Drifted features: sessions_7d, spend_30d",
        report_url="http://kfp.example/artifacts/report.html",
        fields={"model": "churn"},
    )
    with WebhookReceiver(fail_first=2) as rx:
        delivery = notify(note, rx.url, backoff_initial_s=0.05, backoff_max_s=0.1)
        assert delivery.sent
        assert delivery.attempts == 3
        (got,) = rx.deliveries
    assert got.body == {**slack_payload(note), "attachments": got.body["attachments"]}
    assert "<http://kfp.example/artifacts/report.html|report>" in got.body["text"]
    attachment = got.body["attachments"][0]
    assert attachment["title_link"] == note.report_url
    assert {"title": "model", "value": "churn", "short": True} in attachment["fields"]


def test_notifier_gives_up_quietly_and_hides_the_url(capsys):
    """An unreachable webhook is retried, then given up without raising or printing the URL.

    Proves: a webhook outage cannot fail a step, and the URL (a credential) is not in the
    log line, only its host. Cannot prove the behaviour for every requests error type.
    """
    url = f"http://127.0.0.1:{free_port()}/services/T000/B000/SECRETTOKEN"
    delivery = notify(Notification("rollback", "t", "x"), url, attempts=2, backoff_initial_s=0.01)
    assert not delivery.sent
    assert delivery.attempts == 2
    assert "SECRETTOKEN" not in capsys.readouterr().out
