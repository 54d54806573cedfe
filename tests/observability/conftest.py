"""Fixtures: the Prometheus binaries must be present.

They are Debian packages, installed by `.ci/run` and `make observability-deps`.
"""

import shutil

import pytest

from components._observability.stack import BINARIES


@pytest.fixture(scope="session")
def prometheus_binaries() -> None:
    """Fails (not skips) when a binary is missing: CI installs them, so absence is a bug."""
    missing = [name for name in BINARIES.values() if shutil.which(name) is None]
    if missing:
        pytest.fail(f"missing {missing}: run `make observability-deps`")
