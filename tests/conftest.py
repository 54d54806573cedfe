"""Fixtures shared by every test package.

One MLflow store (sqlite in a session temp dir) serves the whole session; tests that
touch the registry use names of their own (see the packages' `model_name` fixtures).
"""

import json
from pathlib import Path

import pytest

from components import _mlflow as mlf


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """MLflow tracking and registry URI: a sqlite file, artifacts next to it."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture
def client(tracking_uri: str):
    """An MLflow client on `tracking_uri`."""
    return mlf.mlflow_client(tracking_uri)


# --- Scheduling on xdist workers (`make test`: -n 2 --dist loadgroup --no-loadscope-reorder) ---
#
# A test package whose conftest.py holds fixtures (a trained model, an MLServer, a
# PostgreSQL server) runs as one group on one worker, so those fixtures are built once;
# other modules are groups of their own. Groups start longest first (costs measured in
# tests/durations.json, refreshed with `make test-durations`) so the slow end-to-end
# modules begin at once on different workers instead of queueing behind each other.

TESTS_DIR = Path(__file__).parent
DURATIONS_FILE = TESTS_DIR / "durations.json"
UNKNOWN_MODULE_SECONDS = 5.0


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-durations",
        metavar="PATH",
        default="",
        help="write the seconds each test module took (setup+call+teardown) to PATH as JSON",
    )


def schedule_group(module_path: Path) -> str:
    """Returns the xdist group of a test module: its fixture package, else the module.

    Args:
        module_path: The test module's file.
    """
    directory = module_path.parent
    while directory != TESTS_DIR and TESTS_DIR in directory.parents:
        if (directory / "conftest.py").exists():
            return directory.relative_to(TESTS_DIR).as_posix()
        directory = directory.parent
    return module_path.relative_to(TESTS_DIR).as_posix()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    known = json.loads(DURATIONS_FILE.read_text()) if DURATIONS_FILE.exists() else {}
    group_cost: dict[str, float] = {}
    item_group: dict[int, str] = {}
    counted: set[str] = set()
    for item in items:
        module = Path(item.fspath)
        key = module.relative_to(TESTS_DIR).as_posix()
        group = schedule_group(module)
        if key not in counted:
            counted.add(key)
            group_cost[group] = group_cost.get(group, 0.0) + known.get(key, UNKNOWN_MODULE_SECONDS)
        item_group[id(item)] = group
        item.add_marker(pytest.mark.xdist_group(group))
    # Stable sort: within a group, collection order is kept.
    items.sort(key=lambda item: -group_cost[item_group[id(item)]])


class _DurationRecorder:
    """Sums report durations per module on the controller (xdist sends every report there)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seconds: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        module = report.nodeid.split("::", 1)[0].removeprefix("tests/")
        self.seconds[module] = self.seconds.get(module, 0.0) + report.duration

    def pytest_sessionfinish(self) -> None:
        rounded = {module: round(s, 1) for module, s in sorted(self.seconds.items())}
        self.path.write_text(json.dumps(rounded, indent=1) + "\n")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--record-durations")
    if path and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_DurationRecorder(Path(path)), "suite-duration-recorder")
