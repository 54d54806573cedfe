"""The `validate_serving` component (imported on first use: see `components._lazy`)."""

from components._lazy import lazy_component

__all__ = ["validate_serving"]
__getattr__ = lazy_component(__name__, "validate_serving")
