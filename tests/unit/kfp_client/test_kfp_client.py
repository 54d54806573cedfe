"""pipelines.kfp_client: what can be tested without a KFP backend, tested for real.

There is no KFP API server here and these tests do not fake one: uploading a
version, idempotent re-submission, run creation, replacing a recurring run and the
UI links all need a real KFP backend (run `make cluster-up`, `make port-forward`,
then `make submit` / `make schedule` as in the README). What is proven here: input
errors are caught before any network call, an unreachable host (a real closed
local port, so a real connection refusal through the real kfp.Client) gives a clear
message naming the host and the port-forward, cron and parameter parsing.
"""

from __future__ import annotations

import json
import socket
import time

import pytest

from pipelines import kfp_client
from pipelines.kfp_client import (
    DEFAULT_HOST,
    KfpUnreachableError,
    list_runs,
    parse_params,
    resolve_host,
    resolve_token,
    schedule,
    submit,
    unschedule,
    validate_cron,
)


@pytest.fixture
def closed_port_host():
    """A loopback URL where nothing listens: bind an ephemeral port, then release it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def compiled_yaml(tmp_path):
    path = tmp_path / "training-0.0.0-test.yaml"
    path.write_text("# PIPELINE DEFINITION\npipelineInfo:\n  name: training\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _isolated_kfp_env(monkeypatch, tmp_path):
    for name in ("KFP_HOST", "KFP_TOKEN", "KF_PIPELINES_ENDPOINT", "KF_PIPELINES_UI_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))


def test_submit_with_a_missing_yaml_names_make_compile(closed_port_host, tmp_path):
    """Proves a missing compiled YAML fails first, naming the file and `make compile`.

    The host is a closed port, so a network attempt would raise a different error:
    the YAML check runs before any connection.
    Cannot prove the upload path (needs a KFP backend).
    """
    missing = tmp_path / "dist" / "training-0.1.0.yaml"
    with pytest.raises(FileNotFoundError, match="make compile") as error:
        submit(closed_port_host, missing, "training", "0.1.0", "suite")
    assert str(missing) in str(error.value)


def test_schedule_with_a_missing_yaml_names_make_compile(closed_port_host, tmp_path):
    """Proves schedule() also checks the YAML before touching the network.

    Cannot prove the recurring-run creation (needs a KFP backend).
    """
    with pytest.raises(FileNotFoundError, match="make compile"):
        schedule(
            closed_port_host,
            tmp_path / "monitoring.yaml",
            "monitoring",
            "0.1.0",
            "suite",
            "monitoring-hourly",
            "0 0 * * * *",
        )


def test_submit_to_an_unreachable_host_says_which_host_and_how_to_port_forward(
    closed_port_host, compiled_yaml
):
    """Proves a refused connection through the real kfp.Client becomes KfpUnreachableError.

    The message names the host and the port-forward command, and it fails fast
    (no multi-second retry loop). Cannot prove behaviour against a KFP that
    answers slowly or with errors (needs a real backend).
    """
    started = time.monotonic()
    with pytest.raises(KfpUnreachableError) as error:
        submit(closed_port_host, compiled_yaml, "training", "0.0.0-test", "suite")
    message = str(error.value)
    assert closed_port_host in message
    assert "make port-forward" in message
    assert "kubectl -n kubeflow port-forward svc/ml-pipeline-ui 8080:80" in message
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "call",
    [
        lambda host: list_runs(host),
        lambda host: unschedule(host, "monitoring-hourly"),
    ],
    ids=["list_runs", "unschedule"],
)
def test_every_entry_point_reports_an_unreachable_host(call, closed_port_host):
    """Proves list_runs and unschedule give the same clear error for a dead host.

    Cannot prove what they list or delete on a live KFP.
    """
    with pytest.raises(KfpUnreachableError, match="unreachable"):
        call(closed_port_host)


def test_host_defaults_to_the_port_forwarded_ui_and_env_wins(monkeypatch):
    """Proves the host order: argument, then KFP_HOST, then http://localhost:8080.

    Cannot prove the port-forward is running.
    """
    assert resolve_host() == DEFAULT_HOST == "http://localhost:8080"
    monkeypatch.setenv("KFP_HOST", "http://kfp.example:8888/")
    assert resolve_host() == "http://kfp.example:8888"
    assert resolve_host("http://other:1") == "http://other:1"


def test_token_comes_from_the_option_or_kfp_token(monkeypatch):
    """Proves the token order: argument, then KFP_TOKEN, else None (standalone KFP).

    Cannot prove a real auth proxy accepts the token.
    """
    assert resolve_token() is None
    monkeypatch.setenv("KFP_TOKEN", "from-env")
    assert resolve_token() == "from-env"
    assert resolve_token("from-option") == "from-option"


@pytest.mark.parametrize(
    "expression",
    ["0 0 * * * *", "0 */15 * * * *", "30 0 6 * * MON-FRI", "0   0 6 1 * ?"],
)
def test_six_field_cron_expressions_are_accepted(expression):
    """Proves valid six-field (seconds-first) expressions pass, whitespace normalised.

    Cannot prove KFP's scheduler fires at the intended times.
    """
    assert validate_cron(expression) == " ".join(expression.split())


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 * * * *", "needs 6 fields"),
        ("0 0 0 * * * *", "needs 6 fields"),
        ("60 0 * * * *", "seconds field"),
        ("0 0 24 * * *", "hours field"),
        ("0 0 6 * * $(rm)", "characters"),
    ],
)
def test_malformed_cron_is_refused_with_a_reason(expression, message):
    """Proves five-field Unix cron, out-of-range values and junk are refused.

    Cannot prove KFP's scheduler accepts every expression this lets through.
    """
    with pytest.raises(ValueError, match=message):
        validate_cron(expression)


def test_schedule_refuses_five_field_cron_before_any_network_call(closed_port_host, compiled_yaml):
    """Proves schedule() validates the cron before connecting (a closed port would raise else).

    Cannot prove KFP would have rejected it too.
    """
    with pytest.raises(ValueError, match="needs 6 fields"):
        schedule(
            closed_port_host,
            compiled_yaml,
            "monitoring",
            "0.0.0",
            "suite",
            "monitoring-hourly",
            "0 * * * *",
        )


def test_schedule_refuses_zero_concurrency(closed_port_host, compiled_yaml):
    """Proves max_concurrency < 1 is refused before connecting.

    Cannot prove KFP enforces max_concurrency at run time.
    """
    with pytest.raises(ValueError, match="max_concurrency"):
        schedule(
            closed_port_host,
            compiled_yaml,
            "monitoring",
            "0.0.0",
            "suite",
            "monitoring-hourly",
            "0 0 * * * *",
            max_concurrency=0,
        )


def test_params_from_yaml_file_with_typed_overrides(tmp_path):
    """Proves a YAML parameter file is read and key=value overrides win, typed as YAML.

    Cannot prove the pipeline accepts these names and types (KFP checks that on submit).
    """
    path = tmp_path / "params.yaml"
    path.write_text("n_rows: 1000\nscenario: covariate_shift\nseed: 7\n", encoding="utf-8")
    params = parse_params(["seed=11", "ratio=0.25", "retrain=true", "tag=v1"], path)
    assert params == {
        "n_rows": 1000,
        "scenario": "covariate_shift",
        "seed": 11,
        "ratio": 0.25,
        "retrain": True,
        "tag": "v1",
    }


def test_params_from_json_file(tmp_path):
    """Proves a JSON parameter file works too (JSON is YAML), lists included.

    Cannot prove the pipeline accepts these parameters.
    """
    path = tmp_path / "params.json"
    path.write_text(json.dumps({"features": ["plan", "region"], "k": 3}), encoding="utf-8")
    assert parse_params(params_file=path) == {"features": ["plan", "region"], "k": 3}


def test_empty_param_value_is_an_empty_string():
    """Proves `name=` sets an empty string rather than None.

    Cannot prove a pipeline treats an empty string as intended.
    """
    assert parse_params(["note="]) == {"note": ""}


@pytest.mark.parametrize(
    ("assignments", "content", "error", "message"),
    [
        (["seed"], None, ValueError, "name=value"),
        (["=3"], None, ValueError, "name=value"),
        ([], "- a\n- b\n", ValueError, "one mapping"),
        ([], "1: x\n", ValueError, "one mapping"),
    ],
)
def test_bad_params_are_refused(tmp_path, assignments, content, error, message):
    """Proves assignments without a key and files that are not a mapping are refused.

    Cannot prove every malformed input is caught, only these shapes.
    """
    path = None
    if content is not None:
        path = tmp_path / "params.yaml"
        path.write_text(content, encoding="utf-8")
    with pytest.raises(error, match=message):
        parse_params(assignments, path)


def test_missing_params_file_is_named(tmp_path):
    """Proves a missing parameter file raises FileNotFoundError naming it.

    Cannot prove anything about file contents.
    """
    with pytest.raises(FileNotFoundError, match=r"nope\.yaml"):
        parse_params(params_file=tmp_path / "nope.yaml")


def test_default_service_account_is_the_least_privilege_runner():
    """Proves runs default to the suite's own runner SA that manifests/suite/rbac.yaml binds.

    Cannot prove KFP runs the pods under it (needs a cluster).
    """
    assert kfp_client.DEFAULT_SERVICE_ACCOUNT == "suite-pipeline-runner"
