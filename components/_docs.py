"""Generate each component's README.md from its KFP component: docstring and component spec.

``python -m components._docs`` (``make component-docs``) writes
``components/<name>/README.md`` for every component folder; ``--check`` writes nothing
and exits 1 naming the READMEs that are stale. What a README says comes from two
places only, so it cannot drift from the code:

- the component function's Google-style docstring (summary, description, ``Args``,
  ``Returns``, ``Raises``), parsed with docstring_parser (the parser KFP itself uses);
- the compiled component spec (``component.component_spec``): each input and output,
  its KFP type, its default and whether it is an input or an output.

A component whose docstring misses an input, an output, its return value or a
``Raises`` section is refused with an error naming the component and what is missing.
The output is deterministic: the same code gives the same bytes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMPONENTS_DIR = Path(__file__).resolve().parent
_CODE_SPAN = re.compile(r"(``.+?``|`[^`]+`)")
RETURN_OUTPUT = "Output"  # the name KFP gives a component's single return value
_PARAMETER_TYPES = {
    "String": "str",
    "Integer": "int",
    "Float": "float",
    "Boolean": "bool",
    "List": "list",
    "Struct": "dict",
}


class ComponentDocError(ValueError):
    """A component's docstring does not document what its README must say."""


@dataclass(frozen=True)
class Port:
    """One documented input or output of a component."""

    name: str
    type: str
    default: str  # "required" for an input without a default; "" for outputs
    description: str


def component_names(root: Path = COMPONENTS_DIR) -> list[str]:
    """The component folders under ``root``: ``<name>/component.py``, not ``_private``."""
    return sorted(
        path.parent.name
        for path in root.glob("*/component.py")
        if not path.parent.name.startswith("_")
    )


def load_component(name: str) -> Any:
    """Imports ``components.<name>.component`` and returns its KFP component ``<name>``."""
    module = importlib.import_module(f"components.{name}.component")
    try:
        return getattr(module, name)
    except AttributeError:
        raise ComponentDocError(
            f"components/{name}/component.py does not define the component {name!r}"
        ) from None


def _one_line(text: str | None) -> str:
    """One Markdown line: whitespace collapsed, ``|`` escaped, ``<x>`` kept outside code."""
    flat = " ".join((text or "").split()).replace("|", "\\|")
    # Odd parts are code spans; elsewhere <name> would read as an HTML tag.
    parts = _CODE_SPAN.split(flat)
    return "".join(
        part if i % 2 else part.replace("<", "&lt;").replace(">", "&gt;")
        for i, part in enumerate(parts)
    )


def _type_name(kfp_type: str, *, output: bool) -> str:
    if kfp_type in _PARAMETER_TYPES:
        return _PARAMETER_TYPES[kfp_type]
    artifact = kfp_type.split("@", 1)[0].removeprefix("system.")
    return f"{'Output' if output else 'Input'}[{artifact}]"


def _default(spec: Any) -> str:
    if not spec.optional:
        return "required"
    if spec.default is None:
        return "`None`"
    if isinstance(spec.default, str | list | dict):
        return f"`{json.dumps(spec.default)}`"
    return f"`{spec.default!r}`"


def _parse(name: str, component: Any) -> tuple[Any, dict[str, str]]:
    import docstring_parser

    doc = component.python_func.__doc__
    if not doc:
        raise ComponentDocError(f"component {name!r} has no docstring")
    parsed = docstring_parser.parse(doc, docstring_parser.DocstringStyle.GOOGLE)
    params = {p.arg_name: p.description or "" for p in parsed.params}
    return parsed, params


def ports(name: str, component: Any) -> tuple[list[Port], list[Port], Any]:
    """The component's inputs and outputs with their docs, and the parsed docstring.

    Raises:
        ComponentDocError: When an input or output has no ``Args`` entry, a return value
            has no ``Returns`` section, or the docstring has no ``Raises`` section.
    """
    spec = component.component_spec
    parsed, params = _parse(name, component)
    missing = [
        port
        for port in [*spec.inputs, *spec.outputs]
        if port != RETURN_OUTPUT and port not in params
    ]
    if missing:
        raise ComponentDocError(
            f"component {name!r}: the docstring's Args section does not describe {missing}"
        )
    if RETURN_OUTPUT in spec.outputs and not (parsed.returns and parsed.returns.description):
        raise ComponentDocError(f"component {name!r} returns a value but has no Returns section")
    if not parsed.raises:
        raise ComponentDocError(
            f"component {name!r} has no Raises section: list the errors the step can fail "
            "with and why"
        )
    inputs = [
        Port(key, _type_name(value.type, output=False), _default(value), _one_line(params[key]))
        for key, value in spec.inputs.items()
    ]
    outputs = []
    for key, value in spec.outputs.items():
        returned = key == RETURN_OUTPUT
        label = f"return value (`{key}`)" if returned else f"`{key}`"
        text = parsed.returns.description if returned else params[key]
        kind = _type_name(value.type, output=not returned)
        outputs.append(Port(label, kind, "", _one_line(text)))
    return inputs, outputs, parsed


def render_readme(name: str, component: Any | None = None) -> str:
    """Returns the README.md text of component ``name``.

    Raises:
        ComponentDocError: See `ports`.
    """
    from components._images import COMPONENT_GROUPS

    component = component if component is not None else load_component(name)
    inputs, outputs, parsed = ports(name, component)
    lines = [
        f"# {name}",
        "",
        f"<!-- Generated by `make component-docs` (python -m components._docs) from the "
        f"docstring and the KFP spec of components/{name}/component.py; edit those. -->",
        "",
        _one_line(parsed.short_description),
        "",
    ]
    if parsed.long_description:
        paragraphs = parsed.long_description.split("\n\n")
        lines += [p for paragraph in paragraphs for p in (" ".join(paragraph.split()), "")]
    group = COMPONENT_GROUPS.get(name)
    image = f"; image `suite-{group}`" if group else ""
    lines += [
        f"Logic in [`core.py`](core.py), KFP wrapper in [`component.py`](component.py){image}.",
        "",
        "## Inputs",
        "",
        "| name | type | default | description |",
        "|---|---|---|---|",
        *(f"| `{p.name}` | `{p.type}` | {p.default} | {p.description} |" for p in inputs),
        "",
        "## Outputs",
        "",
        "| name | type | description |",
        "|---|---|---|",
        *(f"| {p.name} | `{p.type}` | {p.description} |" for p in outputs),
        "",
        "## What can fail",
        "",
        *(f"- **{r.type_name}**: {_one_line(r.description)}" for r in parsed.raises),
        "",
    ]
    return "\n".join(lines)


def readme_path(name: str, root: Path = COMPONENTS_DIR) -> Path:
    """Where component ``name``'s README lives."""
    return root / name / "README.md"


def stale_readmes(root: Path = COMPONENTS_DIR) -> list[Path]:
    """The READMEs whose text differs from what `render_readme` gives now (or missing)."""
    stale = []
    for name in component_names(root):
        path = readme_path(name, root)
        if not path.is_file() or path.read_text(encoding="utf-8") != render_readme(name):
            stale.append(path)
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    """Writes (or with ``--check`` compares) every component README; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m components._docs", description=__doc__)
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_readmes()
        for path in stale:
            print(f"[suite] stale: {path.relative_to(COMPONENTS_DIR.parent)}", flush=True)
        if stale:
            print("[suite] regenerate with: make component-docs", flush=True)
        return 1 if stale else 0
    for name in component_names():
        path = readme_path(name)
        text = render_readme(name)
        changed = not path.is_file() or path.read_text(encoding="utf-8") != text
        if changed:
            path.write_text(text, encoding="utf-8")
        state = "written" if changed else "unchanged"
        print(f"[suite] {path.relative_to(COMPONENTS_DIR.parent)}: {state}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
