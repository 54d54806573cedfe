"""The `compare_shadow` component (imported on first use: see `components._lazy`)."""

from components._lazy import lazy_component

__all__ = ["compare_shadow"]
__getattr__ = lazy_component(__name__, "compare_shadow")
