"""Checks that heavy dependencies are installed with their bytecode (.pyc) compiled.

These machines, CI and the images run with ``PYTHONDONTWRITEBYTECODE=1``: no ``.pyc`` is
ever written at import time, so a package installed without compiled bytecode is compiled
from source by every new interpreter (every kfp.local task, every pod). ``import mlflow``
takes 8.4 s that way and 4.4 s with bytecode. `make setup` and the images install with
``uv pip sync/install --compile-bytecode``; this check fails when that was skipped.

    python -m components._bytecode            # exit 1 and the list when bytecode is missing
"""

from __future__ import annotations

import importlib.util
import sys
from importlib.util import cache_from_source
from pathlib import Path

HEAVY_PACKAGES = (
    "mlflow",
    "great_expectations",
    "feast",
    "alibi_detect",
    "xgboost",
    "sklearn",
    "pandas",
    "mlserver",
    "kfp",
)
"""Packages whose import cost matters per task (measured 3-9 s each without bytecode)."""


def missing_bytecode(packages: tuple[str, ...] = HEAVY_PACKAGES, min_share: float = 0.95) -> dict:
    """Returns package -> share of its modules with compiled bytecode, for those below `min_share`.

    A package that is not installed is skipped (images hold only their group's packages).

    Args:
        packages: Top-level package names.
        min_share: Smallest acceptable share of ``.py`` files with a current ``.pyc``.
    """
    short: dict[str, float] = {}
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        root = Path(next(iter(spec.submodule_search_locations)))
        sources = [p for p in root.rglob("*.py") if "tests" not in p.relative_to(root).parts]
        if not sources:
            continue
        compiled = sum(Path(cache_from_source(str(p))).is_file() for p in sources)
        share = compiled / len(sources)
        if share < min_share:
            short[name] = round(share, 3)
    return short


def main() -> int:
    """Prints the packages without bytecode; returns 1 if there are any."""
    short = missing_bytecode()
    if short:
        print(
            "installed without bytecode (share of modules compiled): "
            + ", ".join(f"{k} {v:.0%}" for k, v in short.items())
            + "; reinstall with `uv pip sync --compile-bytecode` (make setup does)",
            file=sys.stderr,
        )
        return 1
    print("bytecode present for every installed heavy package")
    return 0


if __name__ == "__main__":
    sys.exit(main())
