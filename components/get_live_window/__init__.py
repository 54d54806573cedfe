"""The `get_live_window` component (imported on first use: see `components._lazy`)."""

from components._lazy import lazy_component

__all__ = ["get_live_window"]
__getattr__ = lazy_component(__name__, "get_live_window")
