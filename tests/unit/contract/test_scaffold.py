"""`make component NAME=...`: the scaffold writes a component that compiles and passes its tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipelines.scaffold import ROOT, add_image_entry, main, render

NAME = "score_probe"


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the repo's components/ (and pyproject) with `score_probe` scaffolded in."""
    root = tmp_path_factory.mktemp("repo")
    shutil.copytree(ROOT / "components", root / "components")
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")
    shutil.copy(ROOT / "VERSION", root / "VERSION")
    assert main([NAME, "--group", "data", "--root", str(root)]) == 0
    return root


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    """Runs Python in the copy, so `components` is the copy's package, not the checkout's."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )


def test_scaffold_writes_the_fixed_files_and_the_image_entry(scaffolded):
    """Every file of the component shape is written, and the image mapping has the component.

    Proves: __init__, core and component modules, a unit test and a component test
    exist, and components/_images.py maps the component to the requested group.
    Cannot prove the example logic is meaningful (it is a placeholder by design).
    """
    for relative in render(NAME):
        assert (scaffolded / relative).is_file(), relative
    images = (scaffolded / "components" / "_images.py").read_text(encoding="utf-8")
    assert f'    "{NAME}": "data",\n}}' in images
    probe = _run(
        scaffolded,
        "-c",
        f"from components._images import COMPONENT_GROUPS as g; print(g[{NAME!r}])",
    )
    assert probe.stdout.strip() == "data", probe.stderr


def test_scaffolded_files_pass_the_linters(scaffolded):
    """The generated files pass the repo's ruff rules (lint and format) unchanged.

    Proves: a newcomer starts from lint-clean code (docstrings, import order, line
    length). Cannot prove the code is idiomatic beyond what ruff checks.
    """
    ruff = str(Path(sys.executable).parent / "ruff")
    files = [str(scaffolded / relative) for relative in render(NAME)]
    for command in ([ruff, "check", *files], [ruff, "format", "--check", *files]):
        linted = subprocess.run(command, cwd=scaffolded, capture_output=True, text=True)
        assert linted.returncode == 0, linted.stdout + linted.stderr


def test_scaffolded_component_compiles_into_its_image(scaffolded):
    """The generated component compiles with the KFP compiler into its group's image.

    Proves: kfp's compiler accepts the wrapper (keyword-only outputs, one return value)
    and the executor image is the data group's. Cannot prove the image exists.
    """
    out = scaffolded / "probe.yaml"
    code = (
        "from kfp import compiler\n"
        f"from components.{NAME}.component import {NAME}\n"
        f"compiler.Compiler().compile({NAME}, {str(out)!r})\n"
    )
    compiled = _run(scaffolded, "-c", code)
    assert compiled.returncode == 0, compiled.stderr
    spec = yaml.safe_load(out.read_text(encoding="utf-8"))
    (executor,) = spec["deploymentSpec"]["executors"].values()
    assert "/suite-data:" in executor["container"]["image"]
    assert set(spec["root"]["outputDefinitions"]["artifacts"]) == {"metrics", "report"}


def test_scaffolded_tests_pass(scaffolded):
    """The generated unit test and kfp.local component test pass as generated.

    Proves: the scaffold's core satisfies its unit test and the component, run as a
    kfp.local task in its own process, returns and publishes what its test expects.
    Cannot prove tests a developer writes later will pass.
    """
    result = _run(
        scaffolded,
        "-m",
        "pytest",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "-n",
        "0",
        "-q",
        f"tests/unit/{NAME}/test_core.py",
        f"tests/components/test_{NAME}.py",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout


@pytest.mark.parametrize("name", ["Score", "score-batch", "_private", "class", "2fast", ""])
def test_bad_names_are_refused(name):
    """A name that is not a snake_case identifier is an error naming NAME.

    Proves: the scaffold refuses capitals, dashes, leading underscores, keywords,
    leading digits and empty names. Cannot prove a name is a good verb.
    """
    with pytest.raises(ValueError, match="NAME="):
        render(name)


def test_existing_component_and_unknown_group_are_refused(tmp_path):
    """An existing component is not overwritten and an unknown group is an error.

    Proves: the command exits 2 for a component that exists and `add_image_entry`
    refuses an unknown group. Cannot prove anything about concurrent scaffolds.
    """
    shutil.copytree(ROOT / "components", tmp_path / "components")
    assert main(["train_model", "--root", str(tmp_path)]) == 2
    with pytest.raises(ValueError, match="GROUP='gpu'"):
        add_image_entry("COMPONENT_GROUPS: dict[str, str] = {\n}\n", NAME, "gpu")
