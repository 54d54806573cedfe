"""Synthetic churn data with a known generating function and injectable drift.

Placeholder docstring; the full description of the generating function follows.
"""

from churn_data.config import (
    BASE_COEFFICIENTS,
    DRIFTED_COEFFICIENTS,
    SCENARIOS,
    DriftScenario,
    GeneratorConfig,
    LabelCoefficients,
)
from churn_data.generator import ChurnData, generate
from churn_data.io import append_sources, read_periods, read_sources, write_sources
from churn_data.labels import churn_logit, roc_auc

__all__ = [
    "BASE_COEFFICIENTS",
    "DRIFTED_COEFFICIENTS",
    "SCENARIOS",
    "ChurnData",
    "DriftScenario",
    "GeneratorConfig",
    "LabelCoefficients",
    "append_sources",
    "churn_logit",
    "generate",
    "read_periods",
    "read_sources",
    "roc_auc",
    "write_sources",
]
