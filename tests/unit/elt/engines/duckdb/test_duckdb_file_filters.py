"""`_FILE_NAME [NOT] IN (SELECT ...)` runs as a constant list of files (which DuckDB prunes),
with the same rows as the subquery would give; a correlated subquery is left as written."""

from __future__ import annotations

import duckdb

from winter_days.elt.engines.duckdb.file_filters import prepare_query


def session() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE SCHEMA bronze; CREATE SCHEMA staging")
    con.execute("CREATE TABLE bronze.ext AS SELECT * FROM (VALUES ('gs://b/a', 1), ('gs://b/b', 2), ('gs://b/c', 3)) AS t(_FILE_NAME, x)")
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


LISTING = "SELECT * FROM (VALUES ('gs://b/a'), ('gs://b/b'), ('gs://b/c')) AS t(f)"


def listing_of_ext(schema: str, name: str) -> str | None:
    return LISTING if (schema, name) == ("bronze", "ext") else None


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
