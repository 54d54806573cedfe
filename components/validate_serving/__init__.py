"""`validate_serving` component.

Re-exported lazily (PEP 562) so importing ``components.validate_serving.core``
does not pull in kfp.
"""

from typing import Any

__all__ = ["validate_serving"]


def __getattr__(name: str) -> Any:
    if name == "validate_serving":
        from components.validate_serving.component import validate_serving

        return validate_serving
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
