"""Feast definitions of the churn domain: one entity, two feature views, versioned services.

The schema is the one in CONVENTIONS.md ("Data schema"). Where the parquet files
live is read from the environment when this file is loaded (by `feast apply` or
`components._feast.apply_repo`), so the same repo serves a laptop, the tests (which
copy it into a temporary directory) and a cluster:

    FEAST_SOURCE_DIR   directory or s3:// prefix holding profiles.parquet and
                       activity.parquet; default: the data/ directory next to this file.

Feast stores the resolved paths in the registry at apply time, so re-apply after
changing it.
"""

import os
from datetime import timedelta
from pathlib import Path

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.data_format import ParquetFormat
from feast.types import Float64, Int64, String

SOURCE_DIR_ENV = "FEAST_SOURCE_DIR"


def source_path(file_name: str) -> str:
    """Returns where a source file lives: under $FEAST_SOURCE_DIR or ./data, absolute.

    Args:
        file_name: File name inside the source directory, e.g. ``"profiles.parquet"``.
    """
    source_dir = os.environ.get(SOURCE_DIR_ENV) or str(Path(__file__).resolve().parent / "data")
    if "://" in source_dir:
        return f"{source_dir.rstrip('/')}/{file_name}"
    return str(Path(source_dir).expanduser().resolve() / file_name)


customer = Entity(
    name="customer",
    join_keys=["customer_id"],
    value_type=ValueType.INT64,
    description="A customer of the subscription business.",
)

# file_format=ParquetFormat() is required by the DuckDB offline store (without it the
# read returns None); `feast apply` does not notice a format change on an existing
# registry, so delete data/registry.db after changing it.
profiles_source = FileSource(
    name="profiles",
    path=source_path("profiles.parquet"),
    timestamp_field="event_timestamp",
    file_format=ParquetFormat(),
)

activity_source = FileSource(
    name="activity",
    path=source_path("activity.parquet"),
    timestamp_field="event_timestamp",
    file_format=ParquetFormat(),
)

customer_profile = FeatureView(
    name="customer_profile",
    entities=[customer],
    ttl=timedelta(days=3650),
    schema=[
        Field(name="customer_id", dtype=Int64),
        Field(name="plan", dtype=String),
        Field(name="region", dtype=String),
        Field(name="channel", dtype=String),
        Field(name="tenure_months", dtype=Float64),
        Field(name="age", dtype=Float64),
    ],
    online=True,
    source=profiles_source,
    tags={"domain": "churn"},
)

customer_activity = FeatureView(
    name="customer_activity",
    entities=[customer],
    ttl=timedelta(days=30),
    schema=[
        Field(name="customer_id", dtype=Int64),
        Field(name="sessions_7d", dtype=Float64),
        Field(name="spend_30d", dtype=Float64),
        Field(name="support_tickets_30d", dtype=Float64),
        Field(name="avg_order_value", dtype=Float64),
        Field(name="days_since_last_login", dtype=Float64),
    ],
    online=True,
    source=activity_source,
    tags={"domain": "churn"},
)

# Feature services are the versioned contract between features and a model: a model
# records the service it was trained on, and a new feature set is a new service.
churn_v1 = FeatureService(
    name="churn_v1",
    features=[customer_profile, customer_activity],
    description="All profile and activity features.",
    tags={"version": "1"},
)

churn_v2 = FeatureService(
    name="churn_v2",
    features=[
        customer_profile[["plan", "tenure_months"]],
        customer_activity[["sessions_7d", "spend_30d", "days_since_last_login"]],
    ],
    description="A reduced set: plan, tenure and engagement.",
    tags={"version": "2"},
)
