"""BigQuery-vs-DuckDB pins: each BigQuery query, transpiled and run on DuckDB, returns the
value BigQuery documents (GoogleSQL reference: date, datetime, timestamp, conversion,
JSON, hash, aggregate and mathematical functions)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from winter_days.elt.engines.duckdb.executor import open_session
from winter_days.warehouse.duckdb.dialect.transpile import UnsupportedSqlError, to_duckdb_query

UTC = ZoneInfo("UTC")


@pytest.fixture
def bigquery(tmp_path):
    """Run one BigQuery SELECT the way the executor does; return its single row."""
    con = open_session(tmp_path / "pins.duckdb")

    def run(sql: str) -> tuple:
        rows = con.execute(to_duckdb_query(sql)).fetchall()
        assert len(rows) == 1
        return rows[0]

    yield run
    con.close()


PINS = [
    # EXTRACT(DAYOFWEEK): Sunday = 1 .. Saturday = 7 (2024-01-07 is a Sunday).
    ("SELECT EXTRACT(DAYOFWEEK FROM DATE '2024-01-07')", (1,)),
    ("SELECT EXTRACT(DAYOFWEEK FROM TIMESTAMP '2024-01-06 23:59:59')", (7,)),
    # EXTRACT(WEEK): Sunday-started weeks, days before the first Sunday are week 0.
    ("SELECT EXTRACT(WEEK FROM DATE '2024-01-06'), EXTRACT(WEEK FROM DATE '2024-01-07')", (0, 1)),
    ("SELECT EXTRACT(ISOWEEK FROM DATE '2024-01-01')", (1,)),
    ("SELECT EXTRACT(DATE FROM TIMESTAMP '2024-01-01 23:00:00')", (dt.date(2024, 1, 1),)),
    # TIMESTAMP_DIFF counts whole units (reference examples: 0, -61, 13410).
    ("SELECT TIMESTAMP_DIFF(TIMESTAMP '2001-02-01 01:00:00', TIMESTAMP '2001-02-01 00:00:01', HOUR)", (0,)),
    ("SELECT TIMESTAMP_DIFF(TIMESTAMP '2018-08-14', TIMESTAMP '2018-10-14', DAY)", (-61,)),
    ("SELECT TIMESTAMP_DIFF(TIMESTAMP '2010-07-07 10:20:00+00', TIMESTAMP '2008-12-25 15:30:00+00', HOUR)", (13410,)),
    ("SELECT TIMESTAMP_DIFF(TIMESTAMP '2024-01-02 00:00:00', TIMESTAMP '2024-01-01 00:00:01', DAY)", (0,)),
    # DATETIME_DIFF and DATE_DIFF count unit boundaries (reference examples: 559, 1, 1).
    ("SELECT DATETIME_DIFF(DATETIME '2010-07-07 10:20:00', DATETIME '2008-12-25 15:30:00', DAY)", (559,)),
    (
        "SELECT DATE_DIFF(DATE '2017-10-15', DATE '2017-10-14', DAY), DATE_DIFF(DATE '2017-10-15', DATE '2017-10-14', WEEK)",
        (1, 1),
    ),
    ("SELECT DATE_DIFF(DATE '2024-01-01', DATE '2023-12-31', YEAR)", (1,)),
    # DATE_ADD / DATE_SUB on a DATE stay DATEs; month ends clamp.
    (
        "SELECT DATE_ADD(DATE '2024-01-31', INTERVAL 1 MONTH), DATE_SUB(DATE '2024-03-31', INTERVAL 1 MONTH)",
        (dt.date(2024, 2, 29), dt.date(2024, 2, 29)),
    ),
    # DATE_TRUNC / TIMESTAMP_TRUNC to WEEK: weeks start on Sunday; WEEK(MONDAY) and ISOWEEK on Monday.
    ("SELECT DATE_TRUNC(DATE '2024-01-10', WEEK)", (dt.date(2024, 1, 7),)),
    (
        "SELECT DATE_TRUNC(DATE '2024-01-10', WEEK(MONDAY)), DATE_TRUNC(DATE '2024-01-10', ISOWEEK)",
        (dt.date(2024, 1, 8), dt.date(2024, 1, 8)),
    ),
    ("SELECT TIMESTAMP_TRUNC(TIMESTAMP '2024-01-10 10:11:12', WEEK)", (dt.datetime(2024, 1, 7, tzinfo=UTC),)),
    ("SELECT TIMESTAMP_TRUNC(TIMESTAMP '2024-01-10 10:11:12+05:00', DAY)", (dt.datetime(2024, 1, 10, tzinfo=UTC),)),
    # The session is UTC: timestamps with offsets are absolute, DATE() and EXTRACT use UTC.
    ("SELECT EXTRACT(HOUR FROM TIMESTAMP '2024-01-01 23:30:00+02:00')", (21,)),
    ("SELECT DATE(TIMESTAMP '2024-01-01 23:30:00-05:00')", (dt.date(2024, 1, 2),)),
    ("SELECT CAST(TIMESTAMP '2024-01-01 10:00:00' AS STRING)", ("2024-01-01 10:00:00+00",)),
    # SAFE_CAST / CAST from STRING.
    ("SELECT SAFE_CAST('apple' AS INT64), SAFE_CAST('12' AS INT64), SAFE_CAST('0x10' AS INT64)", (None, 12, 16)),
    ("SELECT SAFE_CAST('1.5' AS INT64), SAFE_CAST('1e3' AS INT64)", (None, None)),
    ("SELECT CAST(2.5 AS INT64), CAST(-2.5 AS INT64)", (3, -3)),
    ("SELECT SAFE_CAST('TRUE' AS BOOL), SAFE_CAST('yes' AS BOOL), SAFE_CAST('1' AS BOOL)", (True, None, None)),
    (
        "SELECT SAFE_CAST('2024-01-01T10:00:00.5+02:00' AS TIMESTAMP)",
        (dt.datetime(2024, 1, 1, 8, 0, 0, 500000, tzinfo=UTC),),
    ),
    ("SELECT SAFE_CAST('not a time' AS TIMESTAMP)", (None,)),
    # SAFE_DIVIDE: NULL on a zero divisor; FLOAT64 otherwise. `/` is always FLOAT64 division.
    ("SELECT SAFE_DIVIDE(10, 0), SAFE_DIVIDE(7, 2), 7 / 2", (None, 3.5, 3.5)),
    # DIV truncates toward zero; MOD takes the sign of the dividend.
    ("SELECT DIV(7, 2), DIV(-7, 2), MOD(-7, 2)", (3, -3, -1)),
    # ROUND: halfway cases away from zero, for FLOAT64 and NUMERIC.
    ("SELECT ROUND(2.5), ROUND(-2.5), ROUND(0.5)", (3, -3, 1)),
    ("SELECT ROUND(CAST(2.675 AS NUMERIC), 2)", (Decimal("2.68"),)),
    # NUMERIC has 9 fractional digits (DuckDB's bare DECIMAL has 3).
    ("SELECT CAST('1.123456789123' AS NUMERIC)", (Decimal("1.123456789"),)),
    ("SELECT CAST('0.1' AS NUMERIC) * 3", (Decimal("0.3"),)),
    # PARSE_TIMESTAMP formats; SAFE. returns NULL on text that does not parse.
    (
        "SELECT PARSE_TIMESTAMP('%Y-%m-%dT%H:%M:%E*SZ', '2024-01-01T10:00:00.123Z')",
        (dt.datetime(2024, 1, 1, 10, 0, 0, 123000, tzinfo=UTC),),
    ),
    (
        "SELECT PARSE_TIMESTAMP('%Y-%m-%dT%H:%M:%E*SZ', '2024-01-01T10:00:00Z')",
        (dt.datetime(2024, 1, 1, 10, 0, tzinfo=UTC),),
    ),
    ("SELECT PARSE_TIMESTAMP('%FT%T%Ez', '2024-01-01T10:00:00+02:00')", (dt.datetime(2024, 1, 1, 8, 0, tzinfo=UTC),)),
    ("SELECT SAFE.PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%S', 'garbage')", (None,)),
    ("SELECT PARSE_DATE('%Y%m%d', '20240105'), SAFE.PARSE_DATE('%Y-%m-%d', '2024-02-30')", (dt.date(2024, 1, 5), None)),
    (
        "SELECT FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%E3SZ', TIMESTAMP '2024-01-01 10:00:00.123456')",
        ("2024-01-01T10:00:00.123Z",),
    ),
    # JSON on raw lines: SAFE.PARSE_JSON of a bad line is NULL; JSON_VALUE returns scalars as STRING, NULL for objects.
    ("SELECT SAFE.PARSE_JSON('{bad line')", (None,)),
    ('SELECT JSON_VALUE(SAFE.PARSE_JSON(\'{"event": {"id": "e1", "n": 3}}\'), \'$.event.id\')', ("e1",)),
    (
        "SELECT JSON_VALUE('{\"a\": {\"b\": 1}}', '$.a'), JSON_VALUE('{\"a\": {\"b\": 1}}', '$.a.b'), JSON_VALUE('{\"a\": null}', '$.a')",
        (None, "1", None),
    ),
    ("SELECT SAFE.JSON_VALUE('{bad', '$.a')", (None,)),
    # Several JSON_VALUEs on one column (parsed once by the local engine): the same values.
    (
        "SELECT JSON_VALUE(doc, '$.s'), JSON_VALUE(doc, '$.o'), JSON_VALUE(doc, '$.a'), JSON_VALUE(doc, '$.o.k'), "
        "JSON_VALUE(doc, '$.n'), JSON_VALUE(doc, '$.b'), JSON_VALUE(doc, '$.z'), JSON_VALUE(doc, '$.missing'), "
        "SAFE_CAST(JSON_VALUE(doc, '$.n') AS FLOAT64) "
        'FROM (SELECT SAFE.PARSE_JSON(\'{"s": "x", "o": {"k": 2}, "a": [1], "n": 1.5, "b": true, "z": null}\') AS doc)',
        ("x", None, None, "2", "1.5", "true", None, None, 1.5),
    ),
    (
        "SELECT JSON_VALUE(doc, '$.a'), JSON_VALUE(doc, '$.b') FROM (SELECT SAFE.PARSE_JSON('{bad') AS doc)",
        (None, None),
    ),
    # SHA256 returns BYTES (32 of them); TO_HEX gives the lowercase hex digest.
    ("SELECT TO_HEX(SHA256('abc'))", ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",)),
    ("SELECT OCTET_LENGTH(SHA256('abc'))", (32,)),
    # Aggregates: COUNTIF is 0 (not NULL) over no rows; LOGICAL_OR; ANY_VALUE.
    ("SELECT COUNTIF(x > 1), LOGICAL_OR(x > 2), ANY_VALUE(x) FROM UNNEST([3]) AS x", (1, True, 3)),
    ("SELECT COUNTIF(x > 1), COUNT(*) FROM UNNEST([1, 2]) AS x WHERE x > 5", (0, 0)),
    ("SELECT COUNTIF(x > 1) FROM UNNEST([CAST(NULL AS INT64)]) AS x", (0,)),
    # ARRAY_AGG with ORDER BY ... LIMIT and IGNORE NULLS.
    ("SELECT ARRAY_AGG(x IGNORE NULLS ORDER BY x DESC LIMIT 2) FROM UNNEST([1, NULL, 3, 2]) AS x", ([3, 2],)),
    # QUALIFY keeps the latest row per key.
    ("SELECT k FROM UNNEST([1, 2, 3]) AS k WHERE TRUE QUALIFY ROW_NUMBER() OVER (ORDER BY k DESC) = 1", (3,)),
    # CONCAT with a NULL argument is NULL.
    ("SELECT CONCAT('a', CAST(NULL AS STRING))", (None,)),
    # TRIM, LTRIM and RTRIM without characters remove all Unicode white space, not spaces only.
    (
        "SELECT TRIM('\\t\\u3000 a b\\u00a0\\n'), LTRIM('\\t a '), RTRIM(' a \\r'), TRIM('xax', 'x')",
        ("a b", "a ", " a", "a"),
    ),
    # White space at one end only, none at all, only white space, empty, NULL; a combining
    # mark after a space is not white space, so that space stays.
    (
        "SELECT TRIM('a\\u2003'), TRIM('\\u0085a'), TRIM('a b'), TRIM(' \\t '), TRIM(''), TRIM(CAST(NULL AS STRING))",
        ("a", "a", "a b", "", "", None),
    ),
    (
        "SELECT LTRIM('a \\t'), RTRIM('\\t a'), TRIM('a \\u0301'), TRIM('\\u0600 ')",
        ("a \t", "\t a", "a \u0301", "\u0600"),
    ),
]


@pytest.mark.parametrize("sql,expected", PINS, ids=[p[0][:70] for p in PINS])
def test_bigquery_value(bigquery, sql, expected):
    assert bigquery(sql) == expected


def test_failing_cast_raises_like_bigquery(bigquery):
    with pytest.raises(Exception, match="Bad int64 value: 1.5"):
        bigquery("SELECT CAST('1.5' AS INT64)")


def test_json_values_of_one_column_share_one_parse():
    sql = to_duckdb_query(
        "SELECT JSON_VALUE(doc, '$.a') AS a, JSON_VALUE(doc, '$.b') AS b, JSON_VALUE(other, '$.a') AS c FROM t"
    )
    # Each field indexes one list extraction (DuckDB computes it once per row).
    assert "(doc ->> ['$.a', '$.b'])[1]" in sql and "(doc ->> ['$.a', '$.b'])[2]" in sql
    assert "JSON_VALUE(other, '$.a')" in sql


SHARED_PARSE_DOCUMENTS = [
    '{"v": "{not an object}", "w": "[not an array]"}',
    '{"v": {"k": "x"}, "w": ["{", "["]}',
    '{"v": "tab\\tand \\"quote\\" \\u00e9\\ud83d\\ude00", "w": ""}',
    '{"v": 12345678901234567890, "w": -0.0}',
    '{"v": 1e3, "w": 1.50}',
    '{"v": true, "w": false}',
    '{"v": null}',
    '{"v": [], "w": {}}',
    '{"v": "{}", "w": "["}',
    '"just a string"',
    '[{"v": 1}]',
    "{bad",
]


@pytest.mark.parametrize("document", SHARED_PARSE_DOCUMENTS)
def test_shared_parse_gives_each_json_value_its_own_result(bigquery, document):
    """The shared parse (several paths at once) returns what JSON_VALUE returns path by path."""
    source = f"(SELECT SAFE.PARSE_JSON({_bigquery_string(document)}) AS doc)"
    paths = ["$.v", "$.w", "$.v.k", "$.w[0]", "$.missing"]
    shared = bigquery(f"SELECT {', '.join(f'JSON_VALUE(doc, {p!r})' for p in paths)} FROM {source}")
    one_by_one = tuple(bigquery(f"SELECT JSON_VALUE(doc, {p!r}) FROM {source}")[0] for p in paths)
    assert shared == one_by_one


def _bigquery_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def test_shared_parse_keeps_strings_that_look_like_objects_and_drops_real_ones(bigquery):
    row = bigquery(
        "SELECT JSON_VALUE(doc, '$.s'), JSON_VALUE(doc, '$.o'), JSON_VALUE(doc, '$.a'), JSON_VALUE(doc, '$.t') "
        """FROM (SELECT SAFE.PARSE_JSON('{"s": "{x}", "o": {"x": 1}, "a": [1], "t": "[1]"}') AS doc)"""
    )
    assert row == ("{x}", None, None, "[1]")


def test_a_cte_runs_once_per_reference_as_in_bigquery(bigquery):
    # BigQuery does not keep a non-recursive CTE's rows: each reference runs it again.
    assert bigquery("WITH a AS (SELECT RAND() AS r) SELECT (SELECT r FROM a) = (SELECT r FROM a)") == (False,)
    assert bigquery(
        "WITH RECURSIVE n AS (SELECT 1 AS i UNION ALL SELECT i + 1 FROM n WHERE i < 4) SELECT SUM(i) FROM n"
    ) == (10,)


def test_a_function_outside_the_checked_list_is_refused_by_name():
    # sqlglot would write DuckDB's APPROX_TOP_K, whose result has another type than BigQuery's.
    with pytest.raises(UnsupportedSqlError, match=r"APPROX_TOP_COUNT\(\) is not supported by the local engine"):
        to_duckdb_query("SELECT APPROX_TOP_COUNT(x, 2) FROM t")
    with pytest.raises(UnsupportedSqlError, match=r"MY_UDF\(\) is not a BigQuery function the local engine knows"):
        to_duckdb_query("SELECT MY_UDF(x) FROM t")


def test_functions_nested_in_rewritten_expressions_are_rewritten_too(bigquery):
    # The operands of a rewritten call are rewritten before it (sqlglot does not revisit them).
    assert bigquery("SELECT CAST(SUBSTR('x0x1F', 0, 5) AS STRING), SAFE_CAST(SUBSTR('a0x10', 2) AS INT64) / 0.5") == (
        "x0x1F",
        32.0,
    )


def test_extract_from_a_timestamp_is_accepted_since_sessions_run_in_utc(bigquery):
    # sqlglot warns that EXTRACT on a TIMESTAMPTZ depends on the session time zone; the
    # executor's sessions are in UTC, as BigQuery is.
    assert bigquery("SELECT EXTRACT(HOUR FROM TIMESTAMP '2024-01-01 23:30:00+05')") == (18,)


def test_scripting_is_refused_with_a_clear_error():
    with pytest.raises(UnsupportedSqlError, match="DECLARE"):
        to_duckdb_query("DECLARE x INT64 DEFAULT 1")


def test_project_is_dropped_from_table_references():
    assert to_duckdb_query("SELECT * FROM `my-project.winter_days_staging.stg_sales`") == (
        'SELECT * FROM "winter_days_staging"."stg_sales"'
    )


def test_nested_float_arithmetic_keeps_its_value_and_its_sql_grows_linearly(bigquery):
    # FLOAT64 divided or multiplied by anything is FLOAT64; its division by zero still raises.
    assert bigquery("SELECT 7 / 2.0 / (3 / 1.5), 30.0 * 4 / 8") == (1.75, 15.0)
    with pytest.raises(Exception, match="division by zero"):
        bigquery("SELECT 1.5 / (2 - 2)")
    nested = [to_duckdb_query("SELECT " + "(" * depth + "x" + " / 2.0)" * depth + " FROM t") for depth in (2, 4, 8)]
    # Each level adds the same few casts and one zero check: no copy of the operand per branch.
    assert len(nested[2]) - len(nested[1]) <= 2 * (len(nested[1]) - len(nested[0])) + 50


def test_every_cursor_of_a_session_has_its_functions(tmp_path):
    con = open_session(tmp_path / "cursors.duckdb")
    from winter_days.warehouse.duckdb.dialect.udfs import bigquery_session

    for _ in range(3):
        cursor = con.cursor()
        bigquery_session(cursor)
        assert cursor.execute(to_duckdb_query("SELECT FARM_FINGERPRINT('')")).fetchone() == (-7286425919675154353,)
    con.close()


def test_connections_opening_one_warehouse_at_once_each_get_the_functions(tmp_path):
    """The dashboards' request threads open the warehouse at the same moment; connections to
    one file in one process share its catalog, so registering twice must not fail one of them."""
    import threading

    import duckdb

    from winter_days.warehouse.duckdb.dialect.udfs import bigquery_session

    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    failures: list[str] = []

    def open_and_query(start: threading.Barrier) -> None:
        try:
            start.wait()
            con = duckdb.connect(str(path), read_only=True)
            try:
                bigquery_session(con)
                assert con.execute(to_duckdb_query("SELECT FARM_FINGERPRINT('')")).fetchone() == (-7286425919675154353,)
            finally:
                con.close()
        except Exception as err:  # collected: an exception in a thread would not fail the test
            failures.append(f"{type(err).__name__}: {err}")

    for _ in range(10):  # each round starts from a closed database, as a fresh process does
        start = threading.Barrier(8)
        threads = [threading.Thread(target=open_and_query, args=(start,)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
