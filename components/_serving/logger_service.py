"""The suite's prediction-log sink on the cluster: KServe logger CloudEvents in, parquet out.

An InferenceService with ``spec.predictor.logger: {mode: all, url: ...}`` makes
KServe's agent POST two CloudEvents per request to this service (binary
content mode: the body is the original V2 payload, attributes are ``ce-*``
headers): ``org.kubeflow.serving.inference.request`` and
``org.kubeflow.serving.inference.response``, both with ``ce-id`` = the request
id (the client's ``x-request-id`` or one the agent generated). The service
pairs them by id and writes the pair with
:class:`~components._serving.prediction_log.PredictionLogWriter`, so the
object store gets the same ``date=YYYY-MM-DD/*.parquet`` layout that
``make serve`` writes locally, and :func:`read_prediction_log` reads both.

A request whose response is an error (no ``outputs``) is not a prediction and
is not logged; a half of a pair that waits longer than ``pair_timeout_s`` is
dropped and counted. SIGTERM stops accepting events and writes what is
buffered before exiting.

Run: ``python -m components._serving log-sink --root s3://suite-data/predictions``.
Standard library HTTP server only: one small process, no ASGI stack.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO

from components._serving.prediction_log import PredictionLogWriter, record_from_v2

CE_REQUEST = "org.kubeflow.serving.inference.request"
CE_RESPONSE = "org.kubeflow.serving.inference.response"


def parse_v2_body(body: bytes) -> dict[str, Any]:
    """Returns a V2 body as JSON; a binary-extension body is decoded to its JSON form.

    The agent forwards the body but not the ``Inference-Header-Content-Length``
    header, so the JSON header's end is found by parsing it.

    Raises:
        ValueError: If the body is neither.
    """
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        pass
    text = body.decode("utf-8", errors="surrogateescape")
    try:
        _, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"body is not a V2 JSON or binary-extension payload: {exc}") from None
    from components._serving.binary import decode_binary_request

    header_bytes = len(text[:end].encode("utf-8", errors="surrogateescape"))
    return decode_binary_request(body, header_bytes)


@dataclass
class EventPairer:
    """Pairs request and response events by id and hands complete pairs to a writer."""

    writer: PredictionLogWriter
    pair_timeout_s: float = 120.0
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    logged: int = 0
    dropped: int = 0
    skipped: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, event_id: str, event_type: str, body: bytes) -> None:
        """Takes one event; writes the pair once both halves are in.

        Raises:
            ValueError: On an event type that is neither half, or an unreadable body.
        """
        if event_type not in (CE_REQUEST, CE_RESPONSE):
            raise ValueError(f"ce-type {event_type!r} is not a KServe inference request/response")
        payload = parse_v2_body(body)
        key = "request" if event_type == CE_REQUEST else "response"
        now = time.monotonic()
        with self._lock:
            self._expire(now)
            entry = self.pending.setdefault(event_id, {"since": now})
            entry[key] = payload
            if "request" not in entry or "response" not in entry:
                return
            del self.pending[event_id]
        if not isinstance(entry["response"].get("outputs"), list):
            self.skipped += 1  # an error answer: nothing was predicted
            return
        record = record_from_v2(
            entry["request"],
            entry["response"],
            request_id=event_id,
            timestamp=dt.datetime.now(dt.UTC),
        )
        self.writer.record(record)
        self.logged += 1

    def _expire(self, now: float) -> None:
        stale = [k for k, v in self.pending.items() if now - v["since"] > self.pair_timeout_s]
        for key in stale:
            del self.pending[key]
        self.dropped += len(stale)


def _handler(pairer: EventPairer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = 200 if self.path in ("/healthz", "/ready") else 404
            self._answer(status, {"logged": pairer.logged} if status == 200 else {})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            event_id = self.headers.get("ce-id")
            event_type = self.headers.get("ce-type", "")
            if not event_id:
                self._answer(400, {"error": "missing ce-id header (a KServe logger CloudEvent)"})
                return
            try:
                pairer.add(event_id, event_type, body)
            except ValueError as exc:
                self._answer(400, {"error": str(exc)})
                return
            self._answer(200, {})

        def _answer(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return  # one line per event would drown the pod log

    return Handler


def serve(
    root: str,
    *,
    host: str = "0.0.0.0",
    port: int = 8080,
    flush_interval_s: float = 5.0,
    out: TextIO = sys.stdout,
) -> int:
    """Runs the sink until SIGTERM/SIGINT, then writes what is buffered.

    Args:
        root: Log root (``s3://bucket/prefix`` on the cluster, a folder locally).
        host: Interface to listen on.
        port: Port; 0 picks a free one (printed).
        flush_interval_s: Longest time a pair waits in memory.
        out: Where the start and stop lines go.

    Returns:
        0 after a clean stop.
    """
    writer = PredictionLogWriter(root, flush_interval_s=flush_interval_s)
    pairer = EventPairer(writer)
    server = ThreadingHTTPServer((host, port), _handler(pairer))
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    bound_host, bound_port = server.server_address[:2]
    where = f"http://{bound_host}:{bound_port}"
    print(f"prediction log sink on {where} -> {root}", file=out, flush=True)
    stop.wait()
    server.shutdown()
    server.server_close()
    writer.close()
    print(
        f"stopped: {pairer.logged} requests logged, {pairer.skipped} error answers skipped, "
        f"{pairer.dropped + len(pairer.pending)} unpaired events dropped; "
        f"{len(writer.files)} files, {len(writer.errors)} write errors",
        file=out,
        flush=True,
    )
    return 0
