"""The ``python -m churn_data generate`` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from churn_data import read_periods, read_sources
from churn_data.cli import main


def test_cli_writes_then_appends_a_drifted_period(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Generate writes a first period, then --append adds a drifted later one.

    Proves: the options reach the config (customers, seed, scenario, drift start, shift
    features, magnitude), the report has row counts, churn rate, ceiling AUC and timings,
    the appended period keeps the first period's origin, and files grow. Cannot prove the
    output is readable by Feast (tests/unit/get_features).
    """
    out = tmp_path / "data"
    common = ["generate", "--out", str(out), "--customers", "800", "--seed", "4"]
    assert main([*common, "--start", "2024-01-01", "--end", "2024-03-01"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["mode"] == "write"
    assert first["scenario"] == "none"
    assert set(first["rows"]) == {"profiles", "activity", "labels"}
    assert 0.0 < first["churn_rate"] < 1.0
    assert 0.5 < first["ceiling_auc"] <= 1.0
    assert set(first["seconds"]) == {"generate", "write"}
    before = {name: len(frame) for name, frame in read_sources(out).items()}

    drift = ["--scenario", "covariate_shift+concept_drift", "--drift-start", "2024-03-01"]
    shift = ["--shift-features", "sessions_7d", "--magnitude", "2"]
    later = ["--start", "2024-03-01", "--end", "2024-04-01", "--append"]
    assert main([*common, *later, *drift, *shift]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["mode"] == "append"
    assert second["after_drift"]["labels"] == second["rows"]["labels"]
    periods = read_periods(out)
    assert periods[1]["config"]["origin"] == periods[0]["config"]["origin"]
    scenario = periods[1]["config"]["scenario"]
    assert scenario["shift_features"] == ["sessions_7d"]
    assert scenario["magnitude"] == 2.0
    after = {name: len(frame) for name, frame in read_sources(out).items()}
    for name in ("activity", "labels"):
        assert after[name] > before[name]


def test_module_entry_point_runs_and_fails_loudly(tmp_path: Path) -> None:
    """``python -m churn_data`` runs as a process; a bad scenario exits non-zero with a reason.

    Proves the ``__main__`` wiring and that errors name the problem. Cannot prove anything
    about the Makefile targets that call it.
    """
    command = [sys.executable, "-m", "churn_data", "generate", "--out", str(tmp_path / "d")]
    small = ["--customers", "300", "--start", "2024-01-01", "--end", "2024-02-01"]
    done = subprocess.run([*command, *small], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rows"]["labels"] > 0
    bad = [*small, "--scenario", "bogus", "--drift-start", "2024-01-15"]
    failed = subprocess.run([*command, *bad], capture_output=True, text=True, check=False)
    assert failed.returncode == 2
    assert "unknown drift scenario" in failed.stderr
    assert "Traceback" not in failed.stderr
