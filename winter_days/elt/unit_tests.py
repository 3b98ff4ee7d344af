"""`winter-days elt test`: a Dataform project's unit tests (`type: "test"`), run locally on DuckDB.

Dataform runs unit tests only on BigQuery. Here each test's two queries, as the compiler
writes them (the tested model's query with every ref replaced by the test's `input`
fixture, and the expected rows), run on a fresh in-memory DuckDB session with BigQuery's
semantics, and the rows are compared as Dataform's test runner compares them: the same
number of rows, the same columns (names compared without case), the same values. Rows are
compared in order when the model orders them; otherwise as a set of rows, since neither
BigQuery nor DuckDB promises an order. Both queries run in one transaction, so
CURRENT_TIMESTAMP() is the same instant in both.

Besides the tests in definitions/ (which Dataform runs too), the project's unit_tests/
folder may hold tests Dataform does not read, for incremental tables (their full-refresh
query), which Dataform's own tests refuse.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TestResult:
    """One test's outcome; `diff` shows the rows that differ when it failed."""

    name: str
    file: str
    passed: bool
    messages: list[str] = field(default_factory=list)
    diff: list[str] = field(default_factory=list)


def _comparable(value: Any) -> Any:
    """A value as the comparison sees it: numbers by value, dates and times as ISO text."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float, decimal.Decimal)):
        number = float(value)
        if not math.isfinite(number):
            return number
        return int(number) if number.is_integer() and abs(number) < 2**53 else round(number, 9)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {key: _comparable(v) for key, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_comparable(v) for v in value]
    return str(value)


def _shown(value: Any) -> str:
    return "null" if value is None else json.dumps(_comparable(value), default=str)


def _ordered(sql: str) -> bool:
    """Whether the query's result is ordered (a top-level ORDER BY)."""
    import sqlglot  # here, not at the top: `winter-days elt` lists this command without it
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read="bigquery")
    except sqlglot.errors.ParseError:
        return False
    return isinstance(tree, exp.Query) and tree.args.get("order") is not None


def _rows(con, sql: str) -> tuple[list[str], list[tuple]]:
    from winter_days.warehouse.duckdb.dialect.transpile import to_duckdb_query

    cursor = con.execute(to_duckdb_query(sql))
    return [d[0] for d in cursor.description], cursor.fetchall()


def compare(
    columns: list[str], actual: list[tuple], expected_columns: list[str], expected: list[tuple], ordered: bool
) -> tuple[list[str], list[str]]:
    """Dataform's comparison of a test's rows: (messages, row diff); both empty when equal."""
    if len(actual) != len(expected):
        messages = [f"Expected {len(expected)} rows, but saw {len(actual)} rows."]
    elif not actual:
        return [], []
    elif len(columns) != len(expected_columns) or {c.upper() for c in columns} != {c.upper() for c in expected_columns}:
        return [f'Expected columns "{",".join(expected_columns)}", but saw "{",".join(columns)}".'], []
    else:
        messages = []
    position = {c.upper(): i for i, c in enumerate(columns)}
    order = [position.get(c.upper()) for c in expected_columns]
    actual_rows = [tuple(_comparable(row[i]) if i is not None else None for i in order) for row in actual]
    expected_rows = [tuple(_comparable(v) for v in row) for row in expected]
    if not messages and ordered:
        for index, (got, want) in enumerate(zip(actual_rows, expected_rows, strict=False)):
            for column, a, b in zip(expected_columns, got, want, strict=False):
                if a != b:
                    messages.append(
                        f'For row {index} and column "{column}": expected {_shown(b)}, but saw {_shown(a)}.'
                    )
    elif not messages:
        unmatched = list(actual_rows)
        missing = []
        for row in expected_rows:
            if row in unmatched:
                unmatched.remove(row)
            else:
                missing.append(row)
        if missing or unmatched:
            messages.append(f"{len(missing)} expected row(s) missing, {len(unmatched)} unexpected row(s).")
    if not messages:
        return [], []
    return messages, _diff(expected_columns, expected_rows, actual_rows)


def _diff(columns: list[str], expected: list[tuple], actual: list[tuple]) -> list[str]:
    """Rows only expected (-) and only seen (+), as column=value lists."""

    def line(sign: str, row: tuple) -> str:
        return sign + " " + ", ".join(f"{c}={_shown(v)}" for c, v in zip(columns, row, strict=False))

    left, right = list(expected), list(actual)
    for row in list(left):
        if row in right:
            right.remove(row)
            left.remove(row)
    lines = [line("-", row) for row in left] + [line("+", row) for row in right]
    for want, got in zip(left, right, strict=False):
        # Rows paired in turn: name the columns that tell them apart.
        changed = [
            f"{c}: expected {_shown(b)}, saw {_shown(a)}" for c, a, b in zip(columns, got, want, strict=False) if a != b
        ]
        lines.append("  differs in " + "; ".join(changed))
    return lines


def run_unit_tests(
    project_dir: Path, vars: dict[str, str] | None = None, names: tuple[str, ...] = ()
) -> list[TestResult]:
    """Compile `project_dir` and run its unit tests (those named in `names`, or all)."""
    import duckdb

    from winter_days.elt.sqlx import compile_project
    from winter_days.warehouse.duckdb.dialect.udfs import bigquery_session

    graph = compile_project(project_dir, vars, local_tests=True)
    results = []
    for test in graph.get("tests", []):
        if names and test["name"] not in names:
            continue
        con = duckdb.connect()
        try:
            bigquery_session(con)
            con.execute("BEGIN TRANSACTION")
            columns, actual = _rows(con, test["testQuery"])
            expected_columns, expected = _rows(con, test["expectedOutputQuery"])
            messages, diff = compare(columns, actual, expected_columns, expected, _ordered(test["testQuery"]))
        except (duckdb.Error, ValueError) as err:
            messages, diff = [f"Error thrown: {err}."], []
        finally:
            con.close()
        results.append(TestResult(test["name"], test.get("fileName", ""), not messages, messages, diff))
    return results


def report(results: list[TestResult], echo: Callable[[str], None]) -> int:
    """Print each test's outcome and the row diff of a failure; the exit code."""
    if not results:
        echo('no unit tests found (type: "test" in definitions/ or unit_tests/)')
        return 1
    for result in results:
        echo(f"{'PASS' if result.passed else 'FAIL'}  {result.name}  ({result.file})")
        for message in result.messages:
            echo(f"      {message}")
        for line in result.diff:
            echo(f"      {line}")
    failed = sum(not r.passed for r in results)
    echo(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed else 0
