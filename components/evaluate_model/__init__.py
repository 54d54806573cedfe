"""The `evaluate_model` component (imported on first use: see `components._lazy`)."""

from components._lazy import lazy_component

__all__ = ["evaluate_model"]
__getattr__ = lazy_component(__name__, "evaluate_model")
