"""Feast plumbing shared by `get_features` and `materialize_features`.

- `open_store`: a `FeatureStore` for a repo path, with the cluster yaml selectable by
  `FEAST_FS_YAML_FILE_PATH` and a loud error for unset `${VAR}`s in it.
- `apply_repo`: the `feast apply` equivalent via the Python API (`copy_repo` and
  `set_offline_store` prepare repo copies for tests and benchmarks).
- `AsofDuckDBOfflineStore`: Feast's DuckDB offline store with the point-in-time join
  written as a DuckDB ``ASOF LEFT JOIN`` (feature_store.yaml selects it by class path):
  same results as the stock store, ~4x faster at 1e6 labels (see bench/features.py).

Feast is imported inside functions (it costs ~5 s). The offline store classes subclass
Feast's, so they are built on first access through a module ``__getattr__`` (which is
how Feast's ``import_class`` reaches them) and importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
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


# Row number column the ASOF store adds to the entity dataframe to keep its order.
ENTITY_ROW = "__entity_row"


def _ident(name: str) -> str:
    """Quotes a SQL identifier for DuckDB."""
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    """Quotes a SQL string literal for DuckDB."""
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class ViewJoin:
    """One feature view's part of a point-in-time join.

    Attributes:
        path: Parquet file, directory, glob or s3:// URI of the view's source.
        keys: (entity dataframe column, source column) pairs to join on.
        timestamp: Source event-timestamp column.
        created: Source created-timestamp column breaking ties, if any.
        ttl_us: Time to live in microseconds; None or 0 means no expiry.
        features: (source column, output column) pairs.
    """

    path: str
    keys: tuple[tuple[str, str], ...]
    timestamp: str
    created: str | None
    ttl_us: int | None
    features: tuple[tuple[str, str], ...]

    def relation(self) -> str:
        """Returns the view's rows as SQL; a created-timestamp column breaks (key, time) ties."""
        location = self.path
        is_dir = os.path.isdir(location) if "://" not in location else False
        if is_dir or ("://" in location and not location.endswith(".parquet")):
            location = location.rstrip("/") + "/**/*.parquet"
        columns = [f"{_ident(src)} AS __k{i}" for i, (_, src) in enumerate(self.keys)]
        columns.append(f"CAST({_ident(self.timestamp)} AS TIMESTAMPTZ) AS __ts")
        columns += [f"{_ident(src)} AS __f{i}" for i, (src, _) in enumerate(self.features)]
        sql = f"SELECT {', '.join(columns)} FROM read_parquet({_literal(location)})"
        if self.created:
            partition = ", ".join([_ident(src) for _, src in self.keys] + [_ident(self.timestamp)])
            sql += (
                f" QUALIFY row_number() OVER (PARTITION BY {partition}"
                f" ORDER BY {_ident(self.created)} DESC) = 1"
            )
        return sql


def asof_join_sql(entity_table: str, entity_timestamp: str, joins: list[ViewJoin]) -> str:
    """Writes Feast's point-in-time join as DuckDB ``ASOF LEFT JOIN``s.

    Semantics match Feast's offline stores: each entity row keeps its columns and gets,
    per view, the features of the latest source row with the same keys and
    ``timestamp <= entity timestamp``; if that row is older than the view's TTL
    (``timestamp + ttl < entity timestamp``) the features are null. Every entity row is
    returned exactly once, in entity-table order (by its `ENTITY_ROW` column, which is
    not returned).

    Args:
        entity_table: Name of the registered entity dataframe, with an `ENTITY_ROW`
            column numbering its rows.
        entity_timestamp: Its event-timestamp column.
        joins: One entry per feature view.
    """
    selects = [f"e.* EXCLUDE (__entity_ts, {ENTITY_ROW})"]
    clauses = [
        f"(SELECT *, CAST({_ident(entity_timestamp)} AS TIMESTAMPTZ) AS __entity_ts"
        f" FROM {_ident(entity_table)}) AS e"
    ]
    for v, join in enumerate(joins):
        alias = f"v{v}"
        on = [f"e.{_ident(col)} = {alias}.__k{i}" for i, (col, _) in enumerate(join.keys)]
        on.append(f"e.__entity_ts >= {alias}.__ts")
        clauses.append(f"ASOF LEFT JOIN ({join.relation()}) AS {alias} ON {' AND '.join(on)}")
        for i, (_, out) in enumerate(join.features):
            value = f"{alias}.__f{i}"
            if join.ttl_us:
                fresh = f"epoch_us({alias}.__ts) + {join.ttl_us} >= epoch_us(e.__entity_ts)"
                value = f"CASE WHEN {fresh} THEN {value} END"
            selects.append(f"{value} AS {_ident(out)}")
    ordering = f"ORDER BY e.{ENTITY_ROW}"
    return f"SELECT {', '.join(selects)}\nFROM " + "\n".join([*clauses, ordering])


def _s3_setup_sql(endpoint: str | None) -> list[str]:
    """Statements letting DuckDB read s3:// sources with the AWS_* environment."""
    options = ["TYPE S3"]
    for option, env in [
        ("KEY_ID", "AWS_ACCESS_KEY_ID"),
        ("SECRET", "AWS_SECRET_ACCESS_KEY"),
        ("REGION", "AWS_DEFAULT_REGION"),
    ]:
        if os.environ.get(env):
            options.append(f"{option} {_literal(os.environ[env])}")
    if endpoint:
        host = endpoint.split("://", 1)[-1].rstrip("/")
        options += [f"ENDPOINT {_literal(host)}", "URL_STYLE 'path'"]
        options.append(f"USE_SSL {str(endpoint.startswith('https')).lower()}")
    secret = f"CREATE OR REPLACE SECRET suite_s3 ({', '.join(options)})"
    return ["INSTALL httpfs", "LOAD httpfs", secret]


def _s3_endpoint(source: Any) -> str | None:
    """The S3 endpoint of a FileSource: its override, else ``FEAST_S3_ENDPOINT_URL``."""
    return source.s3_endpoint_override or os.environ.get("FEAST_S3_ENDPOINT_URL")


@functools.cache
def _offline_store_classes() -> dict[str, type]:
    """Defines the ASOF offline store on top of Feast's DuckDB store (imports Feast)."""
    from datetime import timedelta

    import duckdb
    import ibis
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    from feast.data_format import ParquetFormat
    from feast.infra.offline_stores import duckdb as feast_duckdb
    from feast.infra.offline_stores.file_source import FileSource
    from feast.infra.offline_stores.offline_store import RetrievalJob, RetrievalMetadata
    from feast.infra.offline_stores.offline_utils import infer_event_timestamp_from_entity_df
    from feast.on_demand_feature_view import OnDemandFeatureView
    from pydantic import StrictStr

    class AsofDuckDBOfflineStoreConfig(feast_duckdb.DuckDBOfflineStoreConfig):
        """Config of `AsofDuckDBOfflineStore` (same options as Feast's `duckdb` store)."""

        type: StrictStr = f"{__name__}.AsofDuckDBOfflineStore"

    class AsofRetrievalJob(RetrievalJob):
        """Runs the ASOF join when the result is asked for."""

        def __init__(
            self,
            entity_df: pd.DataFrame,
            sql: str,
            setup: list[str],
            full_feature_names: bool,
            metadata: RetrievalMetadata,
            repo_path: str,
        ) -> None:
            self._entity_df = entity_df
            self._sql = sql
            self._setup = setup
            self._full_feature_names = full_feature_names
            self._metadata = metadata
            self._repo_path = repo_path

        def to_sql(self) -> str:
            return self._sql

        def _to_arrow_internal(self, timeout: int | None = None) -> pa.Table:
            with duckdb.connect() as con:
                con.execute("SET TimeZone = 'UTC'")
                for statement in self._setup:
                    con.execute(statement)
                rows = np.arange(len(self._entity_df), dtype=np.int64)
                con.register("entity_df", self._entity_df.assign(**{ENTITY_ROW: rows}))
                return con.execute(self._sql).arrow()

        def _to_df_internal(self, timeout: int | None = None) -> pd.DataFrame:
            return self._to_arrow_internal(timeout).to_pandas()

        def to_df(self, validation_reference: Any = None, timeout: int | None = None):
            """Like Feast's, minus a full copy (its ``reset_index``) of a fresh frame."""
            if validation_reference is not None:
                return super().to_df(validation_reference, timeout)
            return self._to_df_internal(timeout)

        @property
        def full_feature_names(self) -> bool:
            return self._full_feature_names

        @property
        def on_demand_feature_views(self) -> list[OnDemandFeatureView]:
            return []

        @property
        def metadata(self) -> RetrievalMetadata:
            return self._metadata

        def persist(self, storage: Any, allow_overwrite: bool = False, timeout: int | None = None):
            feast_duckdb._write_data_source(
                ibis.memtable(self.to_arrow()),
                storage.to_data_source(),
                self._repo_path,
                "overwrite",
                allow_overwrite,
            )

    class AsofDuckDBOfflineStore(feast_duckdb.DuckDBOfflineStore):
        """Feast's DuckDB offline store with the point-in-time join as a DuckDB ASOF JOIN.

        Everything but `get_historical_features` is Feast's DuckDB store. Unlike Feast's
        stores it returns rows in entity-dataframe order. Requests this join does not
        cover (an SQL entity query, on-demand views, non-parquet sources) are passed to
        Feast's implementation unchanged. Reads of s3:// sources get DuckDB's httpfs and
        an S3 secret from the ``AWS_*`` variables and ``FEAST_S3_ENDPOINT_URL`` (Feast's
        store relies on DuckDB defaults, which never read those variables).
        """

        @staticmethod
        def pull_latest_from_table_or_query(
            config: Any,
            data_source: Any,
            join_key_columns: list[str],
            feature_name_columns: list[str],
            timestamp_field: str,
            created_timestamp_column: str | None,
            start_date: Any,
            end_date: Any,
        ) -> RetrievalJob:
            """Feast's DuckDB implementation (used by materialization), S3 configured."""
            if isinstance(data_source, FileSource) and data_source.path.startswith("s3://"):
                for statement in _s3_setup_sql(_s3_endpoint(data_source)):
                    ibis.get_backend().raw_sql(statement)
            return feast_duckdb.DuckDBOfflineStore.pull_latest_from_table_or_query(
                config,
                data_source,
                join_key_columns,
                feature_name_columns,
                timestamp_field,
                created_timestamp_column,
                start_date,
                end_date,
            )

        @staticmethod
        def get_historical_features(
            config: Any,
            feature_views: list[Any],
            feature_refs: list[str],
            entity_df: pd.DataFrame | str,
            registry: Any,
            project: str,
            full_feature_names: bool = False,
        ) -> RetrievalJob:
            covered = (
                isinstance(entity_df, pd.DataFrame)
                and not OnDemandFeatureView.get_requested_odfvs(feature_refs, project, registry)
                and all(
                    isinstance(fv.batch_source, FileSource)
                    and isinstance(fv.batch_source.file_format, ParquetFormat)
                    for fv in feature_views
                )
            )
            if not covered:
                return feast_duckdb.DuckDBOfflineStore.get_historical_features(
                    config,
                    feature_views,
                    feature_refs,
                    entity_df,
                    registry,
                    project,
                    full_feature_names,
                )
            timestamp = infer_event_timestamp_from_entity_df(dict(entity_df.dtypes.items()))
            joins = []
            endpoints = set()
            for fv in feature_views:
                source = fv.batch_source
                to_source = {v: k for k, v in source.field_mapping.items()}
                prefix = fv.projection.name_alias or fv.name
                names = [r.split(":", 1)[1] for r in feature_refs if r.startswith(f"{prefix}:")]
                key_map = fv.projection.join_key_map or {}
                joins.append(
                    ViewJoin(
                        path=source.path,
                        keys=tuple(
                            (key_map.get(c.name, c.name), to_source.get(c.name, c.name))
                            for c in fv.entity_columns
                        ),
                        timestamp=source.timestamp_field,
                        created=source.created_timestamp_column or None,
                        ttl_us=fv.ttl // timedelta(microseconds=1) if fv.ttl else None,
                        features=tuple(
                            (to_source.get(n, n), f"{prefix}__{n}" if full_feature_names else n)
                            for n in names
                        ),
                    )
                )
                if source.path.startswith("s3://"):
                    endpoints.add(_s3_endpoint(source))
            if len(endpoints) > 1:
                raise ValueError(f"s3 sources use different endpoints {endpoints}; use one")
            stamps = entity_df[timestamp]
            bounds = pd.to_datetime(pd.Series([stamps.min(), stamps.max()]), utc=True)
            return AsofRetrievalJob(
                entity_df=entity_df,
                sql=asof_join_sql("entity_df", timestamp, joins),
                setup=_s3_setup_sql(endpoints.pop()) if endpoints else [],
                full_feature_names=full_feature_names,
                metadata=RetrievalMetadata(
                    features=feature_refs,
                    keys=[c for c in entity_df.columns if c != timestamp],
                    min_event_timestamp=bounds[0].to_pydatetime(),
                    max_event_timestamp=bounds[1].to_pydatetime(),
                ),
                repo_path=str(config.repo_path),
            )

    return {
        "AsofDuckDBOfflineStore": AsofDuckDBOfflineStore,
        "AsofDuckDBOfflineStoreConfig": AsofDuckDBOfflineStoreConfig,
        "AsofRetrievalJob": AsofRetrievalJob,
    }


_OFFLINE_STORE_NAMES = (
    "AsofDuckDBOfflineStore",
    "AsofDuckDBOfflineStoreConfig",
    "AsofRetrievalJob",
)


def __getattr__(name: str) -> Any:
    """Builds the offline store classes only when Feast (or a caller) asks for them."""
    if name in _OFFLINE_STORE_NAMES:
        return _offline_store_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
