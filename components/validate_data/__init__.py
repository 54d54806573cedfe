"""The `validate_data` component (imported on first use: see `components._lazy`)."""

from components._lazy import lazy_component

__all__ = ["validate_data"]
__getattr__ = lazy_component(__name__, "validate_data")
