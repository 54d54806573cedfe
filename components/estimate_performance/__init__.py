"""The `estimate_performance` component (imported on first use: see `components._lazy`)."""

from components._lazy import lazy_component

__all__ = ["estimate_performance"]
__getattr__ = lazy_component(__name__, "estimate_performance")
