"""Static checks that the Dockerfile, requirements/ and components/_images.py agree.

This machine has no Docker engine, so nothing here builds an image. These tests
read the Dockerfile as text (a small parser: continuation lines joined, heredoc
bodies kept with their instruction) and compare it with the image mapping and the
lock. What they cannot prove: that the build succeeds, that the installed packages
import inside the image, or that MLServer starts in the serve image.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from components._images import COMPONENT_GROUPS, image_for
from components._version import suite_version

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
LOCK = REPO / "requirements.txt"
GROUP_DIR = REPO / "requirements"


@dataclass
class Stage:
    """One `FROM ... AS name` block of the Dockerfile."""

    name: str
    parent: str
    instructions: list[tuple[str, str]] = field(default_factory=list)


def _logical_lines(text: str) -> list[str]:
    """Joins continuation lines and folds heredoc bodies into their instruction."""
    lines: list[str] = []
    pending = ""
    heredoc_end: str | None = None
    for raw in text.splitlines():
        if heredoc_end is not None:
            lines[-1] += "\n" + raw
            if raw.strip() == heredoc_end:
                heredoc_end = None
            continue
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
        marker = re.search(r"<<-?'?\"?(\w+)'?\"?", stripped)
        if marker and stripped.split()[0].upper() in {"RUN", "COPY"}:
            heredoc_end = marker.group(1)
    return lines


def _parse() -> tuple[dict[str, str], list[Stage]]:
    """Returns the global ARG defaults and the stages in order."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in _logical_lines(DOCKERFILE.read_text(encoding="utf-8")):
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            match = re.fullmatch(r"(\S+)\s+AS\s+(\S+)", rest.strip(), flags=re.IGNORECASE)
            assert match, f"every FROM must name its stage: {line!r}"
            stages.append(Stage(name=match.group(2), parent=match.group(1)))
        elif not stages and instruction == "ARG":
            name, _, default = rest.strip().partition("=")
            global_args[name] = default
        else:
            assert stages, f"instruction before the first FROM: {line!r}"
            stages[-1].instructions.append((instruction, rest.strip()))
    return global_args, stages


def _by_name() -> dict[str, Stage]:
    return {stage.name: stage for stage in _parse()[1]}


def _lineage(name: str) -> list[Stage]:
    """Returns the stage and its ancestors, nearest first."""
    stages = _by_name()
    chain = []
    while name in stages:
        chain.append(stages[name])
        name = stages[name].parent
    return chain


def _lock_versions() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
        if match:
            pins[_canonical(match.group(1))] = match.group(2)
    return pins


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _group_requirements(group: str) -> list[str]:
    names = []
    for line in (GROUP_DIR / f"{group}.in").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.append(line)
    return names


GROUPS = sorted(set(COMPONENT_GROUPS.values()))


def test_every_component_group_is_a_dockerfile_target():
    """Proves each group in COMPONENT_GROUPS is a named build stage (`--target`).

    Cannot prove the stage builds; only that `docker build --target <group>` names
    an existing stage.
    """
    stages = _by_name()
    missing = [group for group in GROUPS if group not in stages]
    assert not missing, f"groups without a Dockerfile target: {missing}"


@pytest.mark.parametrize("component", sorted(COMPONENT_GROUPS))
def test_every_component_image_is_versioned_and_names_its_group(component, monkeypatch):
    """Proves image_for() gives `<registry>/suite-<group>:<suite version>`, never latest.

    Uses a fixed SUITE_VERSION and registry so the check does not depend on git.
    Cannot prove the image exists in a registry.
    """
    monkeypatch.setenv("SUITE_VERSION", "9.9.9-test")
    monkeypatch.delenv("SUITE_IMAGE_REGISTRY", raising=False)
    image = image_for(component, registry="registry.example/team")
    group = COMPONENT_GROUPS[component]
    assert image == f"registry.example/team/suite-{group}:9.9.9-test"
    assert suite_version() == "9.9.9-test"
    assert not image.endswith(":latest")


@pytest.mark.parametrize("group", GROUPS)
def test_group_target_installs_its_own_input_file_from_the_lock(group):
    """Proves the target's venv is requirements/<group>.in constrained by the lock.

    The venv comes from `suite-install-group <group>`, whose script installs
    `-c requirements.txt -r requirements/<group>.in`. Cannot prove uv resolves the
    same versions at build time (the constraint file makes any other version an
    error, which is what we rely on).
    """
    assert (GROUP_DIR / f"{group}.in").is_file()
    lineage = _lineage(group)
    copies = [
        args
        for stage in lineage
        for instruction, args in stage.instructions
        if instruction == "COPY" and "--from=" in args
    ]
    venv_stage = f"venv-{group}"
    assert any(f"--from={venv_stage} /opt/venv" in args for args in copies), copies
    runs = [
        args for instruction, args in _by_name()[venv_stage].instructions if instruction == "RUN"
    ]
    assert runs == [f"suite-install-group {group}"]
    script = next(
        args
        for stage in _lineage(venv_stage)
        for instruction, args in stage.instructions
        if instruction == "COPY" and "/usr/local/bin/suite-install-group" in args
    )
    assert '-c requirements.txt -r "requirements/${group}.in"' in script
    assert "--no-deps -e /app" in script


@pytest.mark.parametrize("group", GROUPS)
def test_every_group_package_is_pinned_in_the_lock(group):
    """Proves every package named in requirements/<group>.in has a pin in the lock.

    A name missing from the lock would be installed unconstrained (any version);
    this stops that. Cannot prove the group's transitive closure is complete.
    """
    lock = _lock_versions()
    names = [re.split(r"[\[<>=!~ ;]", req, maxsplit=1)[0] for req in _group_requirements(group)]
    assert names, f"requirements/{group}.in is empty"
    missing = [name for name in names if _canonical(name) not in lock]
    assert not missing, f"{group}.in names packages the lock does not pin: {missing}"
    unpinned_here = [req for req in _group_requirements(group) if re.search(r"[<>=!~]", req)]
    assert not unpinned_here, f"versions belong in the lock, not in {group}.in: {unpinned_here}"


def test_every_group_input_file_belongs_to_a_group():
    """Proves requirements/ holds no stale group file that no component uses.

    Cannot prove each group lists every package its components import.
    """
    files = sorted(path.stem for path in GROUP_DIR.glob("*.in"))
    assert files == GROUPS


def test_base_image_is_an_exact_python_311_slim_tag():
    """Proves the base image is pinned to an exact patch tag (no floating 3.11 / latest).

    Cannot prove the tag still exists on the registry.
    """
    global_args, stages = _parse()
    image = global_args["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", image), image
    names = {stage.name for stage in stages}
    external = {stage.parent for stage in stages if stage.parent not in names}
    assert external == {"${PYTHON_IMAGE}"}, external


def test_no_latest_tag_anywhere_in_the_dockerfile():
    """Proves the text `:latest` appears nowhere in the Dockerfile.

    Cannot prove what a tag resolves to on the registry on build day.
    """
    assert ":latest" not in DOCKERFILE.read_text(encoding="utf-8")


@pytest.mark.parametrize("group", GROUPS)
def test_group_images_run_as_a_non_root_user(group):
    """Proves the last USER in each target's lineage is a non-zero numeric uid.

    A numeric uid lets Kubernetes `runAsNonRoot` verify it. Cannot prove file
    permissions inside the built image.
    """
    users = [
        args
        for stage in reversed(_lineage(group))
        for instruction, args in stage.instructions
        if instruction == "USER"
    ]
    assert users, f"{group} never sets USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit(), users[-1]
    assert int(uid) != 0, users[-1]


@pytest.mark.parametrize("group", GROUPS)
def test_group_images_carry_the_suite_version_from_a_build_arg(group):
    """Proves SUITE_VERSION is an ENV set from a build ARG, which suite_version() reads.

    Cannot prove `make images` passes the same version the pipelines are compiled with.
    """
    instructions = [item for stage in reversed(_lineage(group)) for item in stage.instructions]
    assert ("ARG", "SUITE_VERSION") in instructions
    assert ("ENV", "SUITE_VERSION=${SUITE_VERSION}") in instructions


def test_serve_image_exposes_mlserver_ports_and_starts_mlserver():
    """Proves the serve target exposes REST/gRPC/metrics and defaults to `mlserver start`.

    Cannot prove MLServer starts there; tests/unit for the serving runtime run a
    real MLServer from the dev venv instead.
    """
    serve = dict(_by_name()["serve"].instructions)
    assert serve["EXPOSE"].split() == ["8080", "8081", "8082"]
    assert serve["CMD"] == '["mlserver", "start", "/mnt/models"]'
    assert "MLSERVER_METRICS_PORT=8082" in serve["ENV"]


def test_dockerignore_sends_only_the_suite_sources():
    """Proves the build context is an allow-list, so .env, .venv and data never ship.

    Cannot prove Docker's matcher reads the file the same way (no Docker here).
    """
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert {"requirements.txt", "requirements", "components", "pipelines"} <= allowed
    assert not allowed & {".env", ".venv", "manifests", "data", "tests"}
