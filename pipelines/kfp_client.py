"""Talks to a KFP backend: upload versioned pipelines, run them, schedule monitoring.

Called by `python -m pipelines submit|schedule|unschedule|runs` (pipelines/cli.py).
Every function takes the KFP host (default: the UI that `make port-forward` serves on
http://localhost:8080, or `KFP_HOST`) and an optional bearer token (`--token` or
`KFP_TOKEN`, for a KFP behind an auth proxy; standalone KFP needs none). A host that
does not answer raises `KfpUnreachableError` naming the host and how to port-forward;
a missing compiled YAML raises `FileNotFoundError` naming `make compile`.

`namespace` is for multi-user Kubeflow (the profile namespace); leave it None for
standalone KFP, which is single-user. Runs use a Kubernetes service account per run
(kfp-kubernetes has no per-task service account): by default the suite's
least-privilege `suite-pipeline-runner` from manifests/suite/rbac.yaml.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import kfp

DEFAULT_HOST = "http://localhost:8080"
HOST_ENV = "KFP_HOST"
TOKEN_ENV = "KFP_TOKEN"
DEFAULT_SERVICE_ACCOUNT = "suite-pipeline-runner"
PORT_FORWARD_HINT = (
    "start it with `make port-forward` "
    "(kubectl -n kubeflow port-forward svc/ml-pipeline-ui 8080:80) "
    f"or point --host / {HOST_ENV} at a reachable KFP"
)

_EQUALS = 1  # kfp_server_api filter operation EQUALS
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,#L\-]+$")
_CRON_RANGES = (("seconds", 0, 59), ("minutes", 0, 59), ("hours", 0, 23))


class KfpClientError(RuntimeError):
    """A KFP request failed for a reason the user can act on."""


class KfpUnreachableError(KfpClientError):
    """The KFP API did not answer at all (no port-forward, wrong host, cluster down)."""


@dataclass(frozen=True)
class RunSummary:
    """One KFP run as `list_runs` reports it.

    Attributes:
        run_id: KFP run id.
        name: Display name.
        state: Runtime state (PENDING, RUNNING, SUCCEEDED, FAILED, ...).
        created_at: Creation time, as KFP reports it.
        url: Link to the run in the KFP UI.
    """

    run_id: str
    name: str
    state: str
    created_at: dt.datetime | None
    url: str


def resolve_host(host: str | None = None) -> str:
    """Returns the KFP host: the argument, else `KFP_HOST`, else the port-forwarded UI."""
    return (host or os.environ.get(HOST_ENV) or DEFAULT_HOST).rstrip("/")


def resolve_token(token: str | None = None) -> str | None:
    """Returns the bearer token: the argument, else `KFP_TOKEN`, else None."""
    return token or os.environ.get(TOKEN_ENV) or None


def validate_cron(expression: str) -> str:
    """Checks a KFP cron expression: six fields, seconds first.

    KFP's scheduler (robfig/cron with seconds) reads ``"0 0 6 * * *"`` as 06:00:00
    every day; a five-field Unix cron would silently mean something else, so it is
    refused.

    Args:
        expression: The cron expression.

    Returns:
        The expression with whitespace normalised.

    Raises:
        ValueError: If it does not have six fields or a field is malformed.
    """
    fields = expression.split()
    if len(fields) != 6:
        raise ValueError(
            f"KFP cron needs 6 fields (seconds minutes hours day-of-month month "
            f"day-of-week), got {len(fields)} in {expression!r}; e.g. '0 0 6 * * *' "
            "is every day at 06:00:00"
        )
    for value, (name, low, high) in zip(fields, _CRON_RANGES, strict=False):
        for number in re.findall(r"\d+", value):
            if not low <= int(number) <= high:
                raise ValueError(f"cron {name} field {value!r} is outside {low}-{high}")
    bad = [value for value in fields if not _CRON_FIELD.match(value)]
    if bad:
        raise ValueError(f"cron fields {bad} contain characters cron does not accept")
    return " ".join(fields)


def parse_params(
    assignments: Sequence[str] = (), params_file: str | Path | None = None
) -> dict[str, Any]:
    """Builds pipeline parameters from a YAML/JSON file and ``key=value`` overrides.

    Values are read as YAML scalars, so ``n_rows=1000`` is an int, ``ratio=0.2`` a
    float, ``enabled=true`` a bool and ``name=loans`` a string. Overrides win over
    the file.

    Args:
        assignments: ``key=value`` strings (e.g. repeated ``--param`` options).
        params_file: A YAML or JSON file holding one mapping of parameters.

    Returns:
        Parameter name -> value.

    Raises:
        FileNotFoundError: If ``params_file`` does not exist.
        ValueError: If the file is not a mapping or an assignment has no key.
    """
    params: dict[str, Any] = {}
    if params_file is not None:
        path = Path(params_file)
        if not path.is_file():
            raise FileNotFoundError(f"parameter file {path} not found")
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, Mapping) or not all(isinstance(k, str) for k in loaded):
            raise ValueError(
                f"parameter file {path} must hold one mapping of name: value, "
                f"got {type(loaded).__name__}"
            )
        params.update(loaded)
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"parameter {assignment!r} must look like name=value")
        params[key] = yaml.safe_load(raw) if raw.strip() else ""
    return params


@contextlib.contextmanager
def connect(
    host: str | None = None, token: str | None = None, namespace: str | None = None
) -> Iterator[kfp.Client]:
    """Opens a KFP client and turns transport and auth failures into clear errors.

    Args:
        host: KFP UI/API address (see `resolve_host`).
        token: Bearer token (see `resolve_token`).
        namespace: Profile namespace for multi-user Kubeflow; None for standalone.

    Yields:
        A connected `kfp.Client`.

    Raises:
        KfpUnreachableError: If nothing answers at the host.
        KfpClientError: If KFP answers with an authentication or authorization error.
    """
    import kfp
    import kfp_server_api
    import urllib3

    url = resolve_host(host)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning, module="kfp")
            client = kfp.Client(
                host=url,
                existing_token=resolve_token(token),
                namespace=namespace or "kubeflow",
            )
        yield client
    except (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as error:
        raise KfpUnreachableError(
            f"KFP API at {url} is unreachable ({_reason(error)}); {PORT_FORWARD_HINT}"
        ) from error
    except kfp_server_api.ApiException as error:
        if error.status in (401, 403):
            raise KfpClientError(
                f"KFP at {url} refused the request (HTTP {error.status}); "
                f"pass a token with --token or {TOKEN_ENV}"
            ) from error
        raise KfpClientError(
            f"KFP at {url} answered HTTP {error.status}: {error.reason}; {error.body}"
        ) from error


def submit(
    host: str | None,
    yaml_path: str | Path,
    pipeline_name: str,
    version_name: str,
    experiment: str,
    params: Mapping[str, Any] | None = None,
    namespace: str | None = None,
    token: str | None = None,
    service_account: str = DEFAULT_SERVICE_ACCOUNT,
) -> str:
    """Uploads a compiled pipeline as a named version and starts a run of it.

    The pipeline is created on first use; an existing version with the same name
    (the suite version) is reused, so submitting twice starts two runs of one version.

    Args:
        host: KFP host (None: `KFP_HOST` or http://localhost:8080).
        yaml_path: Compiled pipeline, e.g. ``dist/training-0.1.0-3f2a9c1d.yaml``.
        pipeline_name: Pipeline name in KFP, e.g. ``"training"``.
        version_name: Pipeline version name: the suite version.
        experiment: Experiment to run in (created if missing).
        params: Pipeline parameters.
        namespace: Profile namespace (multi-user Kubeflow) or None.
        token: Bearer token or None.
        service_account: Kubernetes service account the run's pods use.

    Returns:
        The run's URL in the KFP UI.

    Raises:
        FileNotFoundError: If the compiled YAML is missing.
        KfpUnreachableError: If the host does not answer.
        KfpClientError: If KFP refuses a request.
    """
    path = _require_yaml(yaml_path)
    with connect(host, token, namespace) as client:
        pipeline_id, version_id = _ensure_version(client, path, pipeline_name, version_name)
        experiment_id = client.create_experiment(experiment, namespace=namespace).experiment_id
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        run = client.run_pipeline(
            experiment_id=experiment_id,
            job_name=f"{pipeline_name}-{version_name}-{stamp}",
            params=dict(params or {}),
            pipeline_id=pipeline_id,
            version_id=version_id,
            service_account=service_account,
        )
    return f"{resolve_host(host)}/#/runs/details/{run.run_id}"


def schedule(
    host: str | None,
    yaml_path: str | Path,
    pipeline_name: str,
    version_name: str,
    experiment: str,
    job_name: str,
    cron: str,
    params: Mapping[str, Any] | None = None,
    namespace: str | None = None,
    token: str | None = None,
    service_account: str = DEFAULT_SERVICE_ACCOUNT,
    max_concurrency: int = 1,
    no_catchup: bool = True,
) -> str:
    """Creates or replaces a recurring run (e.g. the monitoring pipeline).

    Recurring runs named ``job_name`` in the experiment are deleted first, so
    rescheduling after an upgrade leaves exactly one schedule, on the new version.

    Args:
        host: KFP host (None: `KFP_HOST` or http://localhost:8080).
        yaml_path: Compiled pipeline to schedule.
        pipeline_name: Pipeline name in KFP.
        version_name: Pipeline version name: the suite version.
        experiment: Experiment the recurring run belongs to (created if missing).
        job_name: Recurring run name; the key for replace and `unschedule`.
        cron: Six-field cron, seconds first (see `validate_cron`).
        params: Pipeline parameters for every run.
        namespace: Profile namespace (multi-user Kubeflow) or None.
        token: Bearer token or None.
        service_account: Kubernetes service account the runs' pods use.
        max_concurrency: Runs allowed at once; 1 keeps monitoring runs from overlapping.
        no_catchup: If True, missed intervals (cluster asleep) are not backfilled.

    Returns:
        The recurring run's URL in the KFP UI.

    Raises:
        ValueError: If the cron expression or max_concurrency is invalid.
        FileNotFoundError: If the compiled YAML is missing.
        KfpUnreachableError: If the host does not answer.
        KfpClientError: If KFP refuses a request.
    """
    expression = validate_cron(cron)
    if max_concurrency < 1:
        raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
    path = _require_yaml(yaml_path)
    with connect(host, token, namespace) as client:
        pipeline_id, version_id = _ensure_version(client, path, pipeline_name, version_name)
        experiment_id = client.create_experiment(experiment, namespace=namespace).experiment_id
        for recurring in _recurring_runs_named(client, job_name, experiment_id, namespace):
            client.delete_recurring_run(recurring.recurring_run_id)
        created = client.create_recurring_run(
            experiment_id=experiment_id,
            job_name=job_name,
            description=f"{pipeline_name} {version_name}",
            cron_expression=expression,
            max_concurrency=max_concurrency,
            no_catchup=no_catchup,
            params=dict(params or {}),
            pipeline_id=pipeline_id,
            version_id=version_id,
            service_account=service_account,
        )
    return f"{resolve_host(host)}/#/recurringrun/details/{created.recurring_run_id}"


def unschedule(
    host: str | None,
    job_name: str,
    experiment: str | None = None,
    namespace: str | None = None,
    token: str | None = None,
) -> int:
    """Deletes the recurring runs named ``job_name``.

    Args:
        host: KFP host (None: `KFP_HOST` or http://localhost:8080).
        job_name: Recurring run name given to `schedule`.
        experiment: Only look in this experiment; None looks everywhere.
        namespace: Profile namespace (multi-user Kubeflow) or None.
        token: Bearer token or None.

    Returns:
        How many recurring runs were deleted (0 if none had that name).

    Raises:
        KfpUnreachableError: If the host does not answer.
        KfpClientError: If KFP refuses a request.
    """
    with connect(host, token, namespace) as client:
        experiment_id = _experiment_id(client, experiment, namespace)
        if experiment is not None and experiment_id is None:
            return 0
        doomed = _recurring_runs_named(client, job_name, experiment_id, namespace)
        for recurring in doomed:
            client.delete_recurring_run(recurring.recurring_run_id)
    return len(doomed)


def list_runs(
    host: str | None,
    experiment: str | None = None,
    limit: int = 20,
    namespace: str | None = None,
    token: str | None = None,
) -> list[RunSummary]:
    """Returns the newest runs, newest first.

    Args:
        host: KFP host (None: `KFP_HOST` or http://localhost:8080).
        experiment: Only runs of this experiment; None lists all.
        limit: Maximum number of runs.
        namespace: Profile namespace (multi-user Kubeflow) or None.
        token: Bearer token or None.

    Returns:
        Run summaries with their UI links.

    Raises:
        KfpUnreachableError: If the host does not answer.
        KfpClientError: If KFP refuses a request.
    """
    base = resolve_host(host)
    with connect(host, token, namespace) as client:
        experiment_id = _experiment_id(client, experiment, namespace)
        if experiment is not None and experiment_id is None:
            return []
        response = client.list_runs(
            page_size=limit,
            sort_by="created_at desc",
            experiment_id=experiment_id,
            namespace=namespace,
        )
    return [
        RunSummary(
            run_id=run.run_id,
            name=run.display_name,
            state=str(run.state),
            created_at=run.created_at,
            url=f"{base}/#/runs/details/{run.run_id}",
        )
        for run in response.runs or []
    ]


def _require_yaml(yaml_path: str | Path) -> Path:
    path = Path(yaml_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"compiled pipeline {path} not found; run `make compile` "
            "(python -m pipelines compile) first"
        )
    return path


def _name_filter(name: str) -> str:
    return json.dumps(
        {"predicates": [{"operation": _EQUALS, "key": "display_name", "stringValue": name}]}
    )


def _ensure_version(
    client: kfp.Client, path: Path, pipeline_name: str, version_name: str
) -> tuple[str, str]:
    """Returns (pipeline_id, version_id), uploading whatever does not exist yet."""
    pipeline_id = client.get_pipeline_id(pipeline_name)
    if pipeline_id is None:
        pipeline_id = client.upload_pipeline(
            str(path),
            pipeline_name=pipeline_name,
            description=f"{pipeline_name}, first uploaded as {version_name}",
        ).pipeline_id
    existing = client.list_pipeline_versions(
        pipeline_id=pipeline_id, filter=_name_filter(version_name)
    ).pipeline_versions
    if existing:
        return pipeline_id, existing[0].pipeline_version_id
    version = client.upload_pipeline_version(
        str(path), pipeline_version_name=version_name, pipeline_id=pipeline_id
    )
    return pipeline_id, version.pipeline_version_id


def _experiment_id(client: kfp.Client, name: str | None, namespace: str | None) -> str | None:
    if name is None:
        return None
    try:
        return client.get_experiment(experiment_name=name, namespace=namespace).experiment_id
    except ValueError as error:
        if str(error).startswith("No experiment is found"):
            return None
        raise


def _recurring_runs_named(
    client: kfp.Client, job_name: str, experiment_id: str | None, namespace: str | None
) -> list[Any]:
    response = client.list_recurring_runs(
        page_size=100,
        experiment_id=experiment_id,
        namespace=namespace,
        filter=_name_filter(job_name),
    )
    return list(response.recurring_runs or [])


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None)
    return str(reason or error).splitlines()[0]
