"""How `make test` spreads test modules over xdist workers (used by tests/conftest.py).

`make test` runs ``pytest -n 2 --dist loadgroup --no-loadscope-reorder``. Every test gets
an ``xdist_group``: a test package whose ``conftest.py`` holds fixtures (a trained model,
an MLServer, a PostgreSQL server) is one group, so one worker builds those fixtures once;
any other module is a group of its own. Tests are then ordered by their group's measured
cost, longest first (``tests/durations.json``, refreshed by ``make test-durations``), and
xdist hands out groups in that order, so the slow end-to-end modules start at once on
different workers instead of queueing behind each other on one.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parents[1]
DURATIONS_FILE = TESTS_DIR / "durations.json"
UNKNOWN_MODULE_SECONDS = 5.0
"""Cost of a module not in the durations file yet (a new module)."""


def module_key(module_path: Path, tests_dir: Path = TESTS_DIR) -> str:
    """Returns a test module's key in the durations file: its path under ``tests/``."""
    return module_path.resolve().relative_to(tests_dir).as_posix()


def schedule_group(module_path: Path, tests_dir: Path = TESTS_DIR) -> str:
    """Returns the group of a test module: its nearest fixture package, else the module.

    The root ``tests/conftest.py`` does not count (its fixtures are cheap and every
    module sees them); a package counts when its own ``conftest.py`` exists.

    Args:
        module_path: The test module's file.
        tests_dir: The tests root.
    """
    module_path = module_path.resolve()
    directory = module_path.parent
    while directory != tests_dir and tests_dir in directory.parents:
        if (directory / "conftest.py").exists():
            return directory.relative_to(tests_dir).as_posix()
        directory = directory.parent
    return module_key(module_path, tests_dir)


def load_durations(path: Path = DURATIONS_FILE) -> dict[str, float]:
    """Returns module key -> seconds from the durations file ({} when it is absent)."""
    return json.loads(path.read_text()) if path.exists() else {}


def group_costs(
    modules: Iterable[Path], durations: Mapping[str, float], tests_dir: Path = TESTS_DIR
) -> dict[str, float]:
    """Returns group -> summed seconds of its modules (unknown modules cost the default).

    Args:
        modules: Test module files (repeats are counted once).
        durations: Module key -> measured seconds.
        tests_dir: The tests root.
    """
    costs: dict[str, float] = {}
    # Sorted: a set's order follows the hash seed, and float sums in another order may
    # differ in the last bit, which would order two groups differently on two workers.
    for module in sorted({path.resolve() for path in modules}):
        group = schedule_group(module, tests_dir)
        seconds = durations.get(module_key(module, tests_dir), UNKNOWN_MODULE_SECONDS)
        costs[group] = costs.get(group, 0.0) + seconds
    return costs


def write_durations(path: Path, seconds_per_module: Mapping[str, float]) -> None:
    """Writes module key -> seconds (rounded, sorted) as the durations file."""
    rounded = {module: round(s, 1) for module, s in sorted(seconds_per_module.items())}
    path.write_text(json.dumps(rounded, indent=1) + "\n")
