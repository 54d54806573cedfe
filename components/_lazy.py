"""Lazy re-export of a component from its package (PEP 562).

`components/<name>/__init__.py` re-exports the component, but must not import
`component.py` eagerly: inside a running task kfp sets `_KFP_RUNTIME=true` and
`kfp.dsl` then has no `component` decorator, so `from components.<name>.core import
...` in a component body would fail. Importing `core` also stays free of kfp.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_component(package: str, name: str) -> Callable[[str], Any]:
    """Returns a module `__getattr__` that imports `<package>.component.<name>` on first use.

    Args:
        package: The component package (`__name__` of its `__init__.py`).
        name: The component function's name.
    """

    def __getattr__(attribute: str) -> Any:
        if attribute == name:
            return getattr(importlib.import_module(f"{package}.component"), name)
        raise AttributeError(f"module {package!r} has no attribute {attribute!r}")

    return __getattr__
