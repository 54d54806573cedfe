"""The `decide_retrain` component (imported on first use: see `components._lazy`)."""

from components._lazy import lazy_component

__all__ = ["decide_retrain"]
__getattr__ = lazy_component(__name__, "decide_retrain")
