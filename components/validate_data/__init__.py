"""`validate_data` component.

Re-exported lazily (PEP 562): inside a KFP task (``_KFP_RUNTIME=true``) `kfp.dsl` has no
`component` decorator, so the task body's ``import components.validate_data.core`` must
not import `component.py`; importing the core also stays free of kfp.
"""

from typing import Any

__all__ = ["validate_data"]


def __getattr__(name: str) -> Any:
    if name == "validate_data":
        from components.validate_data.component import validate_data

        return validate_data
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
