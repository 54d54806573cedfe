"""Fixtures for validate_data core tests: the real churn_v1 contract and a batch that meets it.

The good batch is the churn_data generator's ground-truth snapshot: the labels joined
point-in-time with the profile and activity features (TTLs applied), i.e. what a correct
get_features returns, in the training-frame column order of CONVENTIONS.md.
"""

from pathlib import Path

import pandas as pd
import pytest

from churn_data import GeneratorConfig, generate, schema
from components.validate_data.core import DataContract, load_contract

REPO = Path(__file__).resolve().parents[3]
CHURN_CONTRACT = REPO / "feature_repo" / "contracts" / "churn_v1.yaml"
# After every generated timestamp (the generator's default window ends 2024-07-01).
NOW = "2026-06-01T00:00:00+00:00"


def churn_training_frame(n_customers: int = 1000, seed: int = 3) -> pd.DataFrame:
    """A generated training frame (no drift) with CONVENTIONS.md columns and dtypes."""
    snapshot = generate(GeneratorConfig(n_customers=n_customers, seed=seed)).snapshot
    return snapshot[list(schema.TRAINING_COLUMNS)].reset_index(drop=True)


@pytest.fixture(scope="session")
def now() -> str:
    """Validation time for every test: after all generated timestamps."""
    return NOW


@pytest.fixture(scope="session")
def make_churn_frame():
    """The frame builder, for tests that need another size or seed."""
    return churn_training_frame


@pytest.fixture(scope="session")
def churn_contract_path() -> Path:
    return CHURN_CONTRACT


@pytest.fixture(scope="session")
def churn_contract() -> DataContract:
    return load_contract(CHURN_CONTRACT)


@pytest.fixture(scope="session")
def _good_frame() -> pd.DataFrame:
    return churn_training_frame()


@pytest.fixture
def good_batch(_good_frame: pd.DataFrame) -> pd.DataFrame:
    """A fresh copy per test, so a test may corrupt it."""
    return _good_frame.copy()
