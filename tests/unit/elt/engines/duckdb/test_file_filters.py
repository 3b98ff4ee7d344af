"""`_FILE_NAME [NOT] IN (SELECT ...)` runs as a constant list of files (which DuckDB prunes),
with the same rows as the subquery would give; a correlated subquery is left as written."""

from __future__ import annotations

import duckdb
import pytest

from winter_days.elt.engines.duckdb.file_filters import prepare_query


def session() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA bronze; CREATE SCHEMA staging")
    con.execute(
        "CREATE TABLE bronze.ext AS SELECT * FROM (VALUES ('gs://b/a', 1), ('gs://b/b', 2), ('gs://b/c', 3)) AS t(_FILE_NAME, x)"
    )
    con.execute("CREATE TABLE staging.loaded (source_file VARCHAR)")
    return con


NEW_FILES = "SELECT x FROM `p.bronze.ext` WHERE _FILE_NAME NOT IN (SELECT DISTINCT source_file FROM `p.staging.loaded`) ORDER BY x"


def test_not_in_a_ledger_becomes_a_constant_list_with_the_same_rows():
    con = session()
    con.execute("INSERT INTO staging.loaded VALUES ('gs://b/a'), ('gs://b/c')")
    resolved = prepare_query(NEW_FILES).resolve(con)
    assert "NOT IN ('gs://b/a', 'gs://b/c')" in resolved and "SELECT DISTINCT" not in resolved
    assert con.execute(resolved).fetchall() == con.execute(prepare_query(NEW_FILES).sql).fetchall() == [(2,)]


def test_an_empty_ledger_reads_every_file_and_in_over_nothing_reads_none():
    con = session()
    assert con.execute(prepare_query(NEW_FILES).resolve(con)).fetchall() == [(1,), (2,), (3,)]
    only = "SELECT x FROM `p.bronze.ext` WHERE _FILE_NAME IN (SELECT source_file FROM `p.staging.loaded`)"
    assert con.execute(prepare_query(only).resolve(con)).fetchall() == []


def test_a_null_in_the_ledger_keeps_not_in_semantics():
    con = session()
    con.execute("INSERT INTO staging.loaded VALUES (NULL)")
    assert con.execute(prepare_query(NEW_FILES).resolve(con)).fetchall() == []


def test_a_correlated_subquery_is_left_as_written():
    con = session()
    con.execute("INSERT INTO staging.loaded VALUES ('gs://b/a')")
    correlated = (
        "SELECT e.x FROM `p.bronze.ext` AS e WHERE _FILE_NAME IN "
        "(SELECT source_file FROM `p.staging.loaded` WHERE e.x = 1) ORDER BY e.x"
    )
    prepared = prepare_query(correlated)
    assert prepared.resolve(con) == prepared.sql
    assert con.execute(prepared.resolve(con)).fetchall() == [(1,)]


class ExtFiles:
    """The files of bronze.ext; a read of chosen files is a query over its rows."""

    def names(self) -> list[str]:
        return ["gs://b/a", "gs://b/b", "gs://b/c"]

    def reader_sql(self, names: list[str]) -> str | None:
        listed = ", ".join(f"'{n}'" for n in names)
        return f"SELECT x * 10 AS x, _FILE_NAME FROM bronze.ext WHERE _FILE_NAME IN ({listed})"


class ExtFilesWithoutReader(ExtFiles):
    def reader_sql(self, names: list[str]) -> str | None:
        return None


def listing_of_ext(schema: str, name: str) -> ExtFiles | None:
    return ExtFilesWithoutReader() if (schema, name) == ("bronze", "ext") else None


def test_a_listable_relation_reads_the_files_not_loaded_by_name():
    con = session()
    con.execute("INSERT INTO staging.loaded VALUES ('gs://b/a'), ('gs://b/c')")
    resolved = prepare_query(NEW_FILES).resolve(con, listing_of_ext)
    assert "_FILE_NAME IN ('gs://b/b')" in resolved and "NOT IN" not in resolved
    assert con.execute(resolved).fetchall() == con.execute(prepare_query(NEW_FILES).sql).fetchall() == [(2,)]
    con.execute("INSERT INTO staging.loaded VALUES ('gs://b/b')")
    assert con.execute(prepare_query(NEW_FILES).resolve(con, listing_of_ext)).fetchall() == []


def test_listing_keeps_not_in_semantics_for_a_null_and_for_other_relations():
    con = session()
    con.execute("INSERT INTO staging.loaded VALUES (NULL)")
    assert con.execute(prepare_query(NEW_FILES).resolve(con, listing_of_ext)).fetchall() == []
    con.execute("DELETE FROM staging.loaded")
    con.execute("CREATE TABLE bronze.other AS SELECT * FROM bronze.ext")
    other = NEW_FILES.replace("bronze.ext", "bronze.other")
    con.execute("INSERT INTO staging.loaded VALUES ('gs://b/a')")
    # No listing for bronze.other: the loaded files stay a NOT IN list.
    assert "NOT IN ('gs://b/a')" in prepare_query(other).resolve(con, listing_of_ext)
    con.execute("DELETE FROM staging.loaded")
    joined = (
        "SELECT e.x FROM `p.bronze.ext` AS e JOIN `p.bronze.other` AS o ON o.x = e.x "
        "WHERE e._FILE_NAME NOT IN (SELECT source_file FROM `p.staging.loaded`) ORDER BY e.x"
    )
    assert con.execute(prepare_query(joined).resolve(con, listing_of_ext)).fetchall() == [(1,), (2,), (3,)]


def batch_session() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE SCHEMA staging")
    con.execute(
        "CREATE TABLE staging.checked AS SELECT i AS x, TIMESTAMPTZ '2026-01-01 00:00:00.123456+00' + to_days(i) AS parsed_at "
        "FROM range(5) AS t(i)"
    )
    con.execute("CREATE TABLE staging.staged AS SELECT * FROM staging.checked WHERE x < 3")
    return con


SINCE_LAST_BATCH = (
    "SELECT x FROM `p.staging.checked` WHERE parsed_at > "
    "COALESCE((SELECT MAX(parsed_at) FROM `p.staging.staged`), TIMESTAMP '1970-01-01') ORDER BY x"
)


def test_a_scalar_subquery_filter_runs_first_and_becomes_a_typed_constant():
    con = batch_session()
    prepared = prepare_query(SINCE_LAST_BATCH)
    resolved = prepared.resolve(con)
    # Microseconds and the time zone survive: the constant is the exact value.
    assert "CAST('2026-01-03 00:00:00.123456+00' AS TIMESTAMP WITH TIME ZONE)" in resolved
    assert "SELECT MAX" not in resolved
    assert con.execute(resolved).fetchall() == con.execute(prepared.sql).fetchall() == [(3,), (4,)]
    # The constant is read again on every run: a new batch moves it.
    con.execute("INSERT INTO staging.staged SELECT * FROM staging.checked WHERE x = 3")
    assert con.execute(prepared.resolve(con)).fetchall() == [(4,)]


def test_a_scalar_subquery_over_nothing_is_a_typed_null():
    con = batch_session()
    con.execute("DELETE FROM staging.staged")
    resolved = prepare_query(SINCE_LAST_BATCH).resolve(con)
    assert "CAST(NULL AS TIMESTAMP WITH TIME ZONE)" in resolved
    assert con.execute(resolved).fetchall() == [(0,), (1,), (2,), (3,), (4,)]


def test_scalar_subqueries_that_do_not_run_alone_are_left_as_written():
    con = batch_session()
    correlated = (
        "SELECT c.x FROM `p.staging.checked` AS c WHERE c.x > "
        "(SELECT MIN(s.x) FROM `p.staging.staged` AS s WHERE s.x > c.x - 2) ORDER BY c.x"
    )
    over_a_cte = (
        "WITH cut AS (SELECT 2 AS x) SELECT x FROM `p.staging.checked` WHERE x > (SELECT x FROM cut) ORDER BY x"
    )
    for query in (correlated, over_a_cte):
        prepared = prepare_query(query)
        assert prepared.resolve(con) == prepared.sql
    assert con.execute(prepare_query(over_a_cte).resolve(con)).fetchall() == [(3,), (4,)]


def test_a_scalar_subquery_outside_a_filter_is_left_to_the_query():
    prepared = prepare_query("SELECT (SELECT MAX(x) FROM `p.staging.staged`) AS top FROM `p.staging.checked`")
    assert prepared.constants == () and prepared.resolve(batch_session()) == prepared.sql


def test_a_scalar_subquery_returning_several_rows_fails_as_the_query_would():
    con = batch_session()
    prepared = prepare_query("SELECT x FROM `p.staging.checked` WHERE x > (SELECT x FROM `p.staging.staged`)")
    resolved = prepared.resolve(con)
    assert resolved == prepared.sql
    with pytest.raises(duckdb.Error):
        con.execute(resolved).fetchall()


def test_of_several_scalar_subqueries_each_one_that_runs_alone_becomes_a_constant():
    con = batch_session()
    query = (
        "WITH cut AS (SELECT 1 AS x) SELECT x FROM `p.staging.checked` "
        "WHERE x > (SELECT x FROM cut) AND x < (SELECT MAX(x) + 1 FROM `p.staging.staged`) "
        "AND x <= (SELECT MAX(x) + 1 FROM `p.staging.staged`) ORDER BY x"
    )
    prepared = prepare_query(query)
    resolved = prepared.resolve(con)
    assert "(SELECT x FROM cut)" in resolved and "MAX(x)" not in resolved
    assert resolved.count("CAST('3' AS BIGINT)") == 2
    assert con.execute(resolved).fetchall() == con.execute(prepared.sql).fetchall() == [(2,)]


def test_the_files_left_to_read_are_read_by_name_instead_of_through_the_relation():
    con = session()
    con.execute("INSERT INTO staging.loaded VALUES ('gs://b/a'), ('gs://b/c')")
    prepared = prepare_query(NEW_FILES)
    resolved = prepared.resolve(con, lambda schema, name: ExtFiles() if (schema, name) == ("bronze", "ext") else None)
    # The reader stands in for bronze.ext (its rows are told apart by x * 10 here).
    assert "x * 10" in resolved and con.execute(resolved).fetchall() == [(20,)]
    # Nothing left to read: no reader, the relation as written under a filter that is false.
    con.execute("INSERT INTO staging.loaded VALUES ('gs://b/b')")
    resolved = prepared.resolve(con, lambda schema, name: ExtFiles())
    assert "x * 10" not in resolved and con.execute(resolved).fetchall() == []


def test_an_aliased_relation_keeps_its_alias_when_read_by_name():
    con = session()
    con.execute("INSERT INTO staging.loaded VALUES ('gs://b/a')")
    aliased = (
        "SELECT e.x FROM `p.bronze.ext` AS e WHERE e._FILE_NAME NOT IN "
        "(SELECT source_file FROM `p.staging.loaded`) ORDER BY e.x"
    )
    resolved = prepare_query(aliased).resolve(con, lambda schema, name: ExtFiles())
    assert con.execute(resolved).fetchall() == [(20,), (30,)]
    assert con.execute(prepare_query(aliased).resolve(con)).fetchall() == [(2,), (3,)]
