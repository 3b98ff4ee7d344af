"""External tables over the lake: views whose files are found at query time."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from winter_days.elt.backend import InvocationState
from winter_days.elt.engines.duckdb.executor import open_session

BRONZE = "winter_days_bronze"
WH = "winter_days_warehouse"
RAW_LINES = "format = 'CSV', field_delimiter = '\\x1f', quote = '', skip_leading_rows = 0"


def write_sales(lake_root, name: str, ids: list[str]) -> None:
    folder = lake_root / "bronze" / "sales"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"sale_id": ids, "quantity": list(range(1, len(ids) + 1))}), folder / name)


def write_lines(lake_root, flow: str, day: str, name: str, lines: list[str]) -> None:
    folder = lake_root / "bronze" / flow / f"load_date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(line + "\n" for line in lines))


def sales_graph(graph, columns: str = "(sale_id STRING, quantity INT64)"):
    graph.operation(
        f"{BRONZE}.ext_sales",
        [
            f"CREATE OR REPLACE EXTERNAL TABLE `proj.{BRONZE}.ext_sales` {columns} "
            "OPTIONS (format = 'PARQUET', uris = ['gs://some-bucket/bronze/sales/*.parquet'])"
        ],
    )
    graph.table(
        f"{WH}.sales_count",
        f"SELECT COUNT(*) AS n, SUM(quantity) AS q FROM `proj.{BRONZE}.ext_sales`",
        deps=[f"{BRONZE}.ext_sales"],
    )
    return graph.build()


def test_parquet_view_reads_new_files_without_recompiling(graph, executor, lake_root, query_published, warehouse_path):
    write_sales(lake_root, "export-1.parquet", ["s1", "s2"])
    compiled = sales_graph(graph)
    assert executor.run(compiled).state is InvocationState.SUCCEEDED
    assert query_published(f"SELECT n, q FROM {WH}.sales_count") == [(2, 3)]

    write_sales(lake_root, "export-2.parquet", ["s3"])
    # The published view already sees the new file ...
    assert query_published(f"SELECT COUNT(*) FROM {BRONZE}.ext_sales") == [(3,)]
    # ... and a run of the same compiled graph picks it up.
    assert executor.run(compiled).state is InvocationState.SUCCEEDED
    assert query_published(f"SELECT n, q FROM {WH}.sales_count") == [(3, 4)]
    assert query_published(f"SELECT DISTINCT _FILE_NAME FROM {BRONZE}.ext_sales ORDER BY 1") == [
        ("gs://some-bucket/bronze/sales/export-1.parquet",),
        ("gs://some-bucket/bronze/sales/export-2.parquet",),
    ]


def test_an_unchanged_view_is_kept_and_a_moved_lake_gets_a_new_one(
    graph, executor, lake_root, tmp_path, query_published, warehouse_path
):
    from winter_days.elt.engines.duckdb.executor import DuckDBExecutor

    def view_statements(result):
        (ext,) = [a for a in result.actions if a.target.name == "ext_sales"]
        return [s for s in ext.sql_script.split(";\n") if s.startswith("CREATE OR REPLACE VIEW")]

    write_sales(lake_root, "export-1.parquet", ["s1", "s2"])
    compiled = sales_graph(graph)
    assert len(view_statements(executor.run(compiled))) == 1
    write_sales(lake_root, "export-2.parquet", ["s3"])
    second = executor.run(compiled)
    assert view_statements(second) == [] and second.published
    assert query_published(f"SELECT n, q FROM {WH}.sales_count") == [(3, 4)]

    moved = tmp_path / "moved-lake"
    write_sales(moved, "export-9.parquet", ["s9"])
    third = DuckDBExecutor(warehouse_path, moved).run(compiled)
    assert len(view_statements(third)) == 1
    assert query_published(f"SELECT n, q FROM {WH}.sales_count") == [(1, 1)]


def test_empty_lake_gives_an_empty_view_when_columns_are_declared(graph, executor, query_published):
    assert executor.run(sales_graph(graph)).state is InvocationState.SUCCEEDED
    assert query_published(f"SELECT n FROM {WH}.sales_count") == [(0,)]


def test_empty_lake_without_columns_fails_naming_the_table(graph, executor):
    result = executor.run(sales_graph(graph, columns=""))
    ext = next(a for a in result.actions if a.target.name == "ext_sales")
    assert ext.state.value == "FAILED"
    assert "ext_sales" in ext.failure_reason and "no file matches" in ext.failure_reason


def test_raw_lines_one_row_per_line_across_load_date_folders(graph, executor, lake_root, query_published):
    good = json.dumps({"event_id": "e1", "page_url": 'https://x.test/a,b;c\tq"uote'})
    write_lines(lake_root, "clickstream", "2026-01-01", "part-0.jsonl", [good, "{not json"])
    write_lines(lake_root, "clickstream", "2026-01-02", "part-0.jsonl", [json.dumps({"event_id": "e2"})])
    # A lake write in flight (hidden temp file) is not part of the table.
    (lake_root / "bronze" / "clickstream" / "load_date=2026-01-02" / ".tmp-123").write_text('{"event_id": "partial')
    graph.operation(
        f"{BRONZE}.ext_click",
        [
            f"CREATE OR REPLACE EXTERNAL TABLE `proj.{BRONZE}.ext_click` (line STRING) "
            f"OPTIONS (uris = ['gs://lake/bronze/clickstream/*'], {RAW_LINES})"
        ],
    )
    graph.table(
        f"{WH}.parsed",
        "SELECT JSON_VALUE(SAFE.PARSE_JSON(line), '$.event_id') AS event_id, "
        "JSON_VALUE(SAFE.PARSE_JSON(line), '$.page_url') AS page_url, line, _FILE_NAME AS source_file "
        f"FROM `proj.{BRONZE}.ext_click`",
        deps=[f"{BRONZE}.ext_click"],
    )
    result = executor.run(graph.build())
    assert result.state is InvocationState.SUCCEEDED
    rows = query_published(f"SELECT event_id, page_url, line, source_file FROM {WH}.parsed ORDER BY source_file, line")
    assert rows == [
        ("e1", 'https://x.test/a,b;c\tq"uote', good, "gs://lake/bronze/clickstream/load_date=2026-01-01/part-0.jsonl"),
        (None, None, "{not json", "gs://lake/bronze/clickstream/load_date=2026-01-01/part-0.jsonl"),
        ("e2", None, '{"event_id": "e2"}', "gs://lake/bronze/clickstream/load_date=2026-01-02/part-0.jsonl"),
    ]
    # No hive partition column is invented: BigQuery adds none without hive options.
    columns = [r[0] for r in query_published(f"DESCRIBE {BRONZE}.ext_click")]
    assert columns == ["line", "_FILE_NAME"]


def test_newline_delimited_json_with_declared_columns(graph, executor, lake_root, query_published):
    write_lines(
        lake_root,
        "startups",
        "2026-01-05",
        "full.jsonl",
        [json.dumps({"startup_id": "st1", "employee_count": 12, "updated_at": "2026-01-05T10:00:00Z", "extra": 1})],
    )
    graph.operation(
        f"{BRONZE}.ext_startup",
        [
            f"CREATE OR REPLACE EXTERNAL TABLE `proj.{BRONZE}.ext_startup` "
            "(startup_id STRING, employee_count INT64, updated_at TIMESTAMP) "
            "OPTIONS (format = 'NEWLINE_DELIMITED_JSON', uris = ['gs://lake/bronze/startups/*.jsonl'])"
        ],
    )
    assert executor.run(graph.build()).state is InvocationState.SUCCEEDED
    con = open_session(executor.warehouse_path, read_only=True)
    try:
        row = con.execute(
            f"SELECT startup_id, employee_count, CAST(updated_at AS VARCHAR) FROM {BRONZE}.ext_startup"
        ).fetchall()
    finally:
        con.close()
    assert row == [("st1", 12, "2026-01-05 10:00:00+00")]


@pytest.mark.parametrize(
    "options,message",
    [
        ("format = 'AVRO', uris = ['gs://b/x/*']", "format AVRO"),
        ("format = 'PARQUET', uris = ['gs://b/x/*/*']", "one '*'"),
        ("format = 'PARQUET'", "uris"),
    ],
)
def test_unsupported_external_tables_fail_clearly(graph, executor, lake_root, options, message):
    write_sales(lake_root, "x.parquet", ["s1"])
    graph.operation(
        f"{BRONZE}.ext", [f"CREATE EXTERNAL TABLE `proj.{BRONZE}.ext` (sale_id STRING) OPTIONS ({options})"]
    )
    result = executor.run(graph.build())
    assert result.actions[0].state.value == "FAILED"
    assert message in result.actions[0].failure_reason


def external(uri: str, columns: tuple[tuple[str, str], ...] = (("line", "VARCHAR"),), file_format: str = "CSV"):
    from winter_days.elt.engines.duckdb.external import ExternalTable

    options = {"field_delimiter": "\x1f", "quote": "", "skip_leading_rows": 0} if file_format == "CSV" else {}
    return ExternalTable(BRONZE, "ext", file_format, (uri,), columns, options)


@pytest.mark.parametrize(
    "uri",
    [
        "gs://b/bronze/clickstream/*",
        "gs://b/bronze/clickstream/*.jsonl",
        "gs://b/bronze/clickstream/to*",
        "gs://b/bronze/clickstream/top.jsonl",
    ],
)
def test_the_lake_listing_names_the_files_duckdb_globs(tmp_path, uri):
    from winter_days.elt.engines.duckdb.external import LakeFiles, lake_glob

    lake = tmp_path / "lake"
    for relative in (
        "load_date=2026-01-01/a.jsonl",
        "load_date=2026-01-01/.tmp-b.jsonl",
        "top.jsonl",
        "load_date=2026-01-02/deeper/c.jsonl",
        ".hidden/d.jsonl",
        "load_date=2026-01-03/e.txt",
        "load_date=2026-01-03/.jsonl",
    ):
        path = lake / "bronze" / "clickstream" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('{"x": 1}\n')
    table = external(uri)
    con = open_session(tmp_path / "w.duckdb")
    globbed = sorted(row[0] for row in con.execute(f"SELECT file FROM glob('{lake_glob(uri, lake)}')").fetchall())
    listed = LakeFiles(table, lake).names()
    assert listed == sorted("gs://b/" + str(Path(p).relative_to(lake.resolve())) for p in globbed)
    assert listed  # every pattern above matches something


def test_a_read_of_chosen_files_gives_the_view_rows_of_those_files(tmp_path):
    from winter_days.elt.engines.duckdb.external import LakeFiles, view_sql

    lake = tmp_path / "lake"
    write_lines(lake, "clickstream", "2026-01-01", "a.jsonl", ['{"n": 1}', '{"n": 2}'])
    write_lines(lake, "clickstream", "2026-01-02", "b.jsonl", ['{"n": 3}'])
    table = external("gs://b/bronze/clickstream/*")
    con = open_session(tmp_path / "w.duckdb")
    con.execute(f"CREATE SCHEMA {BRONZE}")
    con.execute(view_sql(table, lake))
    files = LakeFiles(table, lake)
    second = [n for n in files.names() if n.endswith("b.jsonl")]
    chosen = con.execute(f"SELECT line, _FILE_NAME FROM ({files.reader_sql(second)}) ORDER BY line").fetchall()
    viewed = con.execute(
        f"SELECT line, _FILE_NAME FROM {BRONZE}.ext WHERE _FILE_NAME IN ('{second[0]}') ORDER BY line"
    ).fetchall()
    assert chosen == viewed == [('{"n": 3}', "gs://b/bronze/clickstream/load_date=2026-01-02/b.jsonl")]
    # A view that takes its columns from the files is read through the view.
    assert (
        LakeFiles(external("gs://b/bronze/clickstream/*", columns=(), file_format="PARQUET"), lake).reader_sql(second)
        is None
    )


FIRST_PARSE_IN_TWO_THREADS = r"""
import sys, threading
sys.setswitchinterval(1e-6)  # switch threads as often as possible
from sqlglot.dialects.dialect import Dialect
SQL = "CREATE OR REPLACE EXTERNAL TABLE `p.winter_days_bronze.ext_{}` OPTIONS (format = 'CSV', uris = ['gs://b/x/*'])"
kinds = []
def second_action():
    # Starts the moment sqlglot has registered its BigQuery dialect, as a second worker
    # would if it started while the first was loading it.
    while "bigquery" not in Dialect._classes:
        pass
    from winter_days.elt.engines.duckdb.actions import prepare_script
    kinds.append(type(prepare_script(SQL.format("b"))[0]).__name__)
worker = threading.Thread(target=second_action)
worker.start()
from winter_days.elt.engines.duckdb.actions import prepare_script
kinds.append(type(prepare_script(SQL.format("a"))[0]).__name__)
worker.join()
print(",".join(sorted(kinds)))
"""


def test_two_actions_reading_bigquery_sql_at_once_in_a_new_process_both_see_external_tables():
    """A new service worker's first run starts its external tables in two threads at once;
    neither may read the BigQuery SQL before its dialect is fully loaded (it then went to
    DuckDB untranslated and the run failed)."""
    import subprocess
    import sys

    for _ in range(3):
        done = subprocess.run(
            [sys.executable, "-c", FIRST_PARSE_IN_TWO_THREADS], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "ExternalTable,ExternalTable"
