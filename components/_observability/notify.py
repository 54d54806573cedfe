"""A Slack-compatible webhook notifier any step can call.

The URL comes from a parameter (local runs) or ``$SUITE_ALERT_WEBHOOK_URL``, which on the
cluster is filled from the optional ``suite-alerts`` Secret: the URL is a credential (a
Slack incoming-webhook URL is), so it never appears in a compiled pipeline or a
ConfigMap. Posting is retried with backoff (tenacity) on connection errors, timeouts,
5xx and 429, each attempt has a timeout, and a notification that cannot be delivered is
logged and given up: it never fails the step that sent it.

The payload is what Slack's incoming webhooks take (``text`` with mrkdwn links plus one
attachment with fields); Mattermost, Rocket.Chat and most chat bridges accept it too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass

WEBHOOK_ENV = "SUITE_ALERT_WEBHOOK_URL"
"""Env var with the webhook URL (from the ``suite-alerts`` Secret on the cluster)."""

WEBHOOK_SECRET = "suite-alerts"
"""Name of the optional Secret that holds `WEBHOOK_ENV` on the cluster."""

_COLORS = {"critical": "#d62728", "warning": "#ff7f0e", "info": "#2ca02c"}


@dataclass(frozen=True)
class Notification:
    """One message.

    Attributes:
        event: What happened: ``drift``, ``validation_failed``, ``rollback``, ``promotion``.
        title: One line, e.g. ``Drift confirmed on <model> v3``.
        text: Details (plain text, a few lines).
        severity: ``critical``, ``warning`` or ``info`` (the attachment colour).
        report_url: Link to the report (HTML artifact, KFP run, MLflow run).
        fields: Short key/value pairs shown as attachment fields.
    """

    event: str
    title: str
    text: str
    severity: str = "warning"
    report_url: str = ""
    fields: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Delivery:
    """What a notification did: ``sent``, attempts made, last HTTP status or error."""

    sent: bool
    attempts: int
    status: int | None = None
    error: str = ""


def slack_payload(note: Notification) -> dict:
    """Returns the Slack incoming-webhook JSON body for `note`."""
    link = f" <{note.report_url}|report>" if note.report_url else ""
    attachment = {
        "fallback": f"{note.title}: {note.text}",
        "color": _COLORS.get(note.severity, _COLORS["warning"]),
        "title": note.title,
        "text": note.text,
        "fields": [
            {"title": key, "value": str(value), "short": len(str(value)) < 40}
            for key, value in (note.fields or {}).items()
        ],
        "footer": "kfp-mlops-suite",
        "ts": int(time.time()),
    }
    if note.report_url:
        attachment["title_link"] = note.report_url
    return {
        "text": f"[{note.severity.upper()}] {note.title}{link}",
        "attachments": [attachment],
        "suite_event": note.event,
    }


def resolve_webhook(url: str = "") -> str:
    """Returns the webhook URL: `url`, else ``$SUITE_ALERT_WEBHOOK_URL``, else "" (off)."""
    return (url or os.environ.get(WEBHOOK_ENV, "")).strip()


class _RetryableStatus(Exception):
    """An HTTP answer worth retrying (5xx, 429)."""

    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")
        self.status = status


def notify(
    note: Notification,
    webhook_url: str = "",
    *,
    attempts: int = 4,
    timeout_s: float = 5.0,
    backoff_initial_s: float = 0.5,
    backoff_max_s: float = 8.0,
) -> Delivery:
    """Posts `note` to the webhook; retries, times out, never raises for delivery problems.

    Args:
        note: The message.
        webhook_url: Webhook URL; "" = ``$SUITE_ALERT_WEBHOOK_URL``; both empty = off.
        attempts: Most POST attempts.
        timeout_s: Connect and read timeout of one attempt.
        backoff_initial_s: First wait between attempts (doubled, with jitter).
        backoff_max_s: Longest wait.

    Returns:
        The delivery; ``attempts=0`` when notifications are off.
    """
    import requests
    from tenacity import (
        RetryError,
        Retrying,
        retry_if_exception_type,
        stop_after_attempt,
        wait_exponential_jitter,
    )

    url = resolve_webhook(webhook_url)
    if not url:
        return Delivery(sent=False, attempts=0)
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(initial=backoff_initial_s, max=backoff_max_s),
        retry=retry_if_exception_type(
            (requests.ConnectionError, requests.Timeout, _RetryableStatus)
        ),
    )
    body = slack_payload(note)
    try:
        for attempt in retrying:
            with attempt:
                response = requests.post(url, json=body, timeout=timeout_s)
                if response.status_code >= 500 or response.status_code == 429:
                    raise _RetryableStatus(response.status_code)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        status = last.status if isinstance(last, _RetryableStatus) else None
        delivery = Delivery(False, attempts, status, repr(last))
    except requests.RequestException as exc:  # not retryable (bad URL, too many redirects)
        delivery = Delivery(False, retrying.statistics.get("attempt_number", 1), None, repr(exc))
    else:
        made = retrying.statistics.get("attempt_number", 1)
        if response.ok:
            print(f"[suite] notify: {note.event} sent ({response.status_code})", flush=True)
            return Delivery(True, made, response.status_code)
        delivery = Delivery(False, made, response.status_code, response.text[:200])
    # The URL is a credential: name the host only, in the log and in the returned error.
    host = url.split("//", 1)[-1].split("/", 1)[0]
    path = url.split(host, 1)[-1]
    if path and path != "/":
        delivery = Delivery(
            delivery.sent, delivery.attempts, delivery.status,
            delivery.error.replace(path, "/<redacted>"),
        )  # fmt: skip
    print(
        f"[suite] notify: WARNING {note.event} to {host} not delivered after "
        f"{delivery.attempts} attempt(s): {delivery.error or delivery.status}",
        flush=True,
    )
    return delivery
