"""Validating batches against the churn_v1 contract with the real Great Expectations 1.x."""

import json
import re
import time
from html import escape

import numpy as np
import pandas as pd
import pytest

from components._contract import write_reports
from components.validate_data.core import (
    TABLE,
    DataValidationError,
    ValidateConfig,
    build_suite,
    contract_to_dict,
    draft_contract,
    enforce,
    parse_now,
    parse_on_failure,
    run,
    validate_frame,
)
from components.validate_data.html_report import render_html

KEY = "customer_id, event_timestamp"


def _missing_column(df):
    return df.drop(columns="age")


def _wrong_dtype(df):
    df["tenure_months"] = df["tenure_months"].astype(str)
    return df


def _nulls_beyond_tolerance(df):
    df.loc[df.index[: len(df) // 3], "sessions_7d"] = np.nan
    return df


def _out_of_range(df):
    df.loc[df.index[:4], "age"] = [150.0, -3.0, 999.0, 7.0]
    return df


def _unknown_category(df):
    df.loc[df.index[:5], "plan"] = "platinum"
    return df


def _duplicate_key(df):
    return pd.concat([df, df.iloc[:3]], ignore_index=True)


def _empty_batch(df):
    return df.iloc[0:0]


def _future_timestamps(df):
    # Two different customers at two different times, so the key stays unique.
    rows = df.drop_duplicates("customer_id").index[:2]
    df.loc[rows, "event_timestamp"] = pd.to_datetime(["2030-01-01", "2030-01-02"], utc=True)
    return df


# corruption -> every (column, check) that must fail, and a fragment of the observed value
# ({n} = rows of the corrupted batch).
CORRUPTIONS = {
    "missing column": (
        _missing_column,
        {("age", "exists"), ("age", "dtype"), ("age", "nulls"), ("age", "range")}
        | {(TABLE, "columns")},
        "column missing",
    ),
    "wrong dtype": (
        _wrong_dtype,
        {("tenure_months", "dtype"), ("tenure_months", "range")},
        "observed object",
    ),
    "nulls beyond tolerance": (
        _nulls_beyond_tolerance,
        {("sessions_7d", "nulls")},
        "rows null (3",
    ),
    "out-of-range values": (_out_of_range, {("age", "range")}, "e.g. 150.0, -3.0, 999.0, 7.0"),
    "unknown category": (_unknown_category, {("plan", "allowed_values")}, "e.g. platinum"),
    "duplicate entity+timestamp": (
        _duplicate_key,
        {(KEY, "unique")},
        "6 of {n} rows with a duplicated key",
    ),
    "empty batch": (_empty_batch, {(TABLE, "row_count")}, "observed 0 rows"),
    "future timestamps": (
        _future_timestamps,
        {("event_timestamp", "not_in_future")},
        "2 of {n} rows in the future",
    ),
}
EXPECTATION_OF = {
    "exists": "expect_column_to_exist",
    "dtype": "expect_column_type_to_be",
    "nulls": "expect_column_values_to_not_be_null",
    "range": "expect_column_values_to_be_between",
    "allowed_values": "expect_column_values_to_be_in_set",
    "unique": "expect_compound_columns_to_be_unique",
    "row_count": "expect_table_row_count_to_be_between",
    "not_in_future": "expect_column_values_to_be_between",
    "columns": "expect_table_columns_to_match_set",
}


def test_clean_batch_passes(good_batch, churn_contract, now):
    """A clean batch passes every expectation of churn_v1.

    Proves a batch that follows the CONVENTIONS schema (with realistic nulls in the activity
    features) passes every expectation of churn_v1, and that every contract clause became an
    evaluated expectation.
    Cannot prove real get_features output passes; the pipeline tests run on generated data.
    """
    report = validate_frame(good_batch, churn_contract, now=now)
    assert report.success, report.failure_message()
    assert enforce(report, "fail") is True
    assert report.rows == len(good_batch)
    checks = {(c.column, c.check) for c in report.checks}
    assert (TABLE, "row_count") in checks
    assert (KEY, "unique") in checks
    for spec in churn_contract.columns:
        assert {(spec.name, "exists"), (spec.name, "dtype"), (spec.name, "nulls")} <= checks
    assert report.metrics() == {
        "expectations_evaluated": len(report.checks),
        "expectations_failed": 0,
        "rows": len(good_batch),
    }


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_corruption_is_caught_and_named(case, good_batch, churn_contract, now):
    """Each corruption of a good batch is caught and named.

    Proves each corruption of a good batch fails exactly the expected checks (nothing else),
    and that the error raised in "fail" mode names each failed column with its GX
    expectation, and shows expected vs observed values.
    Cannot prove corruptions not listed here are caught, nor that two corruptions at once
    are reported separately (the HTML test covers a multi-failure batch).
    """
    corrupt, expected_failures, observed_fragment = CORRUPTIONS[case]
    batch = corrupt(good_batch)
    report = validate_frame(batch, churn_contract, now=now)
    assert not report.success
    assert {(c.column, c.check) for c in report.failures} == expected_failures
    with pytest.raises(DataValidationError) as info:
        enforce(report, "fail")
    message = str(info.value)
    for column, check in expected_failures:
        assert f"{column}: {EXPECTATION_OF[check]} ({check}) - expected " in message
    assert observed_fragment.format(n=len(batch)) in message
    assert f"{len(expected_failures)} of {len(report.checks)} expectations failed" in message


def test_report_mode_does_not_raise_but_marks_failures(good_batch, churn_contract, now):
    """on_failure="report" returns False without raising, failures marked.

    Proves on_failure="report" returns False instead of raising, while the report, its
    metrics and lineage still mark the failure.
    Cannot prove what a pipeline does next with the False (that is the pipeline's gate).
    """
    report = validate_frame(_unknown_category(good_batch), churn_contract, now=now)
    assert enforce(report, "report") is False
    assert [(c.column, c.check) for c in report.failures] == [("plan", "allowed_values")]
    assert report.metrics()["expectations_failed"] == 1
    assert report.metadata()["passed"] is False
    assert report.report()["checks"][0]["success"] is True


def test_schema_mode_stops_broken_batches_but_lets_drift_through(good_batch, churn_contract, now):
    """on_failure="schema" raises for a broken batch only.

    Proves drift-like failures (unknown category, nulls beyond tolerance, out-of-range
    values) return False without raising, while structural failures (missing column,
    wrong dtype, duplicate key, empty batch, future timestamps) raise and name the check.
    Cannot prove that this split is right for every domain; it is the monitoring
    pipeline's choice.
    """
    for corrupt in (_unknown_category, _nulls_beyond_tolerance, _out_of_range):
        report = validate_frame(corrupt(good_batch.copy()), churn_contract, now=now)
        assert report.failures
        assert enforce(report, "schema") is False
    for corrupt in (_missing_column, _wrong_dtype, _duplicate_key, _empty_batch):
        report = validate_frame(corrupt(good_batch.copy()), churn_contract, now=now)
        with pytest.raises(DataValidationError, match="on_failure='schema'"):
            enforce(report, "schema")
    report = validate_frame(_future_timestamps(good_batch), churn_contract, now=now)
    with pytest.raises(DataValidationError, match=r"event_timestamp: .*\(not_in_future\)"):
        enforce(report, "schema")


def test_bad_on_failure_is_rejected():
    """An unknown on_failure value is rejected clearly.

    Proves an unknown on_failure value raises a ValueError naming the parameter, the allowed
    values and the bad value.
    Cannot prove the component checks it before reading data (the component test covers the
    wiring).
    """
    with pytest.raises(
        ValueError, match=r"on_failure must be one of \['fail', 'schema', 'report'\], got 'warn'"
    ):
        parse_on_failure("warn")
    assert parse_on_failure("report") == "report"


def test_now_decides_what_is_the_future(good_batch, churn_contract):
    """The `now` parameter decides which timestamps are in the future.

    Proves not_in_future compares against the `now` passed in (deterministic): the same
    batch fails with a `now` inside its time range and passes with one after it; a naive
    `now` is read as UTC, garbage is rejected.
    Cannot prove the default (current clock) is right on a machine with a wrong clock.
    """
    # The generated labels span 2024-01-01 .. 2024-07-01.
    early = validate_frame(good_batch, churn_contract, now="2024-04-01T00:00:00")
    assert [(c.column, c.check) for c in early.failures] == [("event_timestamp", "not_in_future")]
    assert early.now == "2024-04-01T00:00:00+00:00"
    assert validate_frame(good_batch, churn_contract, now="2024-07-01T00:00:00Z").success
    assert parse_now("").tzinfo is not None
    with pytest.raises(ValueError, match="now='yesterday-ish' is not an ISO date/time"):
        parse_now("yesterday-ish")


def test_html_report_is_self_contained_and_lists_failures(good_batch, churn_contract, now):
    """The HTML report is self-contained and lists every failure.

    Proves the HTML report of a batch with several failures is one document with inline CSS
    and no scripts, external stylesheets, or http(s) src/href, and that it lists every
    failed expectation with column, expectation, expected and observed.
    Cannot prove how a particular browser or the KFP UI viewer lays it out.
    """
    bad = _future_timestamps(_unknown_category(_out_of_range(good_batch)))
    bad["plan"] = bad["plan"].where(bad.index != 10, "<script>alert(1)</script>")
    report = validate_frame(bad, churn_contract, now=now)
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page
    assert not re.search(r"<script|<link|<img|<iframe|@import|url\(", page, re.IGNORECASE)
    assert not re.search(r"(src|href)\s*=", page, re.IGNORECASE)
    assert "http://" not in page
    assert "https://" not in page
    assert "&lt;script&gt;" in page
    assert len(report.failures) == 3
    failed_rows = [r for r in page.split("<tr ") if r.startswith('class="failed"')]
    assert len(failed_rows) == 3
    for failure, row in zip(report.failures, failed_rows, strict=True):
        for text in (failure.column, failure.expectation, failure.expected, failure.observed):
            assert escape(text) in row
    assert page.count('<tr class="failed">') == 3
    assert page.count('<tr class="passed">') == len(report.checks) - 3


def test_draft_contract_accepts_its_reference(good_batch, now):
    """A contract drafted from a batch accepts that batch.

    Proves a contract drafted from a batch validates that same batch, and still catches an
    obvious corruption of it (so the draft is not vacuous).
    Cannot prove the draft tolerates the natural variation of the next batch; a person
    reviews it.
    """
    contract = draft_contract(good_batch, unique=[("customer_id", "event_timestamp")])
    assert validate_frame(good_batch, contract, now=now).success
    failed = validate_frame(_unknown_category(good_batch), contract, now=now).failures
    assert [(c.column, c.check) for c in failed] == [("plan", "allowed_values")]


def test_files_and_suite(good_batch, churn_contract, now, tmp_path):
    """Run + the shared report writer give HTML + JSON; build_suite yields a GX suite.

    Proves run accepts the contract as a dict (as a compiled pipeline passes it), that
    the written JSON result carries the raw GX result and the HTML page the verdict,
    and that build_suite yields a GX ExpectationSuite with one expectation per check.
    Cannot prove KFP uploads these files (the component test does, locally).
    """
    report = run(ValidateConfig(good_batch, contract_to_dict(churn_contract), now=now))
    write_reports(
        report, report_path=tmp_path / "out" / "r.json", html_path=tmp_path / "out" / "r.html"
    )
    assert report.success
    result = json.loads((tmp_path / "out" / "r.json").read_text())
    assert result["success"] is True
    assert result["contract"] == "churn_v1"
    assert len(result["checks"]) == len(result["gx_result"]["results"]) == len(report.checks)
    assert "PASSED" in (tmp_path / "out" / "r.html").read_text()
    import great_expectations as gx

    suite = build_suite(churn_contract, now)
    assert isinstance(suite, gx.ExpectationSuite)
    assert len(suite.expectations) == len(report.checks)


def test_no_progress_bars(good_batch, churn_contract, now, capfd):
    """Validation prints no tqdm progress bars.

    Proves validation prints no tqdm progress bars ("Calculating Metrics") on stdout or
    stderr, i.e. the context's progress-bar setting is applied.
    Cannot prove GX never logs anything else.
    """
    capfd.readouterr()
    validate_frame(good_batch, churn_contract, now=now)
    out, err = capfd.readouterr()
    assert "Calculating Metrics" not in out + err
    assert "it/s" not in err


def test_validation_of_1e5_rows_is_fast(churn_contract, now, make_churn_frame):
    """Validating 1e5 rows stays fast.

    Proves GX validates a 100,000-row training frame against churn_v1 in well under the
    budget (measured 0.25-0.3 s of GX time on this 2-core machine; asserted < 3 s to leave
    room for a loaded CI box).
    Cannot prove the timing on other hardware.
    """
    frame = make_churn_frame(n_customers=64_000).head(100_000)
    started = time.perf_counter()
    report = validate_frame(frame, churn_contract, now=now)
    wall = time.perf_counter() - started
    assert report.success
    assert report.rows == 100_000
    assert report.duration_s < 3.0, f"GX validation took {report.duration_s:.2f} s"
    assert wall < 4.0
