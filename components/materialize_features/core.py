"""Incremental materialization of feature views into the online store.

Each view is loaded from where its last materialization ended up to `end_time`. A
view never materialized starts at ``end_time - ttl`` — Feast's own
`materialize_incremental` starts at ``now - ttl``, which loads nothing when the data
is historical (backfills, synthetic data) and `end_time` is in the past.
The rows written per view are counted, which Feast's API does not report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components._feast import open_store
from components._time import parse_utc

if TYPE_CHECKING:
    from feast import FeatureStore, FeatureView


@dataclass(frozen=True)
class ViewMaterialization:
    """What one feature view's materialization did.

    Attributes:
        feature_view: Feature view name.
        start: Start of the loaded event-time interval (exclusive of earlier data).
        end: End of the interval.
        rows: Entity rows written to the online store (latest value per entity).
        first_run: Whether the view had never been materialized before.
    """

    feature_view: str
    start: datetime
    end: datetime
    rows: int
    first_run: bool


def parse_end_time(value: str) -> datetime:
    """Parses the end-time parameter: ISO date/time (naive = UTC), empty = now.

    Raises:
        ValueError: If the value is not an ISO date/time.
    """
    stamp = parse_utc(value, "end_time")
    return datetime.now(UTC) if stamp is None else stamp.to_pydatetime()


def _views_to_materialize(store: FeatureStore, names: Sequence[str]) -> list[FeatureView]:
    """Returns the online feature views with the given names (all of them if empty)."""
    online = {view.name: view for view in store.list_feature_views() if view.online}
    unknown = sorted(set(names) - set(online))
    if unknown:
        raise ValueError(
            f"unknown or offline-only feature views {unknown}; known: {sorted(online)}"
        )
    return [online[name] for name in (names or sorted(online))]


def materialize(
    store: FeatureStore, end_time: datetime, feature_views: Sequence[str] = ()
) -> list[ViewMaterialization]:
    """Loads new feature rows up to `end_time` into the online store.

    Args:
        store: The Feast store (repo applied).
        end_time: End of the interval, tz-aware.
        feature_views: Views to materialize; empty means every online view.

    Returns:
        One entry per view, in name order. A view already materialized up to or past
        `end_time` gets an empty interval and 0 rows.

    Raises:
        ValueError: If `end_time` is naive, a view is unknown, or a never-materialized
            view has no TTL to start from.
    """
    from feast.utils import make_tzaware
    from tqdm import tqdm

    if end_time.tzinfo is None:
        raise ValueError("end_time must be timezone-aware")
    results = []
    for view in _views_to_materialize(store, feature_views):
        previous = view.most_recent_end_time
        if previous is None and not view.ttl:
            raise ValueError(f"feature view {view.name!r} has no TTL and was never materialized")
        start = make_tzaware(previous) if previous is not None else end_time - view.ttl
        if start >= end_time:
            results.append(ViewMaterialization(view.name, end_time, end_time, 0, False))
            continue
        written: list[int] = []

        def count_rows(total: int, written: list[int] = written) -> tqdm:
            written.append(total)
            return tqdm(total=total, disable=True)

        # The body of FeatureStore.materialize (Feast 0.49) with a counting progress bar.
        store._get_provider().materialize_single_feature_view(
            config=store.config,
            feature_view=view,
            start_date=start,
            end_date=end_time,
            registry=store.registry,
            project=store.project,
            tqdm_builder=count_rows,
        )
        store.registry.apply_materialization(view, store.project, start, end_time)
        results.append(
            ViewMaterialization(view.name, start, end_time, sum(written), previous is None)
        )
    return results


@dataclass(frozen=True)
class MaterializeConfig:
    """What `run` materializes.

    Attributes:
        feature_repo: Feature repo directory, already applied.
        end_time: ISO date/time (naive = UTC); empty means now.
        feature_views: Views to materialize; empty means every online view.
    """

    feature_repo: str | Path
    end_time: str = ""
    feature_views: tuple[str, ...] = ()


@dataclass(frozen=True)
class MaterializeResult:
    """The views `run` materialized (implements `components._contract.ComponentResult`).

    Attributes:
        views: One entry per view, in name order.
    """

    views: tuple[ViewMaterialization, ...]

    def metrics(self) -> dict[str, float]:
        """Returns the scalar metrics of the materialization.

        Per view ``rows_<view>``, ``first_run_<view>`` (0/1), ``start_<view>`` /
        ``end_<view>`` (Unix seconds); plus ``rows_total`` and ``views``.
        """
        metrics: dict[str, float] = {}
        for r in self.views:
            metrics[f"rows_{r.feature_view}"] = float(r.rows)
            metrics[f"first_run_{r.feature_view}"] = float(r.first_run)
            metrics[f"start_{r.feature_view}"] = r.start.timestamp()
            metrics[f"end_{r.feature_view}"] = r.end.timestamp()
        metrics["rows_total"] = float(sum(r.rows for r in self.views))
        metrics["views"] = float(len(self.views))
        return metrics

    def metadata(self) -> dict[str, Any]:
        """The materialized views and the interval end."""
        return {
            "feature_views": [r.feature_view for r in self.views],
            "rows_total": sum(r.rows for r in self.views),
        }

    def report(self) -> dict[str, Any]:
        """One entry per view: name, interval (ISO), rows, first run."""
        return {
            "views": [
                {
                    "feature_view": r.feature_view,
                    "start": r.start.isoformat(),
                    "end": r.end.isoformat(),
                    "rows": r.rows,
                    "first_run": r.first_run,
                }
                for r in self.views
            ]
        }


def run(config: MaterializeConfig) -> MaterializeResult:
    """The component's work: open the repo's store and materialize up to `end_time`.

    Args:
        config: Repo, end time and views.

    Raises:
        ValueError: If `end_time` is not an ISO date/time, a view is unknown, or a
            never-materialized view has no TTL to start from.
    """
    store = open_store(config.feature_repo)
    views = materialize(store, parse_end_time(config.end_time), config.feature_views)
    result = MaterializeResult(tuple(views))
    print(f"[suite] materialize_features: {result.metrics()['rows_total']:.0f} rows", flush=True)
    return result
