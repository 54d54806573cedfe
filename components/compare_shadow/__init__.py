"""The `compare_shadow` component: `core` is its logic, `component.py` its KFP wrapper.

Import the component from `components.compare_shadow.component`. This file imports nothing,
so importing `core` inside a running task never imports kfp (under `_KFP_RUNTIME`,
`kfp.dsl` has no `component` decorator).
"""
