"""`deploy_model` component.

Re-exported lazily (PEP 562) so importing the core modules does not pull in kfp.
"""

from typing import Any

__all__ = ["deploy_model"]


def __getattr__(name: str) -> Any:
    if name == "deploy_model":
        from components.deploy_model.component import deploy_model

        return deploy_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
