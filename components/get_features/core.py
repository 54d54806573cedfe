"""Point-in-time correct training frames from Feast.

The training frame is CONVENTIONS.md's: the entity key, the label timestamp and the
label, then the feature service's features by their plain names, one row per entity
(label) row, sorted by (entity key, timestamp, label) like a labels file sorted the same way. Feast
is imported lazily; the store is passed in so tests use a real store on a repo copied
to a temp dir.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from components._feast import apply_repo, open_store
from components._fingerprint import frame_fingerprint
from components._suite import SuiteConfig, binary_label, load_suite_config
from components._time import parse_utc, utc_series

if TYPE_CHECKING:
    from feast import FeatureService, FeatureStore

__all__ = [
    "FeatureFrame",
    "GetFeaturesConfig",
    "apply_repo",
    "feature_refs",
    "get_training_frame",
    "is_sorted",
    "load_entity_frame",
    "resolve_feature_service",
    "run",
    "sort_order",
]


@dataclass(frozen=True)
class FeatureFrame:
    """A training frame and the lineage that goes into its artifact metadata.

    Implements `components._contract.ComponentResult`.

    Attributes:
        frame: The training frame.
        feature_service: Feast feature service it was retrieved with.
        feature_refs: ``view:feature`` references, in column order.
        fingerprint: ``sha256:<hex>`` of the frame (see `frame_fingerprint`).
    """

    frame: pd.DataFrame
    feature_service: str
    feature_refs: tuple[str, ...]
    fingerprint: str

    @property
    def row_count(self) -> int:
        """Number of rows of the frame."""
        return len(self.frame)

    def metadata(self) -> dict[str, Any]:
        """Returns the artifact metadata: service, refs, row count and fingerprint."""
        return {
            "feature_service": self.feature_service,
            "feature_refs": list(self.feature_refs),
            "row_count": self.row_count,
            "fingerprint": self.fingerprint,
        }

    def metrics(self) -> dict[str, float]:
        """Returns ``rows`` and ``features`` (feature column count)."""
        return {"rows": float(self.row_count), "features": float(len(self.feature_refs))}

    def report(self) -> dict[str, Any]:
        """Returns the lineage and the frame's columns with their dtypes."""
        columns = {str(name): str(dtype) for name, dtype in self.frame.dtypes.items()}
        return {**self.metadata(), "columns": columns}


def _sort_keys(frame: pd.DataFrame, by: list[str]) -> list[np.ndarray]:
    """Order-preserving numeric keys of the `by` columns (nulls last), in `by` order."""
    keys = []
    for name in by:
        column = frame[name]
        if pd.api.types.is_datetime64_any_dtype(column.dtype):
            values = column.to_numpy("datetime64[ns]").view("<i8")
            keys.append(np.where(column.isna().to_numpy(), np.iinfo(np.int64).max, values))
        elif pd.api.types.is_numeric_dtype(column.dtype) and not column.hasnans:
            keys.append(column.to_numpy())
        else:
            codes, _ = pd.factorize(column, sort=True, use_na_sentinel=True)
            keys.append(np.where(codes < 0, np.iinfo(np.int64).max, codes))
    return keys


def sort_order(frame: pd.DataFrame, by: list[str]) -> np.ndarray:
    """Returns the stable row order sorting `frame` by the `by` columns, ascending.

    Same order as ``frame.sort_values(by, kind="mergesort")`` with nulls last, ~3x
    faster at 1e6 rows: numbers and datetimes are sorted on their int64/float values,
    anything else on order-preserving factor codes.

    Args:
        frame: The frame.
        by: Sort keys, most significant first.
    """
    return np.lexsort(_sort_keys(frame, by)[::-1])


def is_sorted(frame: pd.DataFrame, by: list[str]) -> bool:
    """Whether `frame` is already in `sort_order(frame, by)` order (ties allowed); O(n)."""
    if len(frame) < 2:
        return True
    before = np.zeros(len(frame) - 1, dtype=bool)
    tied = np.ones(len(frame) - 1, dtype=bool)
    for key in _sort_keys(frame, by):
        before |= tied & (key[:-1] < key[1:])
        tied &= key[:-1] == key[1:]
    return bool((before | tied).all())


def load_entity_frame(
    entity_source: str | Path, suite: SuiteConfig, start: str = "", end: str = ""
) -> pd.DataFrame:
    """Reads the labels parquet as an entity dataframe for a time window.

    Args:
        entity_source: Parquet file (local path or s3:// URI) with the entity key,
            timestamp and label columns named in `suite`.
        suite: The feature repo's suite config.
        start: Window start, inclusive (ISO date/time); empty means unbounded.
        end: Window end, exclusive (ISO date/time); empty means unbounded.

    Returns:
        The entity key, timestamp and label columns of the rows in the window.

    Raises:
        ValueError: If columns are missing, the window is empty or inverted, or no
            label falls inside it.
    """
    import pyarrow.parquet as pq

    lower, upper = parse_utc(start, "start"), parse_utc(end, "end")
    if lower is not None and upper is not None and lower >= upper:
        raise ValueError(f"empty window: start={start!r} is not before end={end!r}")
    columns = suite.entity_columns
    missing = [c for c in columns if c not in pq.read_schema(entity_source).names]
    if missing:
        raise ValueError(f"entity source {entity_source} lacks columns {missing}")
    frame = pq.read_table(entity_source, columns=columns).to_pandas()
    frame[suite.label] = binary_label(frame[suite.label], suite)
    times = utc_series(frame[suite.timestamp])
    keep = np.ones(len(frame), dtype=bool)
    if lower is not None:
        keep &= (times >= lower).to_numpy()
    if upper is not None:
        keep &= (times < upper).to_numpy()
    if not keep.any():
        raise ValueError(
            f"no rows of {entity_source} in [{start or '-inf'}, {end or '+inf'}); "
            f"its {suite.timestamp} spans {times.min()} .. {times.max()}"
        )
    return frame.loc[keep].reset_index(drop=True)


def resolve_feature_service(store: FeatureStore, name: str) -> FeatureService:
    """Looks up a feature service, naming the known ones if it does not exist.

    Args:
        store: The Feast store.
        name: Feature service name, e.g. ``"my_features_v1"``.

    Raises:
        ValueError: If the registry has no such service.
    """
    from feast.errors import FeatureServiceNotFoundException

    try:
        return store.get_feature_service(name)
    except FeatureServiceNotFoundException:
        known = sorted(s.name for s in store.list_feature_services())
        hint = "" if known else " (the registry is empty: apply the feature repo first)"
        raise ValueError(
            f"unknown feature service {name!r} in project {store.project!r}; known: {known}{hint}"
        ) from None


def feature_refs(service: FeatureService) -> list[str]:
    """Returns a service's ``view:feature`` references in Feast's column order."""
    return [
        f"{projection.name_to_use()}:{feature.name}"
        for projection in service.feature_view_projections
        for feature in projection.features
    ]


def get_training_frame(
    store: FeatureStore, entity_df: pd.DataFrame, feature_service: str, suite: SuiteConfig
) -> FeatureFrame:
    """Retrieves point-in-time correct features for every entity row.

    Args:
        store: The Feast store.
        entity_df: Entity key, timestamp (tz-aware; naive is taken as UTC, as Feast
            does) and label columns as named in `suite`; other columns are dropped.
        feature_service: Feature service name.
        suite: The feature repo's suite config.

    Returns:
        The training frame (see module docstring) and its lineage.

    Raises:
        ValueError: If entity columns are missing or have nulls in key/timestamp, or
            the service is unknown.
        RuntimeError: If the offline store did not return exactly one row per entity
            row, or lost a feature column.
    """
    missing = [c for c in suite.entity_columns if c not in entity_df.columns]
    if missing:
        raise ValueError(f"entity dataframe lacks columns {missing}; has {list(entity_df.columns)}")
    entities = entity_df[suite.entity_columns].copy()
    for column in (suite.entity_key, suite.timestamp):
        if entities[column].isna().any():
            raise ValueError(f"entity column {column!r} has {entities[column].isna().sum()} nulls")
    entities[suite.timestamp] = utc_series(entities[suite.timestamp])
    # Sorting the 3-column entity frame is cheap; a store that keeps entity order (the
    # ASOF store does) then returns the training frame already sorted.
    order_by = [suite.entity_key, suite.timestamp, suite.label]
    if not is_sorted(entities, order_by):
        entities = entities.take(sort_order(entities, order_by))
        entities.index = pd.RangeIndex(len(entities))

    service = resolve_feature_service(store, feature_service)
    refs = feature_refs(service)
    retrieved = store.get_historical_features(
        entity_df=entities, features=service, full_feature_names=False
    ).to_df()
    if len(retrieved) != len(entities):
        raise RuntimeError(
            f"feature service {feature_service!r} returned {len(retrieved)} rows for "
            f"{len(entities)} entity rows: the offline store "
            f"({store.config.offline_store.type}) dropped or duplicated label rows"
        )
    columns = suite.entity_columns + [ref.split(":", 1)[1] for ref in refs]
    lost = [c for c in columns if c not in retrieved.columns]
    if lost:
        raise RuntimeError(f"feature service {feature_service!r} returned no columns {lost}")
    retrieved[suite.timestamp] = utc_series(retrieved[suite.timestamp])
    frame = retrieved if list(retrieved.columns) == columns else retrieved[columns]
    if not is_sorted(frame, order_by):
        frame = frame.take(sort_order(frame, order_by))
    frame.index = pd.RangeIndex(len(frame))
    return FeatureFrame(
        frame=frame,
        feature_service=feature_service,
        feature_refs=tuple(refs),
        fingerprint=frame_fingerprint(frame),
    )


@dataclass(frozen=True)
class GetFeaturesConfig:
    """What `run` retrieves.

    Attributes:
        feature_repo: Feature repo directory (already applied).
        feature_service: Feature service name; empty means the suite.yaml default.
        entity_source: Labels parquet (path or s3:// URI).
        start: Window start, inclusive (ISO); empty means unbounded.
        end: Window end, exclusive (ISO); empty means unbounded.
    """

    feature_repo: str | Path
    feature_service: str
    entity_source: str | Path
    start: str = ""
    end: str = ""


def run(config: GetFeaturesConfig) -> FeatureFrame:
    """The component's work: labels in a window -> training frame.

    Args:
        config: Repo, feature service, labels and window.

    Raises:
        ValueError: If a window bound is not an ISO date/time, the window is empty, the
            feature service is unknown, or a label row did not come back.
    """
    suite = load_suite_config(config.feature_repo)
    entities = load_entity_frame(config.entity_source, suite, config.start, config.end)
    store = open_store(config.feature_repo)
    service = config.feature_service or suite.feature_service
    return get_training_frame(store, entities, service, suite)
