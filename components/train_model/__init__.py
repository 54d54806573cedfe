"""`train_model` component.

The component is re-exported lazily (PEP 562): a logged model imports
`components.train_model.estimator`, and loading a model must not pull in kfp.
"""

from typing import Any

__all__ = ["train_model"]


def __getattr__(name: str) -> Any:
    if name == "train_model":
        from components.train_model.component import train_model

        return train_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
