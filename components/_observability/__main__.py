"""``python -m components._observability observe``: the local stack until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import threading
from pathlib import Path

from components._observability.notify import WEBHOOK_ENV
from components._observability.stack import DASHBOARD_FILE, WebhookReceiver, start_stack


def main(argv: list[str] | None = None) -> int:
    """Starts Pushgateway, Prometheus and Alertmanager on loopback and waits for Ctrl-C.

    Alerts go to ``--webhook-url`` (or ``$SUITE_ALERT_WEBHOOK_URL``); without one, to a
    receiver in this process that prints each Slack-shaped payload.
    """
    parser = argparse.ArgumentParser(prog="python -m components._observability")
    sub = parser.add_subparsers(dest="command", required=True)
    observe = sub.add_parser("observe", help="run the local observability stack")
    observe.add_argument("--work-dir", type=Path, default=Path("data/observe"))
    observe.add_argument("--prometheus-port", type=int, default=9090)
    observe.add_argument("--pushgateway-port", type=int, default=9091)
    observe.add_argument("--alertmanager-port", type=int, default=9093)
    observe.add_argument("--mlserver", action="append", default=[], help="host:port to scrape")
    observe.add_argument("--webhook-url", default=os.environ.get(WEBHOOK_ENV, ""))
    observe.add_argument("--fast", action="store_true", help="1 s intervals (demos)")
    args = parser.parse_args(argv)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with WebhookReceiver(echo=True) as receiver:
        webhook = args.webhook_url or receiver.url
        ports = {
            "prometheus": args.prometheus_port,
            "pushgateway": args.pushgateway_port,
            "alertmanager": args.alertmanager_port,
        }
        with start_stack(
            args.work_dir.resolve(), webhook, mlserver_targets=args.mlserver, fast=args.fast,
            ports=ports,
        ) as stack:  # fmt: skip
            print(
                f"Prometheus   {stack.prometheus_url}/alerts  (rules: observability/prometheus)\n"
                f"Alertmanager {stack.alertmanager_url}\n"
                f"Pushgateway  {stack.pushgateway_url}   -> SUITE_PUSHGATEWAY_URL="
                f"{stack.pushgateway_url} make run\n"
                f"Alerts to    {'your webhook' if args.webhook_url else webhook + ' (printed)'}\n"
                f"Dashboard    {DASHBOARD_FILE} (import into any Grafana; each panel's query "
                f"also runs in {stack.prometheus_url}/graph)\n"
                "Ctrl-C stops all three.",
                flush=True,
            )
            with contextlib.suppress(KeyboardInterrupt):
                stop.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
