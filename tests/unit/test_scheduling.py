"""The test scheduler's grouping and ordering (tests/_helpers/scheduling.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests._helpers import scheduling


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    return path


def test_a_fixture_package_is_one_group_and_other_modules_are_their_own(tmp_path):
    """A fixture package is one group; every other module is its own.

    Proves: modules under a package with a conftest.py (at any depth) share its group,
    modules elsewhere are a group each, and the root conftest does not make one big group.
    Cannot prove xdist then keeps a group on one worker (that is xdist's loadgroup contract).
    """
    tests = tmp_path / "tests"
    _touch(tests / "conftest.py")
    _touch(tests / "unit" / "serving" / "conftest.py")
    deep = _touch(tests / "unit" / "serving" / "clients" / "test_probe.py")
    shallow = _touch(tests / "unit" / "serving" / "test_server.py")
    e2e_a = _touch(tests / "pipelines" / "test_lifecycle.py")
    e2e_b = _touch(tests / "pipelines" / "test_compile.py")
    assert scheduling.schedule_group(deep, tests) == "unit/serving"
    assert scheduling.schedule_group(shallow, tests) == "unit/serving"
    assert scheduling.schedule_group(e2e_a, tests) == "pipelines/test_lifecycle.py"
    assert scheduling.schedule_group(e2e_b, tests) == "pipelines/test_compile.py"


def test_group_costs_sum_measured_modules_and_price_new_ones(tmp_path):
    """A group costs its modules' measured seconds.

    Proves: a group costs the sum of its modules' measured seconds, each module once,
    and a module with no measurement costs the documented default. Cannot prove the
    measured figures are current (`make test-durations` refreshes them).
    """
    tests = tmp_path / "tests"
    _touch(tests / "unit" / "a" / "conftest.py")
    one = _touch(tests / "unit" / "a" / "test_one.py")
    two = _touch(tests / "unit" / "a" / "test_two.py")
    new = _touch(tests / "test_new.py")
    durations = {"unit/a/test_one.py": 30.0, "unit/a/test_two.py": 12.5}
    costs = scheduling.group_costs([one, two, one, new], durations, tests)
    assert costs == {"unit/a": 42.5, "test_new.py": scheduling.UNKNOWN_MODULE_SECONDS}


def test_the_durations_file_names_only_modules_that_exist():
    """The durations file is not stale.

    Proves: tests/durations.json has no entry for a moved or deleted module (its cost
    would be attributed to nothing while the moved module is priced as new). Cannot prove
    the seconds are current.
    """
    durations = scheduling.load_durations()
    assert durations, "tests/durations.json is missing or empty: run make test-durations"
    missing = sorted(key for key in durations if not (scheduling.TESTS_DIR / key).exists())
    assert not missing, f"stale entries (run make test-durations): {missing}"


def test_xdist_sees_each_tests_group(request: pytest.FixtureRequest) -> None:
    """Each test reaches xdist with its group, so a group runs on one worker.

    Proves: on an xdist worker with ``--dist loadgroup`` (`make test`) this test's node id
    carries its schedule group as xdist's suffix, i.e. the suite's marks were added before
    xdist read them (added after, as until 2026-12-02, groups were silently ignored and
    module fixtures such as the lifecycle's trained world were built on both workers);
    elsewhere the id is plain. Cannot prove the groups are balanced between workers.
    """
    group = scheduling.schedule_group(request.path)
    if os.environ.get("PYTEST_XDIST_WORKER") and request.config.getvalue("loadgroup"):
        assert request.node.nodeid.endswith(f"@{group}")
    else:
        assert "@" not in request.node.nodeid


def test_group_costs_do_not_depend_on_the_hash_seed() -> None:
    """Every xdist worker computes the same costs, so every worker orders tests the same.

    Proves: the group costs of the real test tree are bit-identical in two interpreters
    with different hash seeds (workers started outside `make test` get random seeds; a
    cost summed in set order differed in the last bit and xdist refused the run with
    "Different tests were collected"). Cannot prove the costs are current.
    """
    code = (
        "import json; from tests._helpers import scheduling as s; "
        "print(json.dumps(s.group_costs(sorted(s.TESTS_DIR.rglob('test_*.py'), reverse=True), "
        "s.load_durations())))"
    )
    outputs = [
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2", "3")
    ]
    assert json.loads(outputs[0])
    assert outputs[0] == outputs[1] == outputs[2]
