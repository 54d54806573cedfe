"""Contract parsing, round-tripping and drafting (no Great Expectations involved)."""

import copy
import datetime as dt

import pandas as pd
import pytest

from churn_data import schema
from components.validate_data.core import (
    ContractError,
    contract_from_dict,
    contract_parameter,
    contract_to_dict,
    draft_contract,
    dump_contract,
    load_contract,
)

MINIMAL = {
    "name": "tiny",
    "version": 2,
    "table": {"min_rows": 1, "unique": [["id", "ts"]]},
    "columns": {
        "id": {"dtype": "int64", "min": 0},
        "ts": {"dtype": "datetime64[ns, UTC]", "not_in_future": True, "min": "2020-01-01"},
        "kind": {"dtype": "object", "allowed_values": ["a", "b"], "max_null_fraction": 0.1},
    },
}


def test_churn_contract_covers_the_training_frame(churn_contract):
    """churn_v1.yaml declares the CONVENTIONS training frame.

    Proves the contract lists exactly the training-frame columns, in order, with the dtypes
    and categories of the binding schema (churn_data.schema), the compound entity+timestamp
    key, the {0, 1} label, no-future timestamps, and a larger null tolerance for the
    30-day-TTL activity features than for the profile features.
    Cannot prove the ranges and tolerances fit real data; the validation tests check them
    on generated batches.
    """
    assert churn_contract.name == "churn_v1"
    assert churn_contract.column_names == schema.TRAINING_COLUMNS
    spec = {c.name: c for c in churn_contract.columns}
    for name in schema.TRAINING_COLUMNS:
        assert spec[name].dtype == str(schema.dtype_of(name)), name
    for name, categories in schema.CATEGORIES.items():
        assert spec[name].allowed_values == categories
    assert churn_contract.unique == ((schema.ENTITY, schema.TIMESTAMP),)
    assert spec[schema.LABEL].allowed_values == (0, 1)
    assert spec[schema.TIMESTAMP].not_in_future
    for key in (schema.ENTITY, schema.TIMESTAMP, schema.LABEL):
        assert spec[key].max_null_fraction == 0
    for activity in schema.ACTIVITY_FEATURES:
        for profile in schema.PROFILE_FEATURES:
            assert spec[activity].max_null_fraction > spec[profile].max_null_fraction > 0
    assert not churn_contract.allow_extra_columns


def test_dict_round_trip_and_yaml_round_trip(churn_contract, tmp_path):
    """The contract survives dict and YAML round trips unchanged.

    Proves contract_to_dict / contract_from_dict and dump_contract / load_contract are
    lossless for the real contract (datetimes, tuples, None bounds included).
    Cannot prove the YAML layout is pleasant to edit by hand.
    """
    assert contract_from_dict(contract_to_dict(churn_contract)) == churn_contract
    assert load_contract(dump_contract(churn_contract, tmp_path / "c.yaml")) == churn_contract


def test_contract_survives_a_kfp_dict_parameter(churn_contract, churn_contract_path):
    """The contract dict survives being a KFP pipeline parameter.

    Proves contract_parameter gives a dict that KFP's own compiler turns into a protobuf
    value (it rejects None and datetime objects), and that the dict that comes back, where
    every number has become a float (version 1.0, allowed_values [0.0, 1.0]), parses to the
    same contract with integer fields restored.
    Cannot prove a KFP backend passes parameters identically; kfp.local does (component test).
    """
    from google.protobuf import json_format
    from kfp.compiler.pipeline_spec_builder import to_protobuf_value

    parameter = contract_parameter(churn_contract_path)
    through_kfp = json_format.MessageToDict(to_protobuf_value(parameter))
    assert through_kfp["version"] == 1.0
    assert isinstance(through_kfp["version"], float)
    parsed = contract_from_dict(through_kfp)
    assert parsed == churn_contract
    assert isinstance(parsed.version, int)
    assert isinstance(parsed.min_rows, int)
    label = next(c for c in parsed.columns if c.name == "churned")
    assert all(isinstance(v, int) for v in label.allowed_values)


def test_minimal_contract_parses_with_defaults():
    """A minimal dict parses, with defaults and UTC datetime bounds.

    Proves a small dict parses, datetime bounds become tz-aware UTC, and omitted keys take
    their defaults.
    Cannot prove every dtype spelling pandas accepts works in GX.
    """
    c = contract_from_dict(MINIMAL)
    ts = c.columns[1]
    assert ts.min_value == dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    assert ts.is_datetime
    assert not c.columns[0].is_datetime
    assert c.columns[0].max_null_fraction == 0.0
    assert c.max_rows is None
    assert c.allow_extra_columns
    assert c.version == 2


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d.pop("name"), "name: expected a non-empty string"),
        (lambda d: d.update(colour="red"), "colour: unknown key"),
        (lambda d: d["columns"]["id"].update(dtype="integer64"), "columns.id.dtype"),
        (lambda d: d["columns"]["id"].update(min=5, max=1), "min 5 is greater than max 1"),
        (lambda d: d["columns"]["id"].update(max_null_fraction=1.5), "max_null_fraction"),
        (lambda d: d["columns"]["id"].update(nullable=True), "columns.id.nullable: unknown key"),
        (lambda d: d["columns"]["id"].update(min="zero"), "columns.id.min: expected a number"),
        (lambda d: d["columns"]["kind"].update(min=1), "bounds apply only to numeric"),
        (lambda d: d["columns"]["id"].update(not_in_future=True), "only valid for datetime"),
        (lambda d: d["columns"]["ts"].update(min="last tuesday"), "columns.ts.min"),
        (lambda d: d["columns"]["kind"].update(allowed_values="a"), "allowed_values"),
        (lambda d: d["table"].update(unique=[["id", "nope"]]), "['nope'] are not declared"),
        (lambda d: d["table"].update(min_rows=-1), "table.min_rows"),
        (lambda d: d["table"].update(max_rows=0, min_rows=5), "table.max_rows"),
        (lambda d: d.update(columns={}), "columns: expected a non-empty mapping"),
        (lambda d: d.update(version=0), "version: expected an integer >= 1"),
        (lambda d: d.update(version=1.5), "version: expected an integer >= 1, got 1.5"),
        (
            lambda d: d.update(columns=[{"name": "id", "dtype": "int64"}] * 2),
            "column 'id' is declared twice",
        ),
    ],
)
def test_malformed_contract_is_rejected_with_its_key_path(mutate, fragment):
    """Each malformed contract is rejected, naming its key path.

    Proves each kind of malformed contract raises ContractError whose message names the
    offending key path and what was expected.
    Cannot prove every possible mistake is caught, only these representative ones.
    """
    d = copy.deepcopy(MINIMAL)
    mutate(d)
    with pytest.raises(ContractError, match="invalid data contract") as info:
        contract_from_dict(d)
    assert fragment in str(info.value)


def test_all_problems_are_reported_at_once():
    """Every problem in a contract is reported in one error.

    Proves a contract with several mistakes lists all of them in one error, so a user fixes
    the file in one pass.
    Cannot prove the order of the listed problems is stable across Python versions (it
    follows the dict order here).
    """
    d = copy.deepcopy(MINIMAL)
    d["columns"]["id"]["dtype"] = "nonsense"
    d["columns"]["kind"]["max_null_fraction"] = -1
    d["table"]["min_rows"] = "many"
    with pytest.raises(ContractError) as info:
        contract_from_dict(d)
    assert len(info.value.problems) == 3
    assert "3 problem(s)" in str(info.value)


def test_yaml_duplicate_keys_and_non_mapping_are_rejected(tmp_path):
    """Duplicate YAML keys and non-mapping files are rejected.

    Proves load_contract refuses a YAML file with a duplicated column (plain YAML would
    silently keep the last one) and a file that is not a mapping, naming the file.
    Cannot prove the line number is right for every YAML style (block style is tested).
    """
    dup = tmp_path / "dup.yaml"
    dup.write_text(
        "name: x\ncolumns:\n  a: {dtype: int64}\n  a: {dtype: float64}\n", encoding="utf-8"
    )
    with pytest.raises(ContractError, match="line 4: duplicate key 'a'"):
        load_contract(dup)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ContractError, match="must be a mapping") as info:
        load_contract(listed)
    assert str(listed) in str(info.value)


def test_draft_contract_describes_the_reference(good_batch):
    """A drafted contract describes its reference frame.

    Proves the drafted contract takes dtypes from the data, keeps key columns free of
    ranges, gives 0/1 and text columns allowed sets, widens numeric ranges without going
    negative, tolerates observed nulls, and marks datetimes not-in-future.
    Cannot prove the draft is a good contract; a person must review it (the validation test
    proves the draft at least accepts its own reference).
    """
    c = draft_contract(good_batch, name="d", unique=[("customer_id", "event_timestamp")])
    spec = {s.name: s for s in c.columns}
    assert [s.name for s in c.columns] == list(good_batch.columns)
    assert spec["customer_id"].min_value is None
    assert spec["customer_id"].allowed_values is None
    assert spec["churned"].allowed_values == (0, 1)
    assert spec["plan"].allowed_values == ("basic", "premium", "standard")
    assert spec["event_timestamp"].not_in_future
    age = spec["age"]
    assert 0 <= age.min_value <= good_batch["age"].min()
    assert age.max_value >= good_batch["age"].max()
    assert spec["sessions_7d"].max_null_fraction >= good_batch["sessions_7d"].isna().mean()
    assert spec["region"].max_null_fraction == 0
    assert c.min_rows == len(good_batch) // 10
    assert c.unique == (("customer_id", "event_timestamp"),)
    assert contract_from_dict(contract_to_dict(c)) == c


def test_draft_rejects_unknown_columns():
    """draft_contract refuses columns the frame does not have.

    Proves draft_contract refuses a key or categorical column the frame lacks, instead of
    drafting a contract no batch can meet.
    Cannot prove other argument mistakes are caught.
    """
    with pytest.raises(ValueError, match=r"\['nope'\]"):
        draft_contract(pd.DataFrame({"a": [1]}), unique=[("nope",)])


def test_timestamp_precision_is_one_type_but_timezone_is_not():
    """A contract drafted from a microsecond parquet validates a nanosecond frame.

    Proves: ``datetime64[us, UTC]`` (Arrow / Spark / pandas 3 files) in a contract and
    a ``datetime64[ns, UTC]`` frame (Feast retrieval), and the reverse, pass the real GX
    dtype check; a naive timestamp where the contract says UTC still fails it. Cannot
    prove other time zones behave the same (only UTC is used by the suite).
    """
    from components.validate_data.core import validate_frame

    times = pd.to_datetime(["2024-01-01 00:00:00.123456", "2024-01-02 00:00:00.000000"], utc=True)
    frame_ns = pd.DataFrame({"id": [1, 2], "ts": times.astype("datetime64[ns, UTC]")})
    frame_us = frame_ns.assign(ts=frame_ns["ts"].astype("datetime64[us, UTC]"))
    drafted_from_us = draft_contract(frame_us, name="us", unique=[("id", "ts")])
    assert dict((c.name, c.dtype) for c in drafted_from_us.columns)["ts"] == "datetime64[ns, UTC]"
    declared_us = contract_from_dict(
        {
            "name": "us",
            "columns": {"id": {"dtype": "int64"}, "ts": {"dtype": "datetime64[us, UTC]"}},
        }
    )
    for contract in (drafted_from_us, declared_us):
        for frame in (frame_ns, frame_us):
            report = validate_frame(frame, contract, now="2030-01-01")
            assert report.success, [c.line() for c in report.checks if not c.success]
    naive = frame_ns.assign(ts=frame_ns["ts"].dt.tz_localize(None))
    report = validate_frame(naive, declared_us, now="2030-01-01")
    failed = [(c.column, c.check) for c in report.checks if not c.success]
    assert ("ts", "dtype") in failed
