"""The declarative data contract: dataclasses, YAML loading, strict parsing and drafting.

A contract says what a batch must look like: its columns with pandas dtypes, a null
tolerance per column, value ranges, allowed categories, timestamps that may not lie in
the future, compound keys that must be unique, and a row-count window. It is plain data
(YAML on disk, a dict inside a compiled pipeline); `components.validate_data.core` turns
it into a Great Expectations suite. Nothing here imports Great Expectations.

YAML shape::

    name: my_features_v1
    version: 1
    description: free text
    table:
      min_rows: 100
      max_rows: null
      unique: [[entity_id, event_timestamp]]
      allow_extra_columns: false
    columns:
      age:
        dtype: float64
        max_null_fraction: 0.02
        min: 18
        max: 100
      plan:
        dtype: object
        allowed_values: [basic, standard, premium]
      event_timestamp:
        dtype: datetime64[ns, UTC]
        not_in_future: true

`columns` may also be a list of specs that each carry a ``name``; `contract_parameter`
emits that form, because a KFP dict parameter does not keep key order.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pandas.api import types as ptypes

from components._time import to_utc

Bound = int | float | dt.datetime
Category = str | int | float | bool

_TOP_KEYS = frozenset({"name", "version", "description", "table", "columns"})
_TABLE_KEYS = frozenset({"min_rows", "max_rows", "unique", "allow_extra_columns"})
_COLUMN_KEYS = frozenset(
    {"dtype", "description", "max_null_fraction", "min", "max", "allowed_values", "not_in_future"}
)


class ContractError(ValueError):
    """A data contract is malformed; the message lists every problem with its key path."""

    def __init__(self, problems: Sequence[str], source: str = "data contract") -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid {source} ({len(self.problems)} problem(s)):\n{lines}")


@dataclass(frozen=True)
class ColumnSpec:
    """What one column must satisfy.

    Attributes:
        name: Column name.
        dtype: Exact pandas dtype name, e.g. ``int64``, ``object``, ``datetime64[ns, UTC]``.
        max_null_fraction: Largest tolerated share of nulls, 0 (none) to 1 (any).
        min_value: Inclusive lower bound (numbers; tz-aware datetimes for datetime columns).
        max_value: Inclusive upper bound, same types as `min_value`.
        allowed_values: The only values allowed (nulls are governed by `max_null_fraction`).
        not_in_future: Datetime columns only: no value may be later than the validation time.
        description: Free text for people reading the contract.
    """

    name: str
    dtype: str
    max_null_fraction: float = 0.0
    min_value: Bound | None = None
    max_value: Bound | None = None
    allowed_values: tuple[Category, ...] | None = None
    not_in_future: bool = False
    description: str = ""

    @property
    def is_datetime(self) -> bool:
        """Whether the declared dtype is a datetime dtype."""
        return ptypes.is_datetime64_any_dtype(ptypes.pandas_dtype(self.dtype))


@dataclass(frozen=True)
class DataContract:
    """A versioned contract for a tabular batch.

    Attributes:
        name: Contract name, e.g. ``my_features_v1``.
        columns: Column specs, in the order the contract lists them.
        version: Positive integer, bumped on every change to the contract.
        description: Free text.
        min_rows: Smallest acceptable row count.
        max_rows: Largest acceptable row count, or None for no upper bound.
        unique: Column groups whose combined values must be unique per row.
        allow_extra_columns: Whether columns the contract does not list are tolerated.
    """

    name: str
    columns: tuple[ColumnSpec, ...]
    version: int = 1
    description: str = ""
    min_rows: int = 1
    max_rows: int | None = None
    unique: tuple[tuple[str, ...], ...] = ()
    allow_extra_columns: bool = True

    @property
    def column_names(self) -> tuple[str, ...]:
        """The contract's column names, in order."""
        return tuple(c.name for c in self.columns)


class _StrictLoader(yaml.SafeLoader):
    """A SafeLoader that rejects duplicate mapping keys instead of keeping the last one."""


def _construct_unique_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict:
    seen: set[Hashable] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, Hashable):
            if key in seen:
                line = key_node.start_mark.line + 1
                raise ContractError([f"line {line}: duplicate key {key!r}"], "contract YAML")
            seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def load_contract(path: str | Path) -> DataContract:
    """Reads and validates a contract YAML file.

    Args:
        path: Path to the YAML file.

    Returns:
        The parsed contract.

    Raises:
        ContractError: If the YAML is malformed or the contract is invalid.
        FileNotFoundError: If `path` does not exist.
    """
    path = Path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise ContractError([f"not valid YAML: {exc}"], f"data contract {path}") from exc
    try:
        return contract_from_dict(raw)
    except ContractError as exc:
        raise ContractError(exc.problems, f"data contract {path}") from None


def contract_from_dict(d: Mapping[str, Any]) -> DataContract:
    """Builds a contract from its dict form (parsed YAML, or a pipeline parameter).

    Every problem is collected before raising, so one error lists all of them.

    Args:
        d: The contract as a mapping, shaped like the YAML in this module's docstring.

    Returns:
        The validated contract.

    Raises:
        ContractError: If the mapping is not a valid contract.
    """
    problems: list[str] = []
    if not isinstance(d, Mapping):
        raise ContractError([f"the contract must be a mapping, got {type(d).__name__}"])
    _unknown_keys(d, _TOP_KEYS, "", problems)

    name = d.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"name: expected a non-empty string, got {name!r}")
    version = _int_field(d, "version", 1, 1, "", problems)
    description = _string(d.get("description", ""), "description", problems)

    column_items = _column_items(d.get("columns"), problems)
    columns = _parse_columns(column_items, problems)
    # Declared names, valid spec or not, so a bad spec is not reported twice.
    names = {name for name, _ in column_items}

    table = d.get("table", {})
    if table is None:
        table = {}
    if not isinstance(table, Mapping):
        problems.append(f"table: expected a mapping, got {type(table).__name__}")
        table = {}
    _unknown_keys(table, _TABLE_KEYS, "table.", problems)
    min_rows = _int_field(table, "min_rows", 1, 0, "table.", problems)
    max_rows = _int_field(table, "max_rows", None, min_rows or 0, "table.", problems)
    allow_extra = table.get("allow_extra_columns", True)
    if not isinstance(allow_extra, bool):
        problems.append(f"table.allow_extra_columns: expected true or false, got {allow_extra!r}")
    unique = _parse_unique(table.get("unique", []), names, problems)

    if problems:
        raise ContractError(problems)
    return DataContract(
        name=name,
        columns=columns,
        version=version,
        description=description,
        min_rows=min_rows,
        max_rows=max_rows,
        unique=unique,
        allow_extra_columns=allow_extra,
    )


def _column_items(raw: Any, problems: list[str]) -> list[tuple[str, Any]]:
    """(name, spec) pairs from a mapping (the YAML form) or a list of specs with a `name`.

    The list form keeps the column order where a mapping would lose it (a KFP dict
    parameter is a protobuf Struct, whose keys come back in arbitrary order).
    """
    if isinstance(raw, Mapping) and raw:
        items = list(raw.items())
    elif isinstance(raw, list) and raw and all(isinstance(s, Mapping) for s in raw):
        items = [(s.get("name"), {k: v for k, v in s.items() if k != "name"}) for s in raw]
    else:
        problems.append(
            "columns: expected a non-empty mapping of column name -> spec "
            "(or a list of specs that each have a `name`)"
        )
        return []
    valid, seen = [], set()
    for name, spec in items:
        if not isinstance(name, str) or not name:
            problems.append(f"columns: column names must be non-empty strings, got {name!r}")
        elif name in seen:
            problems.append(f"columns: column {name!r} is declared twice")
        else:
            seen.add(name)
            valid.append((name, spec))
    return valid


def _parse_columns(items: list[tuple[str, Any]], problems: list[str]) -> tuple[ColumnSpec, ...]:
    parsed = (_parse_column(name, spec, problems) for name, spec in items)
    return tuple(spec for spec in parsed if spec is not None)


def _parse_column(name: str, spec: Any, problems: list[str]) -> ColumnSpec | None:
    where = f"columns.{name}"
    if not isinstance(spec, Mapping):
        problems.append(f"{where}: expected a mapping with at least 'dtype', got {spec!r}")
        return None
    before = len(problems)
    _unknown_keys(spec, _COLUMN_KEYS, f"{where}.", problems)
    dtype = spec.get("dtype")
    kind = _dtype_kind(dtype, f"{where}.dtype", problems)

    null_frac = spec.get("max_null_fraction", 0.0)
    if not _is_number(null_frac) or not 0.0 <= null_frac <= 1.0:
        problems.append(
            f"{where}.max_null_fraction: expected a number in [0, 1], got {null_frac!r}"
        )

    bounds = {}
    for key in ("min", "max"):
        value = spec.get(key)
        if value is not None:
            bounds[key] = _parse_bound(value, kind, f"{where}.{key}", problems)
    if (
        bounds.get("min") is not None
        and bounds.get("max") is not None
        and bounds["min"] > bounds["max"]
    ):
        problems.append(f"{where}: min {bounds['min']!r} is greater than max {bounds['max']!r}")

    allowed = spec.get("allowed_values")
    if allowed is not None:
        if (
            isinstance(allowed, str | bytes)
            or not isinstance(allowed, Sequence)
            or not allowed
            or not all(isinstance(v, Category) for v in allowed)
        ):
            problems.append(
                f"{where}.allowed_values: expected a non-empty list of scalars, got {allowed!r}"
            )
        elif kind == "numeric" and ptypes.is_integer_dtype(ptypes.pandas_dtype(dtype)):
            allowed = tuple(v if _as_int(v) is None else _as_int(v) for v in allowed)
        else:
            allowed = tuple(allowed)

    not_in_future = spec.get("not_in_future", False)
    if not isinstance(not_in_future, bool):
        problems.append(f"{where}.not_in_future: expected true or false, got {not_in_future!r}")
    elif not_in_future and kind not in (None, "datetime"):
        problems.append(f"{where}.not_in_future: only valid for datetime columns, dtype is {dtype}")
    description = _string(spec.get("description", ""), f"{where}.description", problems)

    if len(problems) > before:
        return None
    return ColumnSpec(
        name=name,
        dtype=canonical_dtype(dtype),
        max_null_fraction=float(null_frac),
        min_value=bounds.get("min"),
        max_value=bounds.get("max"),
        allowed_values=allowed,
        not_in_future=not_in_future,
        description=description,
    )


def canonical_dtype(dtype: str) -> str:
    """Returns a dtype name with datetime precision unified to nanoseconds.

    ``datetime64[us, UTC]`` (what Arrow, Spark and pandas 3 write) and
    ``datetime64[ns, UTC]`` (what Feast retrieval returns) are one type for a
    contract: the precision is not a data problem. The time zone is kept, so a naive
    ``datetime64[ns]`` and an aware ``datetime64[ns, UTC]`` stay different types.

    Args:
        dtype: A pandas dtype name.
    """
    try:
        parsed = ptypes.pandas_dtype(dtype)
    except TypeError:
        return dtype
    if isinstance(parsed, pd.DatetimeTZDtype):
        return str(pd.DatetimeTZDtype("ns", parsed.tz))
    if ptypes.is_datetime64_dtype(parsed):
        return "datetime64[ns]"
    return dtype


def with_canonical_datetimes(df: pd.DataFrame, contract: DataContract) -> pd.DataFrame:
    """Returns `df` with the contract's datetime columns at nanosecond precision.

    Only the precision changes (a column with another time zone, or naive where the
    contract says aware, is left as it is so the dtype check reports it). Returns
    `df` itself when nothing needs converting.

    Args:
        df: The batch.
        contract: Its contract.
    """
    converted = {}
    for spec in contract.columns:
        if spec.name not in df.columns or not spec.is_datetime:
            continue
        dtype = df[spec.name].dtype
        if ptypes.is_datetime64_any_dtype(dtype) and str(dtype) != canonical_dtype(str(dtype)):
            converted[spec.name] = df[spec.name].astype(canonical_dtype(str(dtype)))
    return df.assign(**converted) if converted else df


def _dtype_kind(dtype: Any, where: str, problems: list[str]) -> str | None:
    """Returns "datetime", "numeric" or "other" for a valid pandas dtype name, else None."""
    if not isinstance(dtype, str) or not dtype:
        problems.append(f"{where}: expected a pandas dtype name such as 'float64', got {dtype!r}")
        return None
    try:
        parsed = ptypes.pandas_dtype(dtype)
    except TypeError as exc:
        problems.append(f"{where}: {dtype!r} is not a pandas dtype ({exc})")
        return None
    if ptypes.is_datetime64_any_dtype(parsed):
        return "datetime"
    if ptypes.is_numeric_dtype(parsed) and not ptypes.is_bool_dtype(parsed):
        return "numeric"
    return "other"


def _parse_bound(value: Any, kind: str | None, where: str, problems: list[str]) -> Bound | None:
    if kind == "datetime":
        if isinstance(value, dt.datetime | dt.date | str):
            try:
                return to_utc(value).to_pydatetime()
            except ValueError as exc:
                problems.append(f"{where}: {value!r} is not an ISO 8601 timestamp ({exc})")
                return None
        problems.append(f"{where}: expected an ISO 8601 timestamp, got {value!r}")
        return None
    if kind == "numeric":
        if _is_number(value):
            return value
        problems.append(f"{where}: expected a number, got {value!r}")
        return None
    if kind == "other":
        problems.append(f"{where}: bounds apply only to numeric or datetime columns")
    return None


def _parse_unique(raw: Any, names: set[str], problems: list[str]) -> tuple[tuple[str, ...], ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        problems.append(f"table.unique: expected a list of column lists, got {raw!r}")
        return ()
    keys = []
    for i, key in enumerate(raw):
        cols = [key] if isinstance(key, str) else key
        if not isinstance(cols, Sequence) or not cols or not all(isinstance(c, str) for c in cols):
            problems.append(f"table.unique[{i}]: expected a column name or a list of them")
            continue
        missing = [c for c in cols if c not in names]
        if missing and names:
            problems.append(f"table.unique[{i}]: columns {missing} are not declared in columns")
        keys.append(tuple(cols))
    return tuple(keys)


def _unknown_keys(d: Mapping, allowed: frozenset[str], prefix: str, problems: list[str]) -> None:
    for key in d:
        if key not in allowed:
            problems.append(f"{prefix}{key}: unknown key; allowed: {sorted(allowed)}")


def _string(value: Any, where: str, problems: list[str]) -> str:
    if isinstance(value, str):
        return value
    problems.append(f"{where}: expected a string, got {value!r}")
    return ""


def _as_int(value: Any) -> int | None:
    """An int, also from an integral float, else None.

    KFP passes a dict parameter through a protobuf Struct, where every number is a float,
    so a contract that went through a pipeline arrives with ``version: 1.0``.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _int_field(
    d: Mapping, key: str, default: int | None, minimum: int, prefix: str, problems: list[str]
) -> int | None:
    """Reads an optional integer >= `minimum`; records a problem and returns None if bad."""
    raw = d.get(key, default)
    if raw is None:
        return None
    value = _as_int(raw)
    if value is None or value < minimum:
        problems.append(f"{prefix}{key}: expected an integer >= {minimum}, got {raw!r}")
        return None
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def contract_to_dict(contract: DataContract, *, column_list: bool = False) -> dict[str, Any]:
    """Returns the contract's plain dict form (YAML- and JSON-serialisable).

    `contract_from_dict(contract_to_dict(c)) == c` for every valid contract.

    Args:
        contract: The contract.
        column_list: Emit ``columns`` as a list of specs with a ``name`` (order-safe through
            a KFP parameter) instead of the name -> spec mapping of the YAML form.
    """
    columns: dict[str, dict[str, Any]] = {}
    for c in contract.columns:
        spec: dict[str, Any] = {"dtype": c.dtype, "max_null_fraction": c.max_null_fraction}
        for key, value in (("min", c.min_value), ("max", c.max_value)):
            if value is not None:
                spec[key] = value.isoformat() if isinstance(value, dt.datetime) else value
        if c.allowed_values is not None:
            spec["allowed_values"] = list(c.allowed_values)
        if c.not_in_future:
            spec["not_in_future"] = True
        if c.description:
            spec["description"] = c.description
        columns[c.name] = spec
    out: dict[str, Any] = {"name": contract.name, "version": contract.version}
    if contract.description:
        out["description"] = contract.description
    table: dict[str, Any] = {"min_rows": contract.min_rows}
    if contract.max_rows is not None:
        table["max_rows"] = contract.max_rows
    table["unique"] = [list(k) for k in contract.unique]
    table["allow_extra_columns"] = contract.allow_extra_columns
    out["table"] = table
    out["columns"] = (
        [{"name": name, **spec} for name, spec in columns.items()] if column_list else columns
    )
    return out


def contract_parameter(path: str | Path) -> dict[str, Any]:
    """Loads a contract YAML for use as a KFP pipeline parameter.

    The result is validated and holds only strings, numbers, booleans, lists and dicts (no
    None, no datetime objects), which is what a KFP ``dict`` parameter can carry; raw
    ``yaml.safe_load`` output may hold both and then fails at compile time. Columns are a
    list, because KFP does not keep the key order of a dict parameter.

    Args:
        path: Path to the contract YAML.

    Returns:
        The contract's dict form.

    Raises:
        ContractError: If the contract is invalid.
    """
    return contract_to_dict(load_contract(path), column_list=True)


def dump_contract(contract: DataContract, path: str | Path) -> Path:
    """Writes a contract as YAML (creating parent directories) and returns the path.

    Args:
        contract: The contract.
        path: Where to write it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(contract_to_dict(contract), sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def draft_contract(
    reference_df: pd.DataFrame,
    *,
    name: str = "draft",
    unique: Iterable[Sequence[str]] = (),
    categorical: Iterable[str] = (),
    max_categories: int = 50,
    range_margin: float = 0.1,
    null_margin: float = 0.05,
    min_rows: int | None = None,
) -> DataContract:
    """Drafts a contract from reference data, for a person to review and edit.

    The draft is deliberately close to the reference, so the reference itself passes:

    - dtype: the observed pandas dtype.
    - nulls: 0 if the reference has none, else observed share + `null_margin` (rounded up).
    - numeric ranges: observed min/max widened by `range_margin` x the observed span, never
      below 0 for a column that is non-negative in the reference; integer columns get
      integer bounds.
    - categories: for text, category and bool columns, the columns in `categorical`, and
      integer columns whose values are all 0/1 (flags, binary labels): the observed set,
      if it has at most `max_categories` values.
    - datetime columns: ``not_in_future``.
    - key columns (those in `unique`): dtype and nulls only; a range on an identifier would
      reject every new entity.

    Args:
        reference_df: Reference batch that is known to be good.
        name: Contract name.
        unique: Column groups that must be unique, e.g. ``[("entity_id", "event_timestamp")]``.
        categorical: Extra columns to treat as categorical.
        max_categories: Largest observed set that becomes an allowed-values check.
        range_margin: Relative widening of numeric ranges (share of the observed span).
        null_margin: Absolute slack added to an observed non-zero null share.
        min_rows: Minimum row count; defaults to a tenth of the reference rows (at least 1).

    Returns:
        The drafted contract; `contract_to_dict` / `dump_contract` write it out.

    Raises:
        ValueError: If the frame has no columns, or a `unique`/`categorical` column is absent.
    """
    if reference_df.columns.empty:
        raise ValueError("draft_contract: the reference frame has no columns")
    unique_keys = tuple(tuple(k) for k in unique)
    categorical = frozenset(categorical)
    key_columns = {c for key in unique_keys for c in key}
    absent = sorted((key_columns | categorical) - set(map(str, reference_df.columns)))
    if absent:
        raise ValueError(f"draft_contract: columns {absent} are not in the reference frame")
    specs = []
    for col in reference_df.columns:
        series = reference_df[col]
        spec: dict[str, Any] = {"dtype": canonical_dtype(str(series.dtype))}
        null_share = float(series.isna().mean()) if len(series) else 0.0
        spec["max_null_fraction"] = (
            0.0 if null_share == 0 else min(1.0, math.ceil((null_share + null_margin) * 100) / 100)
        )
        values = series.dropna()
        if ptypes.is_datetime64_any_dtype(series.dtype):
            spec["not_in_future"] = True
        elif col in key_columns or values.empty:
            pass
        elif _looks_categorical(series, col in categorical):
            observed = sorted(values.unique().tolist(), key=str)
            if len(observed) <= max_categories:
                spec["allowed_values"] = observed
        elif ptypes.is_numeric_dtype(series.dtype):
            spec["min_value"], spec["max_value"] = _widened_range(
                values, range_margin, ptypes.is_integer_dtype(series.dtype)
            )
        specs.append(
            ColumnSpec(
                name=str(col),
                dtype=spec["dtype"],
                max_null_fraction=spec["max_null_fraction"],
                min_value=spec.get("min_value"),
                max_value=spec.get("max_value"),
                allowed_values=_as_tuple(spec.get("allowed_values")),
                not_in_future=spec.get("not_in_future", False),
            )
        )
    return DataContract(
        name=name,
        columns=tuple(specs),
        description=f"Drafted from a reference batch of {len(reference_df)} rows; review it.",
        min_rows=max(1, len(reference_df) // 10) if min_rows is None else min_rows,
        unique=unique_keys,
        allow_extra_columns=False,
    )


def _looks_categorical(series: pd.Series, forced: bool) -> bool:
    dtype = series.dtype
    if forced or ptypes.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return True
    if ptypes.is_object_dtype(dtype) or ptypes.is_string_dtype(dtype):
        return True
    return ptypes.is_integer_dtype(dtype) and set(series.dropna().unique()) <= {0, 1}


def _widened_range(values: pd.Series, margin: float, integer: bool) -> tuple[Bound, Bound]:
    lo, hi = float(values.min()), float(values.max())
    span = hi - lo
    low, high = lo - margin * span, hi + margin * span
    if lo >= 0:
        low = max(low, 0.0)
    if integer:
        return math.floor(low), math.ceil(high)
    # Round outward to 4 significant digits for a readable contract, never inside the data.
    return min(_round_sig(low, math.floor), lo), max(_round_sig(high, math.ceil), hi)


def _round_sig(x: float, rounder: Any) -> float:
    if x == 0:
        return 0.0
    factor = 10.0 ** (3 - math.floor(math.log10(abs(x))))
    return rounder(x * factor) / factor


def _as_tuple(values: list | None) -> tuple | None:
    return None if values is None else tuple(_plain(v) for v in values)


def _plain(value: Any) -> Category:
    """Turns numpy scalars into Python scalars so the contract dumps to clean YAML."""
    return value.item() if hasattr(value, "item") else value
