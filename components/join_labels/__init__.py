"""The `join_labels` component (imported on first use: see `components._lazy`)."""

from components._lazy import lazy_component

__all__ = ["join_labels"]
__getattr__ = lazy_component(__name__, "join_labels")
