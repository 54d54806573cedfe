"""Each component's README.md is generated from its docstring and KFP spec, and is current.

`components._docs` renders the README of every components/<name>/ folder; these tests
regenerate them in memory and compare with the committed files, check the tables
against the Python signature (an independent reading of inputs and defaults), and show
that the generator refuses a component whose docstring misses what a README must say.
They cannot prove the prose in a docstring is true, only that the README says what the
docstring and the signature say.
"""

# No `from __future__ import annotations`: kfp reads the probe components' annotations.
import inspect
import json
import typing
from pathlib import Path

import pytest
from kfp import dsl
from kfp.dsl import Dataset, Output
from kfp.dsl.types.type_annotations import OutputAnnotation

from components import _docs

NAMES = _docs.component_names()


def test_every_component_package_is_found():
    """The generator finds every component package, and each has a committed README.

    Proves: the discovered names are exactly the public subpackages of ``components``
    (read with pkgutil, not with the generator's glob), at least the nine of the training
    and monitoring pipelines, each with its README.md on disk.

    Cannot prove a package is a component in the pipelines' sense (one that has
    component.py is).
    """
    import pkgutil

    import components

    packages = sorted(
        m.name
        for m in pkgutil.iter_modules(components.__path__)
        if m.ispkg and not m.name.startswith("_")
    )
    assert packages == NAMES
    assert {"check_drift", "deploy_model", "evaluate_model", "get_features",
            "materialize_features", "register_model", "train_model", "validate_data",
            "validate_serving"} <= set(NAMES)  # fmt: skip
    for name in NAMES:
        assert _docs.readme_path(name).is_file(), (
            f"components/{name}/README.md is missing: run `make component-docs`"
        )


@pytest.mark.parametrize("name", NAMES)
def test_readme_is_current(name):
    """The committed README equals what the generator renders now from the code.

    Proves: editing a component's docstring or signature without regenerating fails here,
    naming the file and the command that fixes it.

    Cannot prove the docstring's prose matches what core.py does.
    """
    path = _docs.readme_path(name)
    expected = _docs.render_readme(name)
    assert path.read_text(encoding="utf-8") == expected, (
        f"{path.relative_to(_docs.COMPONENTS_DIR.parent)} is stale: run `make component-docs` "
        "(python -m components._docs) and commit the result"
    )


def _rows(readme: str, section: str) -> dict[str, list[str]]:
    body = readme.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in body.splitlines() if line.startswith("| ") and "---" not in line]
    cells = [[cell.strip() for cell in row.strip("|").split(" | ")] for row in rows[1:]]
    return {row[0].strip("`"): row[1:] for row in cells}


def _expected_default(parameter: inspect.Parameter) -> str:
    if parameter.default is inspect.Parameter.empty:
        return "required"
    value = parameter.default
    text = json.dumps(value) if isinstance(value, str) else repr(value)
    return f"`{text}`"


@pytest.mark.parametrize("name", NAMES)
def test_tables_follow_the_python_signature(name):
    """The Inputs/Outputs tables list every parameter of the function, with its default.

    Proves: reading the component function's own signature (not the KFP spec the
    generator uses), every plain or ``Input[...]`` parameter is an input row with the
    signature's default, every ``Output[...]`` parameter is an output row, a return
    annotation gives the return-value row, and every Raises entry has an item.

    Cannot prove the descriptions are accurate.
    """
    component = _docs.load_component(name)
    readme = _docs.render_readme(name)
    inputs, outputs = _rows(readme, "Inputs"), _rows(readme, "Outputs")
    signature = inspect.signature(component.python_func)
    hints = typing.get_type_hints(component.python_func, include_extras=True)
    expected_outputs = {
        key
        for key, hint in hints.items()
        if typing.get_origin(hint) is typing.Annotated and OutputAnnotation in typing.get_args(hint)
    }
    for key, parameter in signature.parameters.items():
        if key in expected_outputs:
            continue
        assert key in inputs, f"{name}: input {key} missing from the README"
        assert inputs[key][1] == _expected_default(parameter), (name, key)
    assert set(inputs) == set(signature.parameters) - expected_outputs, name
    named_outputs = {k for k in outputs if not k.startswith("return value")}
    assert named_outputs == expected_outputs, name
    has_return = signature.return_annotation not in (inspect.Signature.empty, None)
    assert any(k.startswith("return value") for k in outputs) is has_return, name
    raises = component.python_func.__doc__.split("Raises:", 1)[1]
    documented = [
        line.split(":", 1)[0].strip()
        for line in raises.splitlines()
        if line.startswith(" " * 8) and not line.startswith(" " * 12) and ":" in line
    ]
    for error in documented:
        assert f"- **{error}**:" in readme, (name, error)


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def _undocumented_probe(rows: int, seed: int = 0, *, sample: Output[Dataset]) -> str:  # noqa: D417
    """Writes a sample.

    Args:
        rows: How many rows.
        sample: The sample.

    Returns:
        Where it went.

    Raises:
        ValueError: For a negative ``rows``.
    """
    return sample.path


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def _no_raises_probe(rows: int) -> str:
    """Counts.

    Args:
        rows: How many rows.

    Returns:
        The count.
    """
    return str(rows)


def test_generator_refuses_an_incomplete_docstring():
    """A parameter without an Args entry, or no Raises section, is an error naming it.

    Proves: the generator does not write a README with a silent gap: `seed` missing from
    Args and a missing Raises section are both refused with the component's name.

    Cannot prove every Google-docstring mistake is caught (docstring_parser decides).
    """
    with pytest.raises(_docs.ComponentDocError, match=r"probe.*\['seed'\]"):
        _docs.render_readme("probe", _undocumented_probe)
    with pytest.raises(_docs.ComponentDocError, match="no Raises section"):
        _docs.render_readme("probe", _no_raises_probe)


def test_stale_and_missing_readmes_are_reported(tmp_path: Path):
    """`stale_readmes` names a README that differs from the rendering, and a missing one.

    Proves: in a copy of two component folders, an edited README and a deleted README
    are both reported, and the untouched one is not; so ``--check`` can fail.

    Cannot prove anything about components outside the copy.
    """
    for name in ("get_features", "materialize_features", "train_model"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "component.py").write_text("", encoding="utf-8")
        (folder / "README.md").write_text(_docs.render_readme(name), encoding="utf-8")
    edited = tmp_path / "get_features" / "README.md"
    edited.write_text(edited.read_text(encoding="utf-8") + "hand edit\n", encoding="utf-8")
    (tmp_path / "train_model" / "README.md").unlink()
    assert _docs.stale_readmes(tmp_path) == [edited, tmp_path / "train_model" / "README.md"]
