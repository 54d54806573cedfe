"""The `register_model` component (imported on first use: see `components._lazy`)."""

from components._lazy import lazy_component

__all__ = ["register_model"]
__getattr__ = lazy_component(__name__, "register_model")
