"""The `materialize_features` component (imported on first use: see `components._lazy`)."""

from components._lazy import lazy_component

__all__ = ["materialize_features"]
__getattr__ = lazy_component(__name__, "materialize_features")
