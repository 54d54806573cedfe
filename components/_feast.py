"""Feast plumbing shared by `get_features` and `materialize_features`.

- `open_store`: a `FeatureStore` for a repo path, with the cluster yaml selectable by
  `FEAST_FS_YAML_FILE_PATH` and a loud error for unset `${VAR}`s in it.
- `apply_repo`: the `feast apply` equivalent via the Python API (`copy_repo` and
  `set_offline_store` prepare repo copies for tests and benchmarks).

The ASOF offline store plug-in is `components._feast_asof` (feature_store.yaml names it
in ``offline_store.type``). Feast is imported inside functions here (it costs ~5 s).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from feast import FeatureStore

# Read by feature_repo/definitions.py: directory or s3:// prefix of the parquet sources.
SOURCE_DIR_ENV = "FEAST_SOURCE_DIR"
# Feast's own variable naming the feature_store.yaml to use instead of the default.
FS_YAML_ENV = "FEAST_FS_YAML_FILE_PATH"
# The checkout's feature repo (tests, benchmarks and `make run` copy or apply it).
DEFAULT_REPO = Path(__file__).resolve().parent.parent / "feature_repo"

_UNSET_VAR = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def store_yaml_path(repo_path: str | Path) -> Path:
    """Returns the feature_store.yaml a store for this repo reads.

    `FEAST_FS_YAML_FILE_PATH` wins (a relative value is taken relative to the repo,
    not to the working directory, so a task's cwd does not matter); otherwise the
    repo's `feature_store.yaml`.

    Args:
        repo_path: The feature repo directory.
    """
    override = os.environ.get(FS_YAML_ENV)
    if not override:
        return Path(repo_path) / "feature_store.yaml"
    path = Path(override).expanduser()
    return path if path.is_absolute() else Path(repo_path) / path


def open_store(repo_path: str | Path) -> FeatureStore:
    """Opens the Feast store of a feature repo.

    Args:
        repo_path: The feature repo directory.

    Raises:
        FileNotFoundError: If the yaml does not exist.
        ValueError: If the yaml names environment variables that are not set (Feast
            would otherwise keep the literal ``${VAR}`` and fail far from the cause).
    """
    from feast import FeatureStore

    yaml_path = store_yaml_path(repo_path)
    if not yaml_path.is_file():
        raise FileNotFoundError(f"no Feast config at {yaml_path}")
    text = "\n".join(
        line.split("#", 1)[0] for line in yaml_path.read_text(encoding="utf-8").splitlines()
    )
    unset = sorted(
        {a or b for a, b in _UNSET_VAR.findall(text)} - {k for k, v in os.environ.items() if v}
    )
    if unset:
        raise ValueError(f"{yaml_path} needs environment variables that are not set: {unset}")
    return FeatureStore(repo_path=str(Path(repo_path).resolve()), fs_yaml_file=yaml_path)


def copy_repo(
    destination: str | Path, source: str | Path = DEFAULT_REPO, *, refresh: bool = False
) -> Path:
    """Copies a feature repo's definitions and config, without its local state (data/).

    Args:
        destination: Directory to create (must not exist unless `refresh`).
        refresh: Overwrite the definitions of an existing copy, keeping its local state.
        source: Feature repo to copy; default the checkout's `feature_repo/`.

    Returns:
        The new repo directory.
    """
    ignore = shutil.ignore_patterns("data", "__pycache__", "*.pyc")
    return Path(shutil.copytree(source, destination, ignore=ignore, dirs_exist_ok=refresh))


def set_offline_store(repo_path: str | Path, offline_type: str) -> None:
    """Switches a repo copy's feature_store.yaml to another offline store type.

    Used to compare stores on the same repo (tests, `bench.features`): e.g. ``duckdb``
    (Feast's stock DuckDB store) or ``file`` (dask). Rewrites the yaml, dropping comments.

    Args:
        repo_path: The feature repo directory (a copy: the file is rewritten).
        offline_type: The Feast ``offline_store.type``.
    """
    path = Path(repo_path) / "feature_store.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["offline_store"] = {"type": offline_type}
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


@contextlib.contextmanager
def _env(name: str, value: str | None) -> Iterator[None]:
    """Sets an environment variable for the duration of the block (None: leave as is)."""
    if value is None:
        yield
        return
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def load_definitions(repo_path: str | Path, source_dir: str | None = None) -> Any:
    """Loads the Feast objects defined in a repo's Python files, as `feast apply` would.

    Files are loaded by path under a name unique to the file, so two copies of the same
    repo (tests copy it to tmp dirs) never share a cached module, and `sys.path` is not
    touched. `.feastignore` is honoured. Definition files must not import each other.

    Args:
        repo_path: The feature repo directory.
        source_dir: If given, `FEAST_SOURCE_DIR` while the files run (where the parquet
            sources live); otherwise the environment's value or the repo default.

    Returns:
        A `feast.repo_contents.RepoContents` (its `projects` is filled by `apply_repo`).
    """
    from feast import Entity, FeatureService, FeatureView
    from feast.data_source import DataSource
    from feast.repo_contents import RepoContents
    from feast.repo_operations import get_repo_files

    contents = RepoContents(
        projects=[],
        data_sources=[],
        feature_views=[],
        on_demand_feature_views=[],
        stream_feature_views=[],
        entities=[],
        feature_services=[],
        permissions=[],
    )
    buckets = [
        (FeatureView, contents.feature_views),
        (DataSource, contents.data_sources),
        (Entity, contents.entities),
        (FeatureService, contents.feature_services),
    ]
    with _env(SOURCE_DIR_ENV, source_dir):
        for file in get_repo_files(Path(repo_path).resolve()):
            digest = hashlib.sha256(str(file).encode()).hexdigest()[:12]
            spec = importlib.util.spec_from_file_location(f"_feast_repo_{digest}", file)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot load feature definitions from {file}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            for obj in vars(module).values():
                for kind, bucket in buckets:
                    if isinstance(obj, kind) and not any(obj is seen for seen in bucket):
                        bucket.append(obj)
                        break
    for view in contents.feature_views:
        if not any(view.batch_source is seen for seen in contents.data_sources):
            contents.data_sources.append(view.batch_source)
    return contents


def _drop_stale_sources(store: FeatureStore, contents: Any) -> list[str]:
    """Removes registered file sources whose format differs from the definitions.

    `feast apply` cannot update a FileSource's `file_format` in an existing registry
    (its diff crashes on, or ignores, the change) and the DuckDB store then reads None.
    Deleting the source, the views built on it and the services using those views
    (they embed the views' sources) lets the apply recreate them.

    Returns:
        The names of the deleted registry objects.
    """
    from feast.errors import DataSourceObjectNotFoundException

    stale: set[str] = set()
    for source in contents.data_sources:
        name = source.name
        with contextlib.suppress(DataSourceObjectNotFoundException):
            registered = store.registry.get_data_source(name, store.project)
            mine, theirs = source.to_proto(), registered.to_proto()
            if mine.file_options.file_format != theirs.file_options.file_format:
                stale.add(name)
    project, registry = store.project, store.registry
    views = {
        view.name
        for view in registry.list_feature_views(project)
        if view.batch_source.name in stale
    }
    services = {
        service.name
        for service in registry.list_feature_services(project)
        if any(p.name in views for p in service.feature_view_projections)
    }
    deleted = []
    for kind, names, delete in [
        ("feature service", services, registry.delete_feature_service),
        ("feature view", views, registry.delete_feature_view),
        ("data source", stale, registry.delete_data_source),
    ]:
        for name in sorted(names):
            delete(name, project)
            deleted.append(f"{kind} {name}")
    return deleted


def apply_repo(repo_path: str | Path, source_dir: str | None = None) -> dict[str, list[str]]:
    """Registers a feature repo's definitions and creates its online tables (`feast apply`).

    Objects removed from the definitions are removed from the registry, as with the CLI.

    Args:
        repo_path: The feature repo directory.
        source_dir: Where the parquet sources live (see `load_definitions`).

    Returns:
        The applied object names by kind (`entities`, `data_sources`, `feature_views`,
        `feature_services`) plus `repaired`: registry objects dropped and recreated
        because their file format changed.
    """
    from feast import Project
    from feast.repo_operations import apply_total_with_repo_instance

    store = open_store(repo_path)
    contents = load_definitions(repo_path, source_dir)
    contents.projects.append(Project(name=store.project))
    repaired = _drop_stale_sources(store, contents)
    apply_total_with_repo_instance(
        store, store.project, store.registry, contents, skip_source_validation=False
    )
    return {
        "entities": sorted(e.name for e in contents.entities),
        "data_sources": sorted(s.name for s in contents.data_sources),
        "feature_views": sorted(v.name for v in contents.feature_views),
        "feature_services": sorted(s.name for s in contents.feature_services),
        "repaired": repaired,
    }
