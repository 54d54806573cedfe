"""Infrastructure validation (TFX InfraValidator idea): serve the candidate for real first.

Loads the candidate model into a throwaway MLServer on loopback with the suite
runtime (the same class the cluster runs), sends Open Inference Protocol (V2)
requests built from holdout rows and compares the answers with in-process
``mlflow.pyfunc`` predictions. Then sends malformed requests (missing column,
wrong type, empty batch) and expects a 4xx whose message names the problem,
checks that a good request still works afterwards, and measures latency. The
server is always stopped, whatever happens.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components._serving.server import ServingError

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import requests
    from mlflow import MlflowClient

    from components._serving.server import LocalMLServer

SERVED_NAME = "candidate"


@dataclass(frozen=True)
class MalformedCheck:
    """One deliberately bad request and how the server answered it."""

    name: str
    expect_in_message: str
    status: int
    message: str

    @property
    def passed(self) -> bool:
        """A 4xx whose message names the problem."""
        return 400 <= self.status < 500 and self.expect_in_message.lower() in self.message.lower()


@dataclass
class ServingReport:
    """What `run` measured (implements `components._contract.ComponentResult`).

    Attributes:
        model_uri: The candidate as given.
        rows_compared: Holdout rows scored by the server and in process.
        max_abs_diff: Largest absolute difference between the two.
        malformed: The malformed-request checks.
        latency_ms: p50/p99 for single-row and batch requests, in milliseconds.
        batch_size: Rows per batch request.
        startup_seconds: Time from launch to model ready.
        problems: Every failed check, in words; empty when the model passed.
    """

    model_uri: str
    rows_compared: int = 0
    max_abs_diff: float = float("nan")
    malformed: list[MalformedCheck] = field(default_factory=list)
    latency_ms: dict[str, float] = field(default_factory=dict)
    batch_size: int = 0
    startup_seconds: float = float("nan")
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return not self.problems

    def metrics(self) -> dict[str, float]:
        """Flat numbers for a KFP ``Metrics`` artifact."""
        numbers = {
            "rows_compared": float(self.rows_compared),
            "max_abs_diff": self.max_abs_diff,
            "batch_size": float(self.batch_size),
            "startup_seconds": self.startup_seconds,
            "malformed_checks_passed": float(sum(c.passed for c in self.malformed)),
            "malformed_checks": float(len(self.malformed)),
        }
        numbers.update(self.latency_ms)
        return numbers

    def metadata(self) -> dict[str, Any]:
        """The candidate checked and the verdict."""
        return {"model_uri": self.model_uri, "passed": self.passed}

    def report(self) -> dict[str, Any]:
        """Every measurement, the malformed-request answers and the problems."""
        return {
            **self.metadata(),
            "metrics": self.metrics(),
            "malformed": [
                {"name": c.name, "status": c.status, "message": c.message, "passed": c.passed}
                for c in self.malformed
            ],
            "problems": list(self.problems),
        }

    def return_value(self) -> bool:
        """True; a failed check raises (see `raise_if_failed`)."""
        raise_if_failed(self)
        return True


def percentile_ms(seconds: list[float], q: float) -> float:
    """Returns the ``q``-th percentile of durations in milliseconds (nan if empty)."""
    import numpy as np

    if not seconds:
        return float("nan")
    return float(np.percentile(np.asarray(seconds) * 1000.0, q))


def feature_frame(holdout: pd.DataFrame, input_names: list[str], max_rows: int) -> pd.DataFrame:
    """Returns the model's input columns of the first ``max_rows`` holdout rows.

    Raises:
        ValueError: If the holdout is empty or lacks a column the model needs.
    """
    missing = [c for c in input_names if c not in holdout.columns]
    if missing:
        raise ValueError(
            f"holdout lacks column(s) {missing} required by the model signature "
            f"{input_names}; holdout has {list(holdout.columns)}"
        )
    if holdout.empty:
        raise ValueError("holdout has no rows; validate_serving needs at least one")
    return holdout.loc[:, input_names].head(max_rows).reset_index(drop=True)


def malformed_requests(frame: pd.DataFrame) -> list[tuple[str, dict[str, Any], str]]:
    """Builds the bad requests: (check name, V2 body, text the error must contain).

    - ``missing_column``: the first input column is left out; the error must
      name it.
    - ``wrong_type``: a numeric column is sent as text (or, for an all-text
      schema, a text column as numbers); the error must name the column.
    - ``empty_batch``: every column with zero rows; the error must say "empty".
    """
    import pandas as pd

    from components._serving.v2 import build_v2_request

    sample = frame.head(2)
    first = str(sample.columns[0])
    numeric = [str(c) for c in sample.columns if pd.api.types.is_numeric_dtype(sample[c])]
    if numeric:
        typed_col = numeric[0]
        wrong = sample.assign(**{typed_col: ["not-a-number"] * len(sample)})
    else:
        typed_col = str(sample.columns[0])
        wrong = sample.assign(**{typed_col: [1.5] * len(sample)})
    return [
        ("missing_column", build_v2_request(sample.drop(columns=[first])), first),
        ("wrong_type", build_v2_request(wrong), typed_col),
        ("empty_batch", build_v2_request(sample.head(0)), "empty"),
    ]


def _score_batches(
    session: requests.Session, server: LocalMLServer, frame: pd.DataFrame, batch_size: int
) -> tuple[np.ndarray, list[float]]:
    """Scores ``frame`` in batches; returns the stacked predictions and batch times."""
    import numpy as np

    from components._serving.v2 import build_v2_request, decode_v2_outputs, infer

    parts: list[np.ndarray] = []
    seconds: list[float] = []
    for start in range(0, len(frame), batch_size):
        answer = infer(
            session,
            server.http_url,
            SERVED_NAME,
            build_v2_request(frame[start : start + batch_size]),
        )
        if not answer.ok:
            raise ServingError(f"batch request failed with {answer.status}: {answer.error}")
        rows = min(batch_size, len(frame) - start)
        parts.append(decode_v2_outputs(answer.body).reshape(rows, -1))
        seconds.append(answer.seconds)
    return np.concatenate(parts), seconds


def check_server(
    server: LocalMLServer,
    frame: pd.DataFrame,
    expected: np.ndarray,
    report: ServingReport,
    *,
    atol: float,
    single_requests: int,
    batch_size: int,
    batch_requests: int,
) -> None:
    """Runs every check against a running server and records results in ``report``."""
    import numpy as np
    import requests

    from components._serving.v2 import (
        build_v2_request,
        compare_predictions,
        decode_v2_outputs,
        infer,
    )

    expected = np.asarray(expected, dtype=float).reshape(len(frame), -1)
    with requests.Session() as session:
        # 1. Correctness over every compared row, in batches.
        served, _ = _score_batches(session, server, frame, batch_size)
        report.rows_compared = len(frame)
        report.max_abs_diff = compare_predictions(served, expected, atol)
        if not report.max_abs_diff <= atol:
            report.problems.append(
                f"served predictions differ from in-process mlflow.pyfunc by up to "
                f"{report.max_abs_diff:.3g} (tolerance {atol:g}) over {len(frame)} rows"
            )

        # 2. Single-row latency (and correctness row by row).
        single_s: list[float] = []
        for i in range(min(single_requests, len(frame))):
            answer = infer(
                session, server.http_url, SERVED_NAME, build_v2_request(frame[i : i + 1])
            )
            if not answer.ok:
                report.problems.append(
                    f"single-row request {i} failed: {answer.status} {answer.error}"
                )
                break
            diff = compare_predictions(decode_v2_outputs(answer.body), expected[i], atol)
            if not diff <= atol:
                report.problems.append(f"single-row request {i} differs by {diff:.3g}")
                break
            single_s.append(answer.seconds)

        # 3. Batch latency.
        batch = frame.head(batch_size)
        batch_body = build_v2_request(batch)
        batch_s = []
        for _ in range(batch_requests):
            answer = infer(session, server.http_url, SERVED_NAME, batch_body)
            if not answer.ok:
                report.problems.append(f"batch request failed: {answer.status} {answer.error}")
                break
            batch_s.append(answer.seconds)
        report.batch_size = len(batch)
        report.latency_ms = {
            "single_row_p50_ms": percentile_ms(single_s, 50),
            "single_row_p99_ms": percentile_ms(single_s, 99),
            "batch_p50_ms": percentile_ms(batch_s, 50),
            "batch_p99_ms": percentile_ms(batch_s, 99),
        }

        # 4. Malformed requests: 4xx naming the problem.
        for name, body, needle in malformed_requests(frame):
            answer = infer(session, server.http_url, SERVED_NAME, body)
            check = MalformedCheck(name, needle, answer.status, answer.error)
            report.malformed.append(check)
            if not check.passed:
                report.problems.append(
                    f"malformed request {name!r}: expected 4xx naming {needle!r}, "
                    f"got {answer.status}: {answer.error[:300]!r}"
                )

        # 5. The server still answers correctly after the bad requests.
        answer = infer(session, server.http_url, SERVED_NAME, build_v2_request(frame.head(1)))
        if not answer.ok:
            report.problems.append(
                f"good request after malformed ones failed: {answer.status} {answer.error}"
            )
        elif not compare_predictions(decode_v2_outputs(answer.body), expected[0], atol) <= atol:
            report.problems.append("good request after malformed ones answered differently")


@dataclass(frozen=True)
class ServingConfig:
    """What `run` checks and how hard.

    Attributes:
        model_uri: The candidate, e.g. ``models:/<name>@challenger``.
        holdout: Rows with (at least) the model's input columns.
        tracking_uri: MLflow tracking/registry URI ("" = the suite default); used when
            `run` gets no client.
        atol: Largest allowed absolute difference to in-process predictions.
        max_rows: Holdout rows compared (the first ones).
        single_requests: Single-row requests sent (latency sample size).
        batch_size: Rows per batch request.
        batch_requests: Batch requests sent (latency sample size).
        startup_timeout_s: How long MLServer may take to load the model.
        parallel_workers: MLServer inference workers (1, as on the cluster).
        workdir: Scratch folder (a temporary one if None; removed afterwards).
    """

    model_uri: str
    holdout: pd.DataFrame
    tracking_uri: str = ""
    atol: float = 1e-6
    max_rows: int = 1000
    single_requests: int = 50
    batch_size: int = 256
    batch_requests: int = 20
    startup_timeout_s: float = 180.0
    parallel_workers: int = 1
    workdir: Path | None = None


def run(config: ServingConfig, *, client: MlflowClient | None = None) -> ServingReport:
    """Serves the candidate in a real MLServer on loopback and checks it end to end.

    Args:
        config: The candidate, its holdout and the check settings.
        client: MLflow client (resolves ``models:/`` and ``runs:/`` URIs); None = one
            for ``config.tracking_uri``.

    Returns:
        The report; check ``report.passed`` (``report.return_value()`` raises when not).

    Raises:
        ServingError: If the model cannot be loaded by MLServer; the message
            carries the server log tail.
        ValueError: If the model has no signature or the holdout lacks its
            input columns.
    """
    import os

    import mlflow.pyfunc

    from components._mlflow import mlflow_client
    from components._serving.models import download_model
    from components._serving.server import start_mlserver
    from components._serving.settings import write_model_settings

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    client = client or mlflow_client(config.tracking_uri or None)
    model_uri, c = config.model_uri, config
    with tempfile.TemporaryDirectory(prefix="validate-serving-", dir=c.workdir) as tmp:
        scratch = Path(tmp)
        model_dir = download_model(client, model_uri, scratch / "model")
        model = mlflow.pyfunc.load_model(str(model_dir))
        schema = model.metadata.get_input_schema()
        if schema is None or not schema.has_input_names():
            raise ValueError(
                f"{model_uri} has no named input signature; log the model with one "
                "so serving requests can be checked"
            )
        frame = feature_frame(c.holdout, schema.input_names(), c.max_rows)
        expected = model.predict(frame)

        report = ServingReport(model_uri=model_uri)
        repo = scratch / "repo"
        write_model_settings(repo / SERVED_NAME, SERVED_NAME, model_dir)
        started = time.monotonic()
        server = start_mlserver(
            repo,
            parallel_workers=c.parallel_workers,
            ready_models=[SERVED_NAME],
            timeout_s=c.startup_timeout_s,
        )
        try:
            report.startup_seconds = time.monotonic() - started
            check_server(
                server,
                frame,
                expected,
                report,
                atol=c.atol,
                single_requests=c.single_requests,
                batch_size=c.batch_size,
                batch_requests=c.batch_requests,
            )
        except (ServingError, OSError) as exc:  # OSError covers requests' connection errors
            report.problems.append(f"{type(exc).__name__}: {exc}")
        finally:
            log_tail = server.log_tail(40)
            server.stop()
        if report.problems:
            report.problems.append(f"--- server log (tail) ---\n{log_tail}")
        print(f"[suite] validate_serving: passed={report.passed} {report.latency_ms}", flush=True)
        return report


def raise_if_failed(report: ServingReport) -> None:
    """Raises a :class:`ServingError` listing every problem, if there were any."""
    if report.problems:
        raise ServingError(
            f"serving validation of {report.model_uri} failed:\n- " + "\n- ".join(report.problems)
        )
