"""Single source of the suite version: `VERSION` (semver) plus the git short SHA.

The version is stamped into compiled pipeline file names and descriptions, every
component image tag, the KFP pipeline version name and MLflow tags. Nothing here
runs at import time; callers ask for the version when they need it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VERSION_FILE = REPO_ROOT / "VERSION"
LOCK_FILE = REPO_ROOT / "requirements.txt"


def base_version() -> str:
    """Returns the semver in `VERSION`, e.g. ``0.1.0``."""
    return VERSION_FILE.read_text(encoding="utf-8").strip()


@functools.cache
def git_short_sha() -> str | None:
    """Returns the checkout's short commit SHA, or None outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=8", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def suite_version() -> str:
    """Returns the full suite version, e.g. ``0.1.0-3f2a9c1d``.

    `SUITE_VERSION` in the environment wins (images are built with it set, since
    they carry no git metadata). The result is a valid container image tag.
    """
    override = os.environ.get("SUITE_VERSION")
    if override:
        return override
    sha = git_short_sha()
    return f"{base_version()}-{sha}" if sha else base_version()


@functools.cache
def lock_sha256() -> str:
    """Returns ``sha256:<hex>`` of the dependency lock `requirements.txt`, or "" without one.

    The dev venv and every image are installed from this one file (images copy it to
    /app), so its hash names the exact set of library versions a model was built with.
    """
    try:
        return "sha256:" + hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()
    except OSError:
        return ""
