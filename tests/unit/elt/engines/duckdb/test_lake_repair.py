"""A CSV external table's read never fails on a file's bytes: DuckDB's reader refuses bytes
that are not UTF-8 and lines over 2 MB, so such a file is read from a repaired copy, as
BigQuery reads it (U+FFFD for what is not UTF-8), and the bronze file stays as it was."""

from __future__ import annotations

import duckdb
import pytest

from winter_days.elt.backend import InvocationState
from winter_days.elt.engines.duckdb.lake_repair import LakeRepairs, failing_file

BRONZE = "winter_days_bronze"
WH = "winter_days_warehouse"
OPTIONS = (
    "format = 'CSV', field_delimiter = '\\x1f', quote = '', skip_leading_rows = 0, "
    "allow_jagged_rows = true, ignore_unknown_values = true"
)


def raw_line_graph(graph):
    graph.operation(
        f"{BRONZE}.ext_lines",
        [
            f"CREATE OR REPLACE EXTERNAL TABLE `proj.{BRONZE}.ext_lines` (line STRING, beyond_delimiter STRING) "
            f"OPTIONS (uris = ['gs://lake/bronze/lines/*'], {OPTIONS})"
        ],
    )
    graph.table(
        f"{WH}.lines",
        f"SELECT line, beyond_delimiter, CHAR_LENGTH(line) AS chars FROM `proj.{BRONZE}.ext_lines`",
        deps=[f"{BRONZE}.ext_lines"],
    )
    return graph.build()


def test_bytes_that_are_not_utf8_and_long_lines_are_read_as_bigquery_reads_them(
    graph, executor, lake_root, query_published
):
    folder = lake_root / "bronze" / "lines"
    folder.mkdir(parents=True)
    dirty = b"caf\xc3\xa9 \xe2\x82\xac\nbad \xff byte\n" + b"x" * 2_100_000 + b"\nfirst\x1fsecond\x1fthird\n"
    (folder / "a.jsonl").write_bytes(dirty)
    (folder / "b.jsonl").write_bytes(b"plain\n")
    (folder / "c.jsonl").write_bytes(b"also \xed\xa0\x80 bad\n")

    result = executor.run(raw_line_graph(graph))

    assert result.state is InvocationState.SUCCEEDED
    rows = query_published(f"SELECT line, beyond_delimiter, chars FROM {WH}.lines ORDER BY chars, line")
    assert rows == [
        ("first", "second", 5),
        ("plain", None, 5),
        ("café €", None, 6),
        ("bad \ufffd byte", None, 10),
        ("also \ufffd\ufffd\ufffd bad", None, 12),
        ("x" * 2_100_000, None, 2_100_000),
    ]
    assert (folder / "a.jsonl").read_bytes() == dirty  # bronze is never touched
    # The view stored in the warehouse reads the lake again, by its globs.
    [(definition,)] = query_published("SELECT sql FROM duckdb_views() WHERE view_name = 'ext_lines'")
    assert "winter-days-lake-repair" not in definition and "/**/" in definition


def test_a_repaired_copy_keeps_every_line_and_its_place_in_the_lake(tmp_path):
    lake = tmp_path / "lake"
    source = lake / "bronze" / "x" / "load_date=2026-01-01" / "part.jsonl"
    source.parent.mkdir(parents=True)
    # A multi-byte character split across the copy's read chunks is decoded whole.
    source.write_bytes(b"a\xff\n" + "é".encode() * 9_000_000 + b"\n\xc3")
    repairs = LakeRepairs()
    try:
        copy = repairs.repair(str(source), lake)
        assert copy.endswith("bronze/x/load_date=2026-01-01/part.jsonl") and copy.startswith(str(repairs.root))
        assert open(copy, encoding="utf-8").read() == "a\ufffd\n" + "é" * 9_000_000 + "\n\ufffd"
        assert repairs.repair(str(source), lake) == copy
    finally:
        repairs.close()
    assert not repairs.root.exists()


def test_the_file_a_read_failed_on_is_taken_from_duckdbs_message(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"ok\nbad \xff\n")
    with pytest.raises(duckdb.InvalidInputException) as failure:
        duckdb.connect().execute(
            f"SELECT * FROM read_csv(['{path}'], columns = {{'line': 'VARCHAR'}}, delim = '\x1f', quote = '', "
            "header = false, auto_detect = false)"
        ).fetchall()
    assert failing_file(failure.value) == str(path)
