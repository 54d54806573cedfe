"""Traffic for the monitoring loop: a period's requests replayed to the served model over V2 REST.

`make run` (and the prediction-log tests) need what production has: a served model
that was asked about the monitored period, and a prediction log of its answers.
`replay_period` takes every labelled (entity, time) of a period, looks up its
features as of that time through Feast (what a caller would have sent then), and
sends them to the served model in batches, each request carrying, besides the
features, the entity key and the business time under the repo's timestamp name (so
the labels can be joined by entity and time; the log's own ``timestamp`` is the
answer time, i.e. now). The labels themselves are not sent. It then waits until the
log holds every answered row and returns the answer-time window to monitor.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPLAY_BATCH_ROWS = 100
LOG_WAIT_S = 30.0


@dataclass(frozen=True)
class Replay:
    """What was sent.

    Attributes:
        rows: Rows answered (one per labelled entity-time of the period).
        requests: V2 requests sent.
        window_start: Answer time of the first request (ISO, UTC): the log window start.
        window_end: Just after the last answer was logged (ISO, UTC, exclusive).
        seconds: Wall time of sending.
        model_versions: Versions that answered.
    """

    rows: int
    requests: int
    window_start: str
    window_end: str
    seconds: float
    model_versions: list[str]


def replay_period(
    feature_repo: Path,
    labels: Path,
    base_url: str,
    prediction_log: Path,
    start: str,
    end: str,
    *,
    batch_rows: int = REPLAY_BATCH_ROWS,
    echo: Callable[[str], None] = print,
) -> Replay:
    """Sends the period's requests to the served model and waits for the prediction log.

    Args:
        feature_repo: The applied feature repo (roles, feature service, offline store).
        labels: The labels parquet; its (entity, time) rows in the period are the requests.
        base_url: The served model's V2 base URL.
        prediction_log: The log the server writes (to wait for).
        start: Period start (inclusive, business time).
        end: Period end (exclusive).
        batch_rows: Rows per V2 request.
        echo: Progress output.

    Raises:
        RuntimeError: If a request is refused, or the log does not show every answer in
            time (the server was started without a prediction log?).
    """
    import pandas as pd
    import requests

    from components._serving.prediction_log import read_prediction_log
    from components._serving.v2 import build_v2_request, infer
    from components._suite import load_suite_config
    from components.get_features.core import get_features_from_source

    suite = load_suite_config(feature_repo)
    frame = get_features_from_source(feature_repo, "", labels, start, end).frame
    features = [c for c in frame.columns if c not in (suite.label,)]
    sent = frame[features].copy()
    sent[suite.timestamp] = sent[suite.timestamp].map(lambda t: t.isoformat())
    run = uuid.uuid4().hex[:8]
    began = pd.Timestamp.now(tz="UTC")
    clock = time.perf_counter()
    versions: set[str] = set()
    batches = range(0, len(sent), batch_rows)
    with requests.Session() as session:
        for number, first in enumerate(batches):
            body = build_v2_request(sent.iloc[first : first + batch_rows])
            answer = infer(
                session,
                base_url,
                suite.model_name,
                body,
                headers={"x-request-id": f"replay-{run}-{number}"},
            )
            if not answer.ok:
                raise RuntimeError(f"the served model refused a replayed request: {answer.error}")
            versions.add(str(answer.body.get("model_version")))
    seconds = time.perf_counter() - clock
    finished = pd.Timestamp.now(tz="UTC") + pd.Timedelta(seconds=1)
    deadline = time.monotonic() + LOG_WAIT_S
    while True:
        logged = read_prediction_log(prediction_log, began, finished)
        mine = logged["request_id"].astype(str).str.startswith(f"replay-{run}-")
        if int(mine.sum()) >= len(sent):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the prediction log {prediction_log} shows {int(mine.sum())} of {len(sent)} "
                f"replayed rows after {LOG_WAIT_S:.0f} s"
            )
        time.sleep(0.5)
    echo(
        f"    replayed {len(sent):,} rows of {start} .. {end} in {len(batches)} V2 requests "
        f"({seconds:.1f}s), versions {sorted(versions)}; logged in [{began.isoformat()}, "
        f"{finished.isoformat()})"
    )
    return Replay(
        rows=len(sent),
        requests=len(batches),
        window_start=began.isoformat(),
        window_end=finished.isoformat(),
        seconds=seconds,
        model_versions=sorted(versions),
    )
