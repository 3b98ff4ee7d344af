"""BigQuery's documented answers on the local engine: every case of bigquery_cases.py,
transpiled and run on one in-memory DuckDB session as the executor runs a query."""

from __future__ import annotations

import math
import re
from pathlib import Path

import duckdb
import pytest

from conformance.bigquery_cases import CASES, Raises
from winter_days.warehouse.duckdb.dialect.functions import SUPPORTED, functions_table
from winter_days.warehouse.duckdb.dialect.transpile import UnsupportedSqlError, to_duckdb_query
from winter_days.warehouse.duckdb.dialect.udfs import bigquery_session


@pytest.fixture(scope="module")
def session():
    con = duckdb.connect()
    bigquery_session(con)
    yield con
    con.close()


def _same(actual: object, expected: object) -> bool:
    if isinstance(expected, float) and isinstance(actual, float):
        return (
            actual == expected
            or math.isclose(actual, expected, rel_tol=1e-12)
            or (math.isnan(actual) and math.isnan(expected))
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(actual) == len(expected) and all(_same(a, b) for a, b in zip(actual, expected, strict=True))
    if isinstance(expected, dict) and isinstance(actual, dict):
        return actual.keys() == expected.keys() and all(_same(actual[k], expected[k]) for k in expected)
    return type(actual) is type(expected) and actual == expected if isinstance(expected, bool) else actual == expected


@pytest.mark.parametrize("case", CASES, ids=[f"{i:03d}-{case.page}" for i, case in enumerate(CASES)])
def test_bigquery_answer(session, case):
    if isinstance(case.expected, Raises):
        with pytest.raises((duckdb.Error, UnsupportedSqlError)) as caught:
            session.execute(to_duckdb_query(case.sql)).fetchall()
        assert case.expected.fragment.lower() in str(caught.value).lower(), f"{case.url}: {caught.value}"
        return
    rows = session.execute(to_duckdb_query(case.sql)).fetchall()
    assert len(rows) == 1, case.url
    assert len(rows[0]) == len(case.expected), case.url
    for actual, expected in zip(rows[0], case.expected, strict=True):
        assert _same(actual, expected), f"{case.url}: {case.sql}\n  got {actual!r}, BigQuery gives {expected!r}"


def test_at_least_150_cases_each_citing_its_page():
    assert len(CASES) >= 150
    assert all(case.url.startswith("https://cloud.google.com/bigquery/docs/reference/standard-sql/") for case in CASES)


def test_every_supported_function_has_a_pinned_answer():
    # A function is supported only when a case pins BigQuery's answer for it.
    text = " ".join(case.sql.upper() for case in CASES if not isinstance(case.expected, Raises))
    unpinned = sorted(name for name in SUPPORTED if name != "CASE" and not re.search(rf"(?<![A-Z_]){name}\s*\(", text))
    assert unpinned == []


def test_docs_list_the_supported_and_refused_functions():
    page = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert functions_table() in page, (
        "README.md's BigQuery functions table is stale: python -m winter_days.warehouse.duckdb.dialect.functions"
    )
