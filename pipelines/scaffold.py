"""Scaffold a new component: ``make component NAME=<snake_name> [GROUP=data|train|serve]``.

Writes the fixed files every component has, already following the component contract
(``components/_contract.py``): a config dataclass, a result implementing the protocol,
``core.run``, a uniform ``component.py`` wrapper that publishes through the shared
helper, the image entry in ``components/_images.py``, a unit test of the core and a
kfp.local test of the component. The example logic (repeat a message) runs and its
tests pass as generated; replace it with the component's own.
"""

from __future__ import annotations

import argparse
import keyword
import re
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GROUPS = ("data", "train", "serve")
_NAME = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_GROUPS_END = "\n}\n"

INIT = '''"""The `{name}` component: `core.run` is its logic, `component.py` its KFP wrapper.

Import the component from `components.{name}.component`. This file imports nothing,
so importing `core` inside a running task never imports kfp (under `_KFP_RUNTIME`,
`kfp.dsl` has no `component` decorator).
"""
'''

CORE = '''"""{title}: the logic of the `{name}` component (no kfp import).

Scaffolded by ``make component NAME={name}``: the example repeats a message. Replace
the config fields, the result and `run` with the component's own; keep the shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class {camel}Config:
    """What `run` does.

    Attributes:
        message: The text to repeat.
        repeat: How many times (at least 1).
    """

    message: str = "hello"
    repeat: int = 1

    def __post_init__(self) -> None:
        if self.repeat < 1:
            raise ValueError(f"repeat must be at least 1, got {{self.repeat}}")


@dataclass(frozen=True)
class {camel}Result:
    """What `run` produced (implements `components._contract.ComponentResult`).

    Attributes:
        text: The repeated message.
        repeat: How many times it was repeated.
    """

    text: str
    repeat: int

    def metrics(self) -> dict[str, float]:
        """Returns ``characters`` and ``repeat``."""
        return {{"characters": float(len(self.text)), "repeat": float(self.repeat)}}

    def metadata(self) -> dict[str, Any]:
        """Returns the artifact metadata: the length of the text."""
        return {{"characters": len(self.text)}}

    def report(self) -> dict[str, Any]:
        """Returns the JSON report: the text and the repeat count."""
        return {{"text": self.text, "repeat": self.repeat}}

    def return_value(self) -> str:
        """Returns the text (the component's one return value)."""
        return self.text


def run(config: {camel}Config) -> {camel}Result:
    """The component's work.

    Args:
        config: What to do.
    """
    text = " ".join([config.message] * config.repeat)
    print(f"[suite] {name}: {{len(text)}} characters", flush=True)
    return {camel}Result(text, config.repeat)
'''

COMPONENT = '''"""KFP component: {title} (thin wrapper over `components.{name}.core.run`)."""

from kfp import dsl
from kfp.dsl import Artifact, Metrics, Output

from components._images import image_for


@dsl.component(base_image=image_for("{name}"), install_kfp_package=False)
def {name}(
    message: str = "hello",
    repeat: int = 1,
    *,
    metrics: Output[Metrics],
    report: Output[Artifact],
) -> str:
    """Repeats a message (scaffolded example: replace with what the step does).

    Args:
        message: The text to repeat.
        repeat: How many times (at least 1).
        metrics: ``characters`` and ``repeat``.
        report: The JSON report (text and repeat count).

    Returns:
        The repeated message.

    Raises:
        ValueError: If ``repeat`` is less than 1.
    """
    from components._contract import publish
    from components.{name}.core import {camel}Config, run

    result = run({camel}Config(message, repeat))
    publish(result, metrics=metrics, metadata=[report], report=report)
    return result.return_value()
'''

UNIT_TEST = '''"""`components.{name}.core.run` on its own (no KFP)."""

import pytest

from components._contract import ComponentResult
from components.{name}.core import {camel}Config, run


def test_run_repeats_the_message():
    """The result holds the message repeated, and its metrics count it.

    Proves: the text equals a join computed here, the metrics count its characters,
    and the result implements the component-result protocol. Cannot prove the KFP
    wiring (tests/components/test_{name}.py does).
    """
    result = run({camel}Config("ab", 3))
    expected = " ".join(["ab", "ab", "ab"])
    assert result.return_value() == expected
    assert result.metrics() == {{"characters": float(len(expected)), "repeat": 3.0}}
    assert isinstance(result, ComponentResult)


def test_bad_repeat_is_refused_by_name():
    """A repeat below 1 is an error naming the parameter.

    Proves: the config validates its input. Cannot prove other bad inputs are caught.
    """
    with pytest.raises(ValueError, match="repeat must be at least 1"):
        {camel}Config("ab", 0)
'''

COMPONENT_TEST = '''"""`{name}` through kfp.local (SubprocessRunner in the dev venv)."""

import json
from pathlib import Path

from kfp import local

from components.{name}.component import {name}


def test_component_returns_and_publishes_its_result(tmp_path):
    """The task runs in its own process and publishes through the shared helper.

    Proves: the compiled component runs under SubprocessRunner(use_venv=False), returns
    the repeated message, logs its metrics and writes the JSON report with the artifact
    metadata. Cannot prove the image runs it on a cluster.
    """
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))
    task = {name}(message="ab", repeat=3)

    assert task.outputs["Output"] == "ab ab ab"
    assert task.outputs["metrics"].metadata == {{"characters": 8.0, "repeat": 3.0}}
    report = json.loads(Path(task.outputs["report"].path).read_text(encoding="utf-8"))
    assert report == {{"text": "ab ab ab", "repeat": 3}}
    assert task.outputs["report"].metadata == {{"characters": 8}}
'''


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def render(name: str) -> dict[str, str]:
    """Returns the new files of component `name`, by path relative to the repo root.

    Args:
        name: The component's snake_case name (a verb phrase, e.g. ``score_batch``).

    Raises:
        ValueError: If `name` is not a snake_case Python identifier.
    """
    if not _NAME.match(name) or keyword.iskeyword(name):
        raise ValueError(f"NAME={name!r}: expected a snake_case name such as score_batch")
    values = {"name": name, "camel": _camel(name), "title": name.replace("_", " ").capitalize()}
    return {
        f"components/{name}/__init__.py": INIT.format(**values),
        f"components/{name}/core.py": CORE.format(**values),
        f"components/{name}/component.py": COMPONENT.format(**values),
        f"tests/unit/{name}/test_core.py": UNIT_TEST.format(**values),
        f"tests/components/test_{name}.py": COMPONENT_TEST.format(**values),
    }


def add_image_entry(images_source: str, name: str, group: str) -> str:
    """Returns ``components/_images.py``'s source with `name` added to COMPONENT_GROUPS.

    Args:
        images_source: The current source of ``components/_images.py``.
        name: The component.
        group: Its dependency group (image).

    Raises:
        ValueError: If the group is unknown or the mapping cannot be found.
    """
    if group not in GROUPS:
        raise ValueError(f"GROUP={group!r}: expected one of {GROUPS}")
    start = images_source.find("COMPONENT_GROUPS: dict[str, str] = {")
    end = images_source.find(_GROUPS_END, start)
    if start < 0 or end < 0:
        raise ValueError("components/_images.py has no COMPONENT_GROUPS mapping to extend")
    return f'{images_source[:end]}\n    "{name}": "{group}",{images_source[end:]}'


def scaffold(name: str, group: str = "train", root: Path = ROOT) -> list[Path]:
    """Writes a new component's files under `root` and registers its image.

    Args:
        name: The component's snake_case name.
        group: Dependency group (image) it runs in: data, train or serve.
        root: Repository root.

    Returns:
        The files written (the image mapping included).

    Raises:
        ValueError: If the name is invalid, the group unknown, or the component exists.
    """
    files = render(name)
    if (root / "components" / name).exists():
        raise ValueError(f"components/{name} already exists")
    images = root / "components" / "_images.py"
    new_images = add_image_entry(images.read_text(encoding="utf-8"), name, group)
    written = []
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    images.write_text(new_images, encoding="utf-8")
    return [*written, images]


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m pipelines.scaffold NAME [--group G] [--root DIR]``.

    Args:
        argv: Arguments (defaults to ``sys.argv[1:]``).

    Returns:
        Exit code: 0 when written, 2 on a bad name, group or existing component.
    """
    parser = argparse.ArgumentParser(prog="python -m pipelines.scaffold")
    parser.add_argument("name", help="snake_case component name, e.g. score_batch")
    parser.add_argument("--group", default="train", choices=GROUPS, help="image group")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root")
    args = parser.parse_args(argv)
    try:
        written = scaffold(args.name, args.group, args.root)
    except ValueError as error:
        print(f"make component: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path.relative_to(args.root)}")
    print(
        f"next: replace the example in components/{args.name}/core.py, then run "
        f"pytest tests/unit/{args.name} tests/components/test_{args.name}.py"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
