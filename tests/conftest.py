"""Fixtures shared by every test package.

One MLflow store (sqlite in a session temp dir) serves the whole session; tests that
touch the registry use names of their own (see the packages' `model_name` fixtures).
"""

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
