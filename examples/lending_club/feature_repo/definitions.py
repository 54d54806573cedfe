"""Feast definitions of the Lending Club example: one entity, one feature view, one service.

The source is ``loans.parquet`` written by ``python -m examples.lending_club.prepare``,
found under ``$FEAST_SOURCE_DIR`` (the suite's local commands set it to the labels
file's directory) or ``data/`` next to this file.
"""

import os
from datetime import timedelta
from pathlib import Path

from feast import Entity, FeatureService, FeatureView, Field, FileSource, ValueType
from feast.data_format import ParquetFormat
from feast.types import Float64, Int64, String


def source_path(file_name: str) -> str:
    """Returns where a source file lives: under $FEAST_SOURCE_DIR or ./data."""
    source_dir = os.environ.get("FEAST_SOURCE_DIR") or str(Path(__file__).resolve().parent / "data")
    if "://" in source_dir:
        return f"{source_dir.rstrip('/')}/{file_name}"
    return str(Path(source_dir).expanduser().resolve() / file_name)


loan = Entity(
    name="loan",
    join_keys=["loan_id"],
    value_type=ValueType.INT64,
    description="A loan application.",
)

loans_source = FileSource(
    name="loans",
    path=source_path("loans.parquet"),
    timestamp_field="application_time",
    file_format=ParquetFormat(),
)

loan_application = FeatureView(
    name="loan_application",
    entities=[loan],
    ttl=timedelta(days=3650),
    schema=[
        Field(name="loan_id", dtype=Int64),
        Field(name="funded_amnt", dtype=Int64),
        Field(name="term", dtype=String),
        Field(name="int_rate", dtype=Float64),
        Field(name="sub_grade", dtype=String),
        Field(name="addr_state", dtype=String),
        Field(name="verification_status", dtype=String),
        Field(name="annual_inc", dtype=Float64),
        Field(name="emp_length", dtype=String),
        Field(name="delinq_2yrs", dtype=Int64),
        Field(name="inq_last_6mths", dtype=Int64),
        Field(name="revol_util", dtype=Float64),
        Field(name="acc_now_delinq", dtype=Int64),
        Field(name="open_il_6m", dtype=Int64),
        Field(name="open_il_12m", dtype=Int64),
        Field(name="open_il_24m", dtype=Int64),
        Field(name="total_bal_il", dtype=Int64),
        Field(name="all_util", dtype=Int64),
        Field(name="inq_fi", dtype=Int64),
        Field(name="inq_last_12m", dtype=Int64),
        Field(name="delinq_amnt", dtype=Int64),
        Field(name="num_il_tl", dtype=Int64),
        Field(name="total_il_high_credit_limit", dtype=Int64),
    ],
    online=True,
    source=loans_source,
    tags={"domain": "lending"},
)

lending_v1 = FeatureService(
    name="lending_v1",
    features=[loan_application],
    description="Every application feature of the Lending Club table.",
    tags={"version": "1"},
)
