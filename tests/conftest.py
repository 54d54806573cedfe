"""Fixtures shared by every test package.

One MLflow store (sqlite in a session temp dir) serves the whole session; tests that
touch the registry use names of their own (see the packages' `model_name` fixtures).
"""

from pathlib import Path

import pytest

from components import _mlflow as mlf
from tests._helpers import scheduling


@pytest.fixture(scope="session")
def tracking_uri(tmp_path_factory: pytest.TempPathFactory) -> str:
    """MLflow tracking and registry URI: a sqlite file, artifacts next to it."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture
def client(tracking_uri: str):
    """An MLflow client on `tracking_uri`."""
    return mlf.mlflow_client(tracking_uri)


# --- Scheduling on xdist workers: see tests/_helpers/scheduling.py ---


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record-durations",
        metavar="PATH",
        default="",
        help="write the seconds each test module took (setup+call+teardown) to PATH as JSON",
    )


# tryfirst: on a worker, xdist's own hook turns each item's xdist_group mark into a node id
# suffix; run after it, the marks would be added too late and every group split over workers.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    costs = scheduling.group_costs((item.path for item in items), scheduling.load_durations())
    group_of = {id(item): scheduling.schedule_group(item.path) for item in items}
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of[id(item)]))
    # Stable sort: within a group, collection order is kept; equal costs go by group name.
    # Every worker must get the same order, or xdist refuses to run ("Different tests were
    # collected").
    items.sort(key=lambda item: (-costs[group_of[id(item)]], group_of[id(item)]))


class _DurationRecorder:
    """Sums report durations per module on the controller (xdist sends every report there)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seconds: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        module = report.nodeid.split("::", 1)[0].removeprefix("tests/")
        self.seconds[module] = self.seconds.get(module, 0.0) + report.duration

    def pytest_sessionfinish(self) -> None:
        scheduling.write_durations(self.path, self.seconds)


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("--record-durations")
    if path and not hasattr(config, "workerinput"):
        config.pluginmanager.register(_DurationRecorder(Path(path)), "suite-duration-recorder")
