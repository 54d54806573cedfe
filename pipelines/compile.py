"""Compile every pipeline to `dist/<pipeline>-<version>.yaml`.

A compiled YAML is a release artifact: it carries the suite version in its file
name, its description and every image tag, and the tests run it back locally.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from components._version import suite_version
from pipelines.config import FEATURE_REPO, PipelineConfig


def pipeline_factories() -> dict[str, Callable]:
    """Returns pipeline short name -> factory taking a `PipelineConfig`."""
    from pipelines.monitoring import build_monitoring_pipeline
    from pipelines.training import build_training_pipeline

    return {"training": build_training_pipeline, "monitoring": build_monitoring_pipeline}


def compiled_path(
    out_dir: Path, pipeline: str, version: str | None = None, prefix: str = ""
) -> Path:
    """Returns where a pipeline is compiled to: ``<out_dir>/[<prefix>-]<pipeline>-<version>.yaml``.

    Args:
        out_dir: Output directory, usually `dist/`.
        pipeline: ``training`` or ``monitoring``.
        version: Suite version; default: this checkout's.
        prefix: The repo's pipeline prefix; "" for the default feature repo.
    """
    stem = f"{prefix}-{pipeline}" if prefix else pipeline
    return Path(out_dir) / f"{stem}-{version or suite_version()}.yaml"


def compile_all(out_dir: Path, config: PipelineConfig | None = None) -> dict[str, Path]:
    """Compiles every pipeline.

    Args:
        out_dir: Output directory (created if missing), usually `dist/`.
        config: Pipeline configuration; default: read from `feature_repo/`.

    Returns:
        Pipeline short name -> compiled file.
    """
    from kfp import compiler

    default = config is None or config.suite.repo_path.resolve() == FEATURE_REPO.resolve()
    config = config or PipelineConfig.from_repo()
    prefix = "" if default else config.suite.pipeline_prefix
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, factory in pipeline_factories().items():
        path = compiled_path(out_dir, name, prefix=prefix)
        compiler.Compiler().compile(factory(config), str(path))
        written[name] = path
    return written
