"""A CSV external table's read never fails on a file's bytes: DuckDB's reader refuses bytes
that are not UTF-8 and lines over 2 MB, so such a read runs again in the lenient form,
which reads them as BigQuery does (U+FFFD for what is not UTF-8)."""

from __future__ import annotations

import pyarrow as pa

from winter_days.elt.backend import InvocationState
from winter_days.elt.engines.duckdb.external import lake_text

BRONZE = "winter_days_bronze"
WH = "winter_days_warehouse"
OPTIONS = (
    "format = 'CSV', field_delimiter = '\\x1f', quote = '', skip_leading_rows = 0, "
    "allow_jagged_rows = true, ignore_unknown_values = true"
)


def raw_line_graph(graph):
    graph.operation(
        f"{BRONZE}.ext_lines",
        [f"CREATE OR REPLACE EXTERNAL TABLE `proj.{BRONZE}.ext_lines` (line STRING, beyond_delimiter STRING) "
         f"OPTIONS (uris = ['gs://lake/bronze/lines/*'], {OPTIONS})"],
    )
    graph.table(
        f"{WH}.lines",
        f"SELECT line, beyond_delimiter, CHAR_LENGTH(line) AS chars FROM `proj.{BRONZE}.ext_lines`",
        deps=[f"{BRONZE}.ext_lines"],
    )
    return graph.build()


def test_bytes_that_are_not_utf8_and_long_lines_are_read_as_bigquery_reads_them(graph, executor, lake_root, query_published):
    folder = lake_root / "bronze" / "lines"
    folder.mkdir(parents=True)
    long_line = b"x" * 2_100_000
    (folder / "a.jsonl").write_bytes(b"caf\xc3\xa9\nbad \xff byte\n" + long_line + b"\nfirst\x1fsecond\x1fthird\n")
    (folder / "b.jsonl").write_bytes(b"plain\n")

    result = executor.run(raw_line_graph(graph))

    assert result.state is InvocationState.SUCCEEDED
    rows = query_published(f"SELECT line, beyond_delimiter, chars FROM {WH}.lines ORDER BY chars, line")
    assert rows == [
        ("café", None, 4),
        ("first", "second", 5),
        ("plain", None, 5),
        ("bad \ufffd byte", None, 10),
        ("x" * 2_100_000, None, 2_100_000),
    ]
    # The view stored in the warehouse is the fast read again, which needs no function of
    # the executor's session.
    [(definition,)] = query_published(f"SELECT sql FROM duckdb_views() WHERE view_name = 'ext_lines'")
    assert "latin-1" not in definition and "winter_days_lake_text" not in definition


def test_lake_text_turns_latin1_read_bytes_back_into_utf8():
    read = pa.array(["ascii", "caf\xc3\xa9", "bad \xff", None], type=pa.string())
    assert lake_text(read).to_pylist() == ["ascii", "café", "bad \ufffd", None]
    ascii_only = pa.array(["a", None], type=pa.string())
    assert lake_text(ascii_only) is ascii_only
