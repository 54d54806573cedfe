"""Which suite image each component runs in.

One Dockerfile builds one image per dependency group (its `--target`); every
image is tagged with the suite version, never `:latest`. The registry prefix is
read from `SUITE_IMAGE_REGISTRY` when `image_for` is called, so a user pushing
to their own registry recompiles with that variable set.
"""

from __future__ import annotations

import os

from components._version import suite_version

DEFAULT_REGISTRY = "ghcr.io/kfp-mlops-suite"

# Dependency group -> what it installs from the lock (see Dockerfile and requirements/).
COMPONENT_GROUPS: dict[str, str] = {
    "validate_data": "data",
    "get_features": "data",
    "get_live_window": "data",
    "materialize_features": "data",
    "train_model": "train",
    "evaluate_model": "train",
    "register_model": "train",
    "check_drift": "train",
    "estimate_performance": "train",
    "join_labels": "train",
    "compare_shadow": "train",
    "decide_retrain": "train",
    "validate_serving": "serve",
    "deploy_model": "serve",
}


def image_for(component: str, registry: str | None = None) -> str:
    """Returns the image reference a component runs in.

    Args:
        component: Component name, e.g. ``"train_model"``.
        registry: Registry prefix; defaults to `SUITE_IMAGE_REGISTRY` or the
            project's public registry.

    Raises:
        KeyError: If the component has no image group.
    """
    if component not in COMPONENT_GROUPS:
        raise KeyError(
            f"component {component!r} has no image group; known: {sorted(COMPONENT_GROUPS)}"
        )
    prefix = registry or os.environ.get("SUITE_IMAGE_REGISTRY", DEFAULT_REGISTRY)
    return f"{prefix.rstrip('/')}/suite-{COMPONENT_GROUPS[component]}:{suite_version()}"
