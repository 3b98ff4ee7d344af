"""BigQuery functions DuckDB has no exact equivalent for, as DuckDB functions written in
Python (transpile.py calls them by these names).

They run row by row in Python: exact first. The project's models call none of them on
their large inputs; a view that calls one can only be read through a session prepared by
`bigquery_session` (the executor's and the engine's sessions are).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, DivisionByZero, InvalidOperation, localcontext
from typing import Any

import duckdb
from duckdb.func import FunctionNullHandling

from winter_days.warehouse.duckdb.dialect.farmhash import fingerprint64
from winter_days.warehouse.duckdb.dialect.string_format import (
    FormatSpecError,
    format_float,
    format_integer,
    format_numeric,
    format_string,
)
from winter_days.warehouse.duckdb.dialect.time_formats import (
    FormatError,
    format_value,
    offset_suffix,
    parse_value,
    zone_info,
)

NUMERIC = "DECIMAL(38, 9)"
_NUMERIC_LIMIT = Decimal("1e29")
_NINE_PLACES = Decimal("1e-9")


class BigQueryError(ValueError):
    """An error BigQuery raises for these inputs (the message says which function)."""


def _timestamp_string(value: dt.datetime, zone: str) -> str:
    local = value.astimezone(zone_info(zone))
    fraction = f"{local.microsecond:06d}".rstrip("0")
    return local.strftime("%Y-%m-%d %H:%M:%S") + (f".{fraction}" if fraction else "") + offset_suffix(local)


def _format_timestamp(fmt: str, value: dt.datetime, zone: str) -> str:
    try:
        return format_value(fmt, value.astimezone(zone_info(zone)), "TIMESTAMP")
    except FormatError as err:
        raise BigQueryError(f"FORMAT_TIMESTAMP: {err}") from None


def _format_datetime(fmt: str, value: dt.datetime) -> str:
    try:
        return format_value(fmt, value, "DATETIME")
    except FormatError as err:
        raise BigQueryError(f"FORMAT_DATETIME: {err}") from None


def _format_date(fmt: str, value: dt.date) -> str:
    try:
        return format_value(fmt, value, "DATE")
    except FormatError as err:
        raise BigQueryError(f"FORMAT_DATE: {err}") from None


def _parser(kind: str, function: str):
    def parse(fmt: str | None, text: str | None, zone: str | None, safe: bool):
        if fmt is None or text is None or zone is None:
            return None
        try:
            return parse_value(fmt, text, kind, zone)
        except FormatError as err:
            if safe:
                return None
            raise BigQueryError(f"{function}: {err}") from None

    return parse


def _instr(value: str, sub: str, position: int, occurrence: int) -> int:
    """BigQuery's INSTR: overlapping occurrences, a negative position searches backwards."""
    if position == 0:
        raise BigQueryError("INSTR: position can't be 0")
    if occurrence <= 0:
        raise BigQueryError("INSTR: occurrence must be positive")
    if position > 0:
        start = position - 1
        found = 0
        while start <= len(value):
            at = value.find(sub, start)
            if at < 0:
                return 0
            found += 1
            if found == occurrence:
                return at + 1
            start = at + 1
        return 0
    end = len(value) + position + 1  # a match may start at or before this 0-based index + 1
    if end <= 0:
        return 0
    found = 0
    start = min(end - 1, len(value) - len(sub))
    while start >= 0:
        at = value.rfind(sub, 0, start + len(sub))
        if at < 0:
            return 0
        found += 1
        if found == occurrence:
            return at + 1
        start = at - 1
    return 0


def _numeric(value: Decimal, function: str) -> Decimal:
    rounded = value.quantize(_NINE_PLACES, rounding=ROUND_HALF_UP)
    if abs(rounded) >= _NUMERIC_LIMIT:
        raise BigQueryError(f"numeric overflow: {function} result {value} is out of NUMERIC's range")
    return rounded


def _numeric_divide(left: Decimal, right: Decimal) -> Decimal:
    with localcontext() as context:
        context.prec = 80
        try:
            return _numeric(left / right, "division")
        except (DivisionByZero, InvalidOperation):
            raise BigQueryError(f"division by zero: {left.normalize()} / {right.normalize()}") from None


def _numeric_multiply(left: Decimal, right: Decimal) -> Decimal:
    with localcontext() as context:
        context.prec = 80
        return _numeric(left * right, "multiplication")


def _numeric_string(value: Decimal) -> str:
    """BigQuery's NUMERIC as STRING: no trailing zeros, no exponent."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _float_string(value: float) -> str:
    """BigQuery's FLOAT64 as STRING: the shortest of 15 or 17 significant digits that reads
    back as the same value; inf, -inf, nan; -0 keeps its sign."""
    if value != value:
        return "nan"
    if value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    text = f"{value:.15g}"
    if float(text) != value:
        text = f"{value:.17g}"
    return text


def _formatter(function):
    def formatted(spec: str, value):
        try:
            return function(spec, value)
        except FormatSpecError as err:
            raise BigQueryError(str(err)) from None

    return formatted


def _digest(algorithm: str, value: bytes) -> bytes:
    return hashlib.new(algorithm, bytes(value)).digest()


_FUNCTIONS: list[tuple[str, Callable[..., Any], list[Any], str]] = [
    ("winter_days_farm_fingerprint", fingerprint64, ["VARCHAR"], "BIGINT"),
    ("winter_days_farm_fingerprint_bytes", lambda b: fingerprint64(bytes(b)), ["BLOB"], "BIGINT"),
    ("winter_days_timestamp_string", _timestamp_string, ["TIMESTAMPTZ", "VARCHAR"], "VARCHAR"),
    ("winter_days_format_timestamp", _format_timestamp, ["VARCHAR", "TIMESTAMPTZ", "VARCHAR"], "VARCHAR"),
    ("winter_days_format_datetime", _format_datetime, ["VARCHAR", "TIMESTAMP"], "VARCHAR"),
    ("winter_days_format_date", _format_date, ["VARCHAR", "DATE"], "VARCHAR"),
    (
        "winter_days_parse_timestamp",
        _parser("TIMESTAMP", "PARSE_TIMESTAMP"),
        ["VARCHAR", "VARCHAR", "VARCHAR", "BOOLEAN"],
        "TIMESTAMPTZ",
    ),
    (
        "winter_days_parse_datetime",
        _parser("DATETIME", "PARSE_DATETIME"),
        ["VARCHAR", "VARCHAR", "VARCHAR", "BOOLEAN"],
        "TIMESTAMP",
    ),
    ("winter_days_parse_date", _parser("DATE", "PARSE_DATE"), ["VARCHAR", "VARCHAR", "VARCHAR", "BOOLEAN"], "DATE"),
    ("winter_days_instr", _instr, ["VARCHAR", "VARCHAR", "BIGINT", "BIGINT"], "BIGINT"),
    ("winter_days_numeric_divide", _numeric_divide, [NUMERIC, NUMERIC], NUMERIC),
    ("winter_days_numeric_multiply", _numeric_multiply, [NUMERIC, NUMERIC], NUMERIC),
    ("winter_days_numeric_string", _numeric_string, [NUMERIC], "VARCHAR"),
    ("winter_days_float_string", _float_string, ["DOUBLE"], "VARCHAR"),
    ("winter_days_code_points", lambda text: [ord(c) for c in text], ["VARCHAR"], "BIGINT[]"),
    ("winter_days_byte_values", lambda data: list(bytes(data)), ["BLOB"], "BIGINT[]"),
    ("winter_days_digest", _digest, ["VARCHAR", "BLOB"], "BLOB"),
    ("winter_days_format_integer", _formatter(format_integer), ["VARCHAR", "HUGEINT"], "VARCHAR"),
    ("winter_days_format_float", _formatter(format_float), ["VARCHAR", "DOUBLE"], "VARCHAR"),
    ("winter_days_format_numeric", _formatter(format_numeric), ["VARCHAR", NUMERIC], "VARCHAR"),
    ("winter_days_format_string", _formatter(format_string), ["VARCHAR", "VARCHAR"], "VARCHAR"),
]


# Held while a connection's functions are registered (see bigquery_session).
_REGISTERING = threading.Lock()


def bigquery_session(con: duckdb.DuckDBPyConnection) -> None:
    """BigQuery's session semantics on a DuckDB connection: UTC, and the functions above."""
    con.execute("SET TimeZone = 'UTC'")
    if _registered(con):
        return  # a cursor shares its connection's functions: each action's cursor lands here
    # Connections to one database file in one process share its catalog: requests opening
    # the warehouse at once (the dashboards' threads) would register the same function twice.
    with _REGISTERING:
        present = {
            row[0]
            for row in con.execute(
                "SELECT function_name FROM duckdb_functions() WHERE function_name LIKE 'winter_days_%'"
            ).fetchall()
        }
        for name, function, parameters, result in _FUNCTIONS:
            if name in present:
                continue  # another connection or cursor of this database registered it
            # SAFE. parsing returns NULL for bad input: those functions see NULLs themselves.
            nulls = (
                FunctionNullHandling.SPECIAL if name.startswith("winter_days_parse_") else FunctionNullHandling.DEFAULT
            )
            con.create_function(name, function, parameters, result, side_effects=False, null_handling=nulls)


def _registered(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the connection has the functions already: the last one registered binds. A
    probe, because listing duckdb_functions() costs about 20 ms, paid by every action."""
    name, _, parameters, _ = _FUNCTIONS[-1]
    arguments = ", ".join(f"CAST(NULL AS {kind})" for kind in parameters)
    try:
        con.execute(f"SELECT {name}({arguments}) WHERE false")
    except duckdb.CatalogException:
        return False
    return True
