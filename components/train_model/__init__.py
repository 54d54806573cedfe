"""The `train_model` component: `core.run` is its logic, `component.py` its KFP wrapper.

Import the component from `components.train_model.component`. This file imports nothing,
so importing `core` inside a running task never imports kfp (under `_KFP_RUNTIME`,
`kfp.dsl` has no `component` decorator).
"""
