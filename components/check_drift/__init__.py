"""The `check_drift` component (imported on first use: see `components._lazy`)."""

from components._lazy import lazy_component

__all__ = ["check_drift"]
__getattr__ = lazy_component(__name__, "check_drift")
