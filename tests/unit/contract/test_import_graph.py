"""The import graph of `components/`: no component imports another, and no cycles.

Every import counts, wherever it is written: module top level, inside a function, or
under ``if TYPE_CHECKING:`` (a typing-only import still ties two modules together).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
COMPONENTS = ROOT / "components"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(COMPONENTS.rglob("*.py"))}


def _imported(path: Path, known: set[str], module: str = "") -> set[str]:
    """The `components.*` modules a file imports (a package import counts as the package).

    Args:
        path: The Python file.
        known: Every module under components/.
        module: The file's module name ("" = from its path under the repo).
    """
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                base = ".".join(anchor[: len(anchor) - node.level + 1] + ([base] if base else []))
            names = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            # `from components import _mlflow` imports the module components._mlflow.
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != "components":
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imported(path, known) - {name} for name, path in modules.items()}


def _component_of(module: str) -> str | None:
    """``components.<name>.x`` -> ``<name>`` for component packages (not shared ``_*``)."""
    parts = module.split(".")
    if len(parts) >= 2 and not parts[1].startswith("_") and (COMPONENTS / parts[1]).is_dir():
        return parts[1]
    return None


def test_the_walk_sees_imports_inside_functions_and_type_checking(tmp_path):
    """The AST walk finds function-level and TYPE_CHECKING imports, so the rules can fail.

    Proves: on the real tree, `check_drift.core`'s import of `_drift_reference` (top
    level) and of `html_report` (inside a method) are both seen, and relative imports
    resolve. Cannot prove imports built at run time (importlib) are seen; the suite
    has none in components/.
    """
    graph = _graph()
    assert "components._drift_reference" in graph["components.check_drift.core"]
    assert "components.check_drift.html_report" in graph["components.check_drift.core"]
    source = tmp_path / "probe.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from components.train_model.core import TrainResult\n"
        "def f():\n    from components import _mlflow\n"
    )
    known = set(_modules())
    found = _imported(source, known, module="components.check_drift.probe")
    assert found == {"components.train_model.core", "components._mlflow"}


def test_no_component_imports_another_component():
    """A component package imports shared modules (``components._*``) and itself only.

    Proves: no module under components/<name>/ imports components/<other>/, at any
    place in the file. Cannot prove the shared modules hold no component-specific
    logic (review does).
    """
    violations = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if _component_of(module) and _component_of(target) not in (None, _component_of(module))
    )
    assert not violations, "move the shared part to a components/_*.py module:\n" + "\n".join(
        violations
    )


# Test-only code still in a production package; issue 13 moves it under tests/ (branch
# issue-13b). The test below fails once it has moved, so this entry cannot go stale.
_MOVING_TO_TESTS = {"components._serving.demo_model"}


def test_no_shared_module_imports_a_component():
    """Shared modules (``components/_*``) never import a component package.

    Proves: the dependency arrow points one way (component -> shared), except for the
    listed test-only module that is leaving the package, and that list names only
    modules that still exist. Cannot prove anything about test or pipeline code,
    which may import anything.
    """
    graph = _graph()
    violations = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if module.split(".")[1].startswith("_")
        and _component_of(target)
        and module not in _MOVING_TO_TESTS
    )
    assert not violations, "\n".join(violations)
    assert set(graph) >= _MOVING_TO_TESTS, "moved out: empty _MOVING_TO_TESTS"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == node:
                    break
            if len(members) > 1:
                found.append(sorted(members))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize(
    ("graph", "expected"),
    [
        ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
        ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]),
        ({"a": {"b"}, "b": set()}, []),
    ],
)
def test_cycle_finder_finds_cycles(graph, expected):
    """The cycle finder reports a 2-cycle, a 3-cycle and no false cycle.

    Proves: `_cycles` can fail. Cannot prove anything about the real tree (next test).
    """
    assert _cycles(graph) == expected


def test_no_import_cycles_among_components_modules():
    """No two modules under components/ import each other, directly or through others.

    Proves: the import graph of components/ (every import, including TYPE_CHECKING and
    function-level ones) is acyclic. Cannot prove the absence of cycles through
    packages outside components/ (pipelines, tests), which components never import.
    """
    cycles = _cycles(_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)
