"""Validate a batch against a data contract with Great Expectations 1.x.

The contract (`components.validate_data.contract`) is planned into checks
(`plan_checks`, pure data), the checks become a GX `ExpectationSuite` (`build_suite`),
and the suite runs on the pandas frame in an ephemeral GX context with progress bars off
(`validate_frame`). The result is summarised per check (column, expectation, expected,
observed, pass/fail) in a `ValidationReport`, written as JSON and as one self-contained
HTML page (`components.validate_data.html_report`), and enforced by `enforce`
(``on_failure="fail"`` raises `DataValidationError` naming every failed check).

Great Expectations is imported inside the functions that need it (~8 s cold import).

CLI::

    python -m components.validate_data.core draft --data ref.parquet --out contract.yaml \
        --unique entity_id,event_timestamp
    python -m components.validate_data.core validate --data batch.parquet \
        --contract contract.yaml --report report.html
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from components._contract import write_reports
from components._time import parse_utc, to_utc
from components.validate_data.contract import (
    ColumnSpec,
    ContractError,
    DataContract,
    contract_from_dict,
    contract_parameter,
    contract_to_dict,
    draft_contract,
    dump_contract,
    load_contract,
    with_canonical_datetimes,
)

__all__ = [
    "ON_FAILURE_MODES",
    "SCHEMA_CHECKS",
    "TABLE",
    "CheckResult",
    "ColumnSpec",
    "ContractError",
    "DataContract",
    "DataValidationError",
    "PlannedCheck",
    "ValidateConfig",
    "ValidationReport",
    "build_suite",
    "contract_from_dict",
    "contract_parameter",
    "contract_to_dict",
    "draft_contract",
    "dump_contract",
    "enforce",
    "load_contract",
    "main",
    "parse_now",
    "parse_on_failure",
    "plan_checks",
    "run",
    "validate_frame",
]

ON_FAILURE_MODES = ("fail", "schema", "report")
SCHEMA_CHECKS = frozenset({"row_count", "columns", "exists", "dtype", "unique", "not_in_future"})
"""Checks that mean a broken batch rather than drifted data; on_failure="schema" stops on
these only, so a drifted batch (nulls, new categories, values out of range) reaches the
drift check instead of failing validation."""
TABLE = "(table)"
"""The `column` of checks that concern the whole table (row count, column set)."""

_SAMPLE_SIZE = 5
_UNEXPECTED_NOUN = {
    "nulls": "null",
    "range": "out of range",
    "allowed_values": "not in the allowed set",
    "not_in_future": "in the future",
    "unique": "with a duplicated key",
}


class DataValidationError(RuntimeError):
    """A batch failed its data contract; the message names each failed check."""

    def __init__(self, report: ValidationReport, on_failure: str = "fail") -> None:
        self.report = report
        self.on_failure = on_failure
        super().__init__(f"{report.failure_message()}\n(on_failure={on_failure!r})")


@dataclass(frozen=True)
class PlannedCheck:
    """One contract clause as a GX expectation, before it runs.

    Attributes:
        column: Column it concerns, the key columns joined by ", " for a compound
            uniqueness check, or `TABLE`.
        check: Contract clause: row_count, columns, exists, dtype, nulls, range,
            allowed_values, not_in_future or unique.
        expectation: GX 1.x expectation class name in `great_expectations.expectations`.
        kwargs: Keyword arguments for that class.
        expected: What the contract expects, in words.
    """

    column: str
    check: str
    expectation: str
    kwargs: dict[str, Any]
    expected: str


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check on one batch.

    Attributes:
        column: Column it concerns, or `TABLE`.
        check: Contract clause (see `PlannedCheck.check`).
        expectation: GX expectation type, e.g. ``expect_column_values_to_be_between``.
        expected: What the contract expects.
        observed: What the batch showed.
        success: Whether the check passed.
    """

    column: str
    check: str
    expectation: str
    expected: str
    observed: str
    success: bool

    def describe(self) -> str:
        """One line: column (or key columns, or `TABLE`), expectation, expected, observed."""
        return (
            f"{self.column}: {self.expectation} ({self.check}) - "
            f"expected {self.expected}; observed {self.observed}"
        )


@dataclass(frozen=True)
class ValidationReport:
    """A batch's validation against a contract.

    Attributes:
        contract_name: Contract name.
        contract_version: Contract version.
        success: Whether every check passed.
        rows: Rows in the batch.
        now: The validation time (ISO 8601, UTC) used for ``not_in_future``.
        checks: Per-check outcomes, in contract order.
        duration_s: Seconds GX spent validating.
        gx_result: The raw GX `ExpectationSuiteValidationResult` as a JSON dict.
        on_failure: The failure policy `return_value` applies (see `enforce`).

    Implements `components._contract.ComponentResult`.
    """

    contract_name: str
    contract_version: int
    success: bool
    rows: int
    now: str
    checks: tuple[CheckResult, ...]
    duration_s: float
    gx_result: dict[str, Any] = field(repr=False, compare=False)
    on_failure: str = "report"

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        """The checks that failed."""
        return tuple(c for c in self.checks if not c.success)

    def metrics(self) -> dict[str, float]:
        """Scalar metrics for a KFP `Metrics` artifact."""
        return {
            "expectations_evaluated": len(self.checks),
            "expectations_failed": len(self.failures),
            "rows": self.rows,
        }

    def metadata(self) -> dict[str, Any]:
        """Artifact metadata: which contract judged which batch, and the verdict."""
        return {
            "contract": self.contract_name,
            "contract_version": self.contract_version,
            "passed": self.success,
            "rows": self.rows,
            "expectations_failed": len(self.failures),
            "validated_at": self.now,
        }

    def report(self) -> dict[str, Any]:
        """The JSON form written to the result artifact."""
        return {
            "contract": self.contract_name,
            "contract_version": self.contract_version,
            "success": self.success,
            "rows": self.rows,
            "now": self.now,
            "duration_s": self.duration_s,
            "statistics": self.metrics(),
            "checks": [asdict(c) for c in self.checks],
            "gx_result": self.gx_result,
        }

    def html(self) -> str:
        """The self-contained HTML report."""
        from components.validate_data.html_report import render_html

        return render_html(self)

    def return_value(self) -> bool:
        """Whether every check passed; raises when `on_failure` says the failures stop the run.

        Raises:
            DataValidationError: See `enforce`.
        """
        return enforce(self, self.on_failure)

    def failure_message(self) -> str:
        """A multi-line message listing each failed check, or a pass line."""
        head = (
            f"data contract {self.contract_name!r} v{self.contract_version}: "
            f"{len(self.failures)} of {len(self.checks)} expectations failed on {self.rows} rows"
        )
        return "\n".join([head, *(f"  - {c.describe()}" for c in self.failures)])


def parse_on_failure(on_failure: str) -> str:
    """Checks the `on_failure` parameter.

    Args:
        on_failure: ``"fail"`` (raise on any failed check), ``"schema"`` (raise only on a
            failed `SCHEMA_CHECKS` check) or ``"report"`` (never raise).

    Returns:
        The mode.

    Raises:
        ValueError: If the value is not one of `ON_FAILURE_MODES`.
    """
    if on_failure not in ON_FAILURE_MODES:
        raise ValueError(f"on_failure must be one of {list(ON_FAILURE_MODES)}, got {on_failure!r}")
    return on_failure


def parse_now(now: str | dt.datetime | None) -> pd.Timestamp:
    """Parses the validation time; empty or None means the current UTC time.

    Args:
        now: ISO 8601 timestamp or datetime; a naive value is taken to be UTC.

    Returns:
        A tz-aware UTC timestamp.

    Raises:
        ValueError: If `now` is not a timestamp.
    """
    stamp = parse_utc(now, "now") if isinstance(now, str) or now is None else to_utc(now)
    return pd.Timestamp.now(tz="UTC") if stamp is None else stamp


def plan_checks(contract: DataContract, now: pd.Timestamp) -> tuple[PlannedCheck, ...]:
    """Turns a contract into the list of expectations that enforce it (no GX import).

    Args:
        contract: The contract.
        now: Upper bound for ``not_in_future`` columns.

    Returns:
        Planned checks in a stable order: table checks, then each column's, then keys.
    """
    checks = [_row_count_check(contract)]
    if not contract.allow_extra_columns:
        names = list(contract.column_names)
        checks.append(
            PlannedCheck(
                TABLE,
                "columns",
                "ExpectTableColumnsToMatchSet",
                {"column_set": names, "exact_match": True},
                f"exactly the columns {names}",
            )
        )
    for spec in contract.columns:
        checks.extend(_column_checks(spec, now))
    for key in contract.unique:
        if len(key) == 1:
            checks.append(
                PlannedCheck(
                    key[0],
                    "unique",
                    "ExpectColumnValuesToBeUnique",
                    {"column": key[0]},
                    f"unique values of {key[0]}",
                )
            )
        else:
            checks.append(
                PlannedCheck(
                    ", ".join(key),
                    "unique",
                    "ExpectCompoundColumnsToBeUnique",
                    {"column_list": list(key)},
                    f"unique combinations of ({', '.join(key)})",
                )
            )
    return tuple(checks)


def _row_count_check(contract: DataContract) -> PlannedCheck:
    kwargs: dict[str, Any] = {"min_value": contract.min_rows}
    expected = f">= {contract.min_rows} rows"
    if contract.max_rows is not None:
        kwargs["max_value"] = contract.max_rows
        expected = f"between {contract.min_rows} and {contract.max_rows} rows"
    return PlannedCheck(TABLE, "row_count", "ExpectTableRowCountToBeBetween", kwargs, expected)


def _column_checks(spec: ColumnSpec, now: pd.Timestamp) -> list[PlannedCheck]:
    col = spec.name
    checks = [
        PlannedCheck(col, "exists", "ExpectColumnToExist", {"column": col}, "column present"),
        PlannedCheck(
            col, "dtype", "ExpectColumnTypeToBe", {"column": col, "type_": spec.dtype}, spec.dtype
        ),
    ]
    if spec.max_null_fraction < 1.0:
        expected = (
            "no nulls"
            if spec.max_null_fraction == 0
            else f"null share <= {spec.max_null_fraction:.2%}"
        )
        checks.append(
            PlannedCheck(
                col,
                "nulls",
                "ExpectColumnValuesToNotBeNull",
                {"column": col, "mostly": 1.0 - spec.max_null_fraction},
                expected,
            )
        )
    if spec.min_value is not None or spec.max_value is not None:
        kwargs: dict[str, Any] = {"column": col}
        if spec.min_value is not None:
            kwargs["min_value"] = spec.min_value
        if spec.max_value is not None:
            kwargs["max_value"] = spec.max_value
        checks.append(
            PlannedCheck(
                col,
                "range",
                "ExpectColumnValuesToBeBetween",
                kwargs,
                _range_text(spec.min_value, spec.max_value),
            )
        )
    if spec.allowed_values is not None:
        checks.append(
            PlannedCheck(
                col,
                "allowed_values",
                "ExpectColumnValuesToBeInSet",
                {"column": col, "value_set": list(spec.allowed_values)},
                f"one of {list(spec.allowed_values)}",
            )
        )
    if spec.not_in_future:
        checks.append(
            PlannedCheck(
                col,
                "not_in_future",
                "ExpectColumnValuesToBeBetween",
                {"column": col, "max_value": now.to_pydatetime()},
                f"<= now ({now.isoformat()})",
            )
        )
    return checks


def _range_text(lo: Any, hi: Any) -> str:
    def fmt(v: Any) -> str:
        return v.isoformat() if isinstance(v, dt.datetime) else f"{v:g}"

    if lo is not None and hi is not None:
        return f"between {fmt(lo)} and {fmt(hi)}"
    return f">= {fmt(lo)}" if lo is not None else f"<= {fmt(hi)}"


def build_suite(contract: DataContract, now: str | dt.datetime | None = None) -> Any:
    """Builds the GX 1.x `ExpectationSuite` that enforces a contract.

    Args:
        contract: The contract.
        now: Upper bound for ``not_in_future`` columns; see `parse_now`.

    Returns:
        A `great_expectations.ExpectationSuite`, one expectation per `plan_checks` entry.
    """
    return _suite(plan_checks(contract, parse_now(now)), contract.name)


def _suite(checks: Sequence[PlannedCheck], name: str) -> Any:
    """Instantiates the planned expectations; ``meta.check_index`` maps results back."""
    import great_expectations as gx
    import great_expectations.expectations as gxe

    expectations = [
        getattr(gxe, c.expectation)(**c.kwargs, meta={"check_index": i})
        for i, c in enumerate(checks)
    ]
    return gx.ExpectationSuite(name=name, expectations=expectations)


def _ephemeral_context() -> Any:
    """An in-memory GX context with progress bars and analytics off."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        store_backend_defaults=InMemoryStoreBackendDefaults(),
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def validate_frame(
    df: pd.DataFrame, contract: DataContract, *, now: str | dt.datetime | None = None
) -> ValidationReport:
    """Validates a frame against a contract in an ephemeral GX context.

    Args:
        df: The batch.
        contract: The contract.
        now: Validation time for ``not_in_future`` (ISO 8601 or datetime); None or empty
            means the current UTC time. Pass it for reproducible results.

    Returns:
        The report; it does not raise on failed checks (see `enforce`).
    """
    import great_expectations as gx

    now_ts = parse_now(now)
    df = with_canonical_datetimes(df, contract)
    checks = plan_checks(contract, now_ts)
    context = _ephemeral_context()
    batch = (
        context.data_sources.add_pandas("contract_data")
        .add_dataframe_asset("batch")
        .add_batch_definition_whole_dataframe("whole_batch")
    )
    suite = context.suites.add(_suite(checks, contract.name))
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=f"{contract.name}_validation", data=batch, suite=suite)
    )
    started = time.perf_counter()
    result = definition.run(batch_parameters={"dataframe": df}, result_format="BASIC")
    duration = time.perf_counter() - started
    gx_result = json.loads(json.dumps(result.to_json_dict(), default=str))

    by_index = {r["expectation_config"]["meta"]["check_index"]: r for r in gx_result["results"]}
    outcomes = tuple(_outcome(c, by_index[i]) for i, c in enumerate(checks))
    return ValidationReport(
        contract_name=contract.name,
        contract_version=contract.version,
        success=all(o.success for o in outcomes),
        rows=len(df),
        now=now_ts.isoformat(),
        checks=outcomes,
        duration_s=round(duration, 4),
        gx_result=gx_result,
    )


def _outcome(check: PlannedCheck, result: Mapping[str, Any]) -> CheckResult:
    success = bool(result["success"])
    return CheckResult(
        column=check.column,
        check=check.check,
        expectation=result["expectation_config"]["type"],
        expected=check.expected,
        observed=_observed(check.check, success, result),
        success=success,
    )


def _observed(check: str, success: bool, result: Mapping[str, Any]) -> str:
    error = _exception_message(result.get("exception_info") or {})
    if error:
        return f"not evaluated: {error}"
    res = result.get("result") or {}
    if check == "exists":
        return "present" if success else "column missing"
    if check == "columns":
        mismatched = res.get("details", {}).get("mismatched", {})
        parts = [f"{k} {v}" for k, v in sorted(mismatched.items()) if v]
        return "; ".join(parts) if parts else f"columns {res.get('observed_value')}"
    if check == "row_count":
        return f"{res.get('observed_value')} rows"
    if "observed_value" in res:
        return str(res["observed_value"])
    if "unexpected_count" in res:
        bad, total = res["unexpected_count"] or 0, res.get("element_count") or 0
        share = f" ({bad / total:.2%})" if total else ""
        text = f"{bad} of {total} rows {_UNEXPECTED_NOUN.get(check, 'unexpected')}{share}"
        sample = _sample(res.get("partial_unexpected_list") or [])
        return f"{text}, e.g. {sample}" if sample and check != "nulls" else text
    return json.dumps(res, default=str)


def _exception_message(info: Mapping[str, Any]) -> str | None:
    """GX reports an exception either flat or keyed by metric id; collect the messages."""
    entries = [info] if "raised_exception" in info else list(info.values())
    messages = []
    for entry in entries:
        if isinstance(entry, Mapping) and entry.get("exception_message"):
            msg = str(entry["exception_message"]).strip()
            if msg not in messages:
                messages.append(msg)
    return "; ".join(messages) or None


def _sample(values: Sequence[Any]) -> str:
    seen: list[str] = []
    for v in values:
        text = json.dumps(v, default=str) if isinstance(v, Mapping) else str(v)
        if text not in seen:
            seen.append(text)
        if len(seen) == _SAMPLE_SIZE:
            break
    return ", ".join(seen)


def enforce(report: ValidationReport, on_failure: str) -> bool:
    """Applies the failure policy to a report.

    Args:
        report: The validation report.
        on_failure: ``"fail"`` raises on any failed check; ``"schema"`` raises only if a
            `SCHEMA_CHECKS` check failed; ``"report"`` never raises.

    Returns:
        Whether every check passed (also False when a non-raising mode let failures by).

    Raises:
        DataValidationError: If the mode says the failures stop the run; the message lists
            every failed check.
        ValueError: If `on_failure` is not a known mode.
    """
    mode = parse_on_failure(on_failure)
    blocking = {
        "fail": report.failures,
        "schema": tuple(c for c in report.failures if c.check in SCHEMA_CHECKS),
        "report": (),
    }[mode]
    if blocking:
        raise DataValidationError(report, mode)
    return report.success


@dataclass(frozen=True)
class ValidateConfig:
    """What `run` validates and how a failure is handled.

    Attributes:
        data: The batch.
        contract: The contract, or its dict form (as a compiled pipeline passes it).
        on_failure: ``fail``, ``schema`` or ``report`` (see `enforce`).
        now: Validation time (ISO 8601; "" = now); see `validate_frame`.
        pushgateway_url: Pushgateway for the step's gauges ("" = environment or off).
        pipeline_run: KFP run name for the ``pipeline_run`` label.
        feature_service: Feature service of the batch (metric label).
        report_url: Where the HTML report will be (linked from notifications).
    """

    data: pd.DataFrame
    contract: DataContract | Mapping[str, Any]
    on_failure: str = "fail"
    now: str | dt.datetime | None = ""
    pushgateway_url: str = ""
    pipeline_run: str = ""
    feature_service: str = ""
    report_url: str = ""


def run(config: ValidateConfig) -> ValidationReport:
    """The component's work: validate the batch, push the step's gauges.

    Failed checks do not raise here: ``return_value()`` of the result applies the
    failure policy, after the outputs are written.

    Args:
        config: The batch, contract and policy.

    Raises:
        ContractError: If the contract is a malformed dict.
        ValueError: If `on_failure` or `now` is invalid.
    """
    from components._observability.steps import publish_validation

    mode = parse_on_failure(config.on_failure)
    contract = config.contract
    if not isinstance(contract, DataContract):
        contract = contract_from_dict(contract)
    report = validate_frame(config.data, contract, now=config.now)
    report = dataclasses.replace(report, on_failure=mode)
    print(f"[suite] validate_data: {report.failure_message().splitlines()[0]}", flush=True)
    publish_validation(
        report, gateway_url=config.pushgateway_url, pipeline_run=config.pipeline_run,
        feature_service=config.feature_service, report_url=config.report_url,
    )  # fmt: skip
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``draft`` a contract from reference data, or ``validate`` a batch.

    Args:
        argv: Arguments (defaults to ``sys.argv[1:]``).

    Returns:
        Exit code: 0 on success, 1 if ``validate`` found failed checks.
    """
    parser = argparse.ArgumentParser(prog="python -m components.validate_data.core")
    sub = parser.add_subparsers(dest="command", required=True)
    draft = sub.add_parser("draft", help="draft a contract YAML from a reference parquet file")
    draft.add_argument("--data", required=True, help="reference parquet file")
    draft.add_argument("--out", required=True, help="where to write the contract YAML")
    draft.add_argument("--name", default="draft", help="contract name")
    draft.add_argument(
        "--unique",
        action="append",
        default=[],
        help="comma-separated columns that must be unique together (repeatable)",
    )
    draft.add_argument(
        "--categorical", default="", help="comma-separated extra categorical columns"
    )
    check = sub.add_parser("validate", help="validate a parquet batch against a contract")
    check.add_argument("--data", required=True, help="parquet file to validate")
    check.add_argument("--contract", required=True, help="contract YAML")
    check.add_argument("--now", default="", help="validation time, ISO 8601 (default: now)")
    check.add_argument("--report", default="validation.html", help="HTML report path")
    check.add_argument("--result", default="validation.json", help="JSON result path")
    args = parser.parse_args(argv)

    if args.command == "draft":
        contract = draft_contract(
            pd.read_parquet(args.data),
            name=args.name,
            unique=[_split(u) for u in args.unique],
            categorical=_split(args.categorical),
        )
        print(f"wrote {dump_contract(contract, args.out)}")
        return 0
    report = validate_frame(pd.read_parquet(args.data), load_contract(args.contract), now=args.now)
    write_reports(report, report_path=args.result, html_path=args.report)
    print(report.failure_message())
    return 0 if report.success else 1


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


if __name__ == "__main__":
    raise SystemExit(main())
