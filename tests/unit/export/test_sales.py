from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest
from support.pseudonym_keys import TEST_PSEUDONYMS
from support.sales_documents import sale_document as sale

from winter_days.export import export_sales
from winter_days.records import SALES_BRONZE_SCHEMA, SALES_COLLECTION
from winter_days.stores import LocalLake, SqliteDocumentStore

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    return SqliteDocumentStore(tmp_path / "docs.sqlite3")


@pytest.fixture
def lake(tmp_path):
    return LocalLake(tmp_path / "lake")


def read(lake, key):
    return pq.read_table(lake.local_path(key))


def test_export_writes_one_typed_file_and_normalises_every_timestamp_form(store, lake):
    instant = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    forms = [
        "2026-03-01T10:30:00+00:00",
        "2026-03-01T12:30:00+02:00",
        "2026-03-01T10:30:00Z",
        instant,
        int(instant.timestamp()),
        int(instant.timestamp() * 1000),
    ]
    store.put_many(SALES_COLLECTION, [(f"s{i:05}", sale(i, ts)) for i, ts in enumerate(forms)])
    result = export_sales(store, lake, None, "run1", now=lambda: NOW, pseudonyms=TEST_PSEUDONYMS)
    assert result.rows == 6 and result.unparseable_timestamps == 0 and result.invalid_rows == 0
    assert result.key == "bronze/sales/export_date=2026-03-02/sales-20260302T020000Z-run1.parquet"
    table = read(lake, result.key)
    assert table.schema.equals(SALES_BRONZE_SCHEMA, check_metadata=False)
    assert set(table.column("sale_timestamp").to_pylist()) == {instant}
    assert table.column("unit_price").to_pylist() == [5.0] * 6
    assert result.new_watermark == store.watermark(SALES_COLLECTION)
    assert sum(result.timestamp_forms.values()) == 6


def test_unparseable_and_mistyped_values_are_kept_and_counted_not_dropped(store, lake):
    store.put_many(
        SALES_COLLECTION,
        [
            ("s1", sale(1, "not a time")),
            ("s2", sale(2, "2026-03-01T00:00:00Z", quantity="three")),
            ("s3", sale(3, "2026-03-01T00:00:00Z")),
        ],
    )
    result = export_sales(store, lake, None, "r", now=lambda: NOW, pseudonyms=TEST_PSEUDONYMS)
    assert (result.rows, result.unparseable_timestamps, result.invalid_rows) == (3, 1, 1)
    rows = {r["document_id"]: r for r in read(lake, result.key).to_pylist()}
    assert rows["s1"]["sale_timestamp"] is None and rows["s1"]["sale_timestamp_raw"] == "not a time"
    assert json.loads(rows["s1"]["raw_document"])["sale_timestamp"] == "not a time"
    assert rows["s2"]["quantity"] is None and rows["s2"]["invalid_fields"] == "quantity"
    assert json.loads(rows["s2"]["raw_document"])["quantity"] == "three"
    assert rows["s3"]["raw_document"] is None and rows["s3"]["invalid_fields"] is None


def test_incremental_exports_only_changes_and_nothing_when_unchanged(store, lake):
    store.put_many(SALES_COLLECTION, [(f"s{i:05}", sale(i, "2026-03-01T00:00:00Z")) for i in range(5)])
    first = export_sales(store, lake, None, "r1", now=lambda: NOW, pseudonyms=TEST_PSEUDONYMS)
    nothing = export_sales(store, lake, first.new_watermark, "r2", now=lambda: NOW, pseudonyms=TEST_PSEUDONYMS)
    assert nothing.key is None and nothing.rows == 0 and nothing.new_watermark == first.new_watermark
    store.put_many(
        SALES_COLLECTION,
        [("s00002", sale(2, "2026-03-01T00:00:00Z", status="refunded")), ("s00009", sale(9, "2026-03-01T00:00:00Z"))],
    )
    second = export_sales(
        store, lake, first.new_watermark, "r3", now=lambda: NOW + timedelta(days=1), pseudonyms=TEST_PSEUDONYMS
    )
    assert second.rows == 2
    rows = read(lake, second.key).to_pylist()
    assert {(r["document_id"], r["status"]) for r in rows} == {("s00002", "refunded"), ("s00009", "completed")}
    assert all(r["document_update_seq"] > first.new_watermark for r in rows)


def test_a_crash_mid_export_leaves_no_file_and_a_rerun_loses_nothing(store, lake):
    store.put_many(SALES_COLLECTION, [(f"s{i:05}", sale(i, "2026-03-01T00:00:00Z")) for i in range(25)])

    calls = {"n": 0}

    def crash_after_two_batches(rows):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk went away")

    with pytest.raises(OSError):
        export_sales(
            store,
            lake,
            None,
            "crashed",
            batch_size=10,
            progress=crash_after_two_batches,
            now=lambda: NOW,
            pseudonyms=TEST_PSEUDONYMS,
        )
    assert lake.list("bronze/sales/") == []
    # The watermark was never advanced by the caller, so the re-run exports everything again.
    result = export_sales(store, lake, None, "retry", batch_size=10, now=lambda: NOW, pseudonyms=TEST_PSEUDONYMS)
    ids = [r["document_id"] for r in read(lake, result.key).to_pylist()]
    assert sorted(ids) == [f"s{i:05}" for i in range(25)] and len(set(ids)) == 25


class FailingAfterOnePage(SqliteDocumentStore):
    """A store whose read of the second page fails (a locked or corrupt file)."""

    def changed_pages(self, collection, watermark, batch_size=1000):
        pages = super().changed_pages(collection, watermark, batch_size)
        yield next(pages)
        raise sqlite3.OperationalError("database disk image is malformed")


def test_a_read_failure_after_the_first_page_fails_the_export_and_leaves_no_file(tmp_path, lake):
    failing = FailingAfterOnePage(tmp_path / "failing.sqlite3")
    failing.put_many(SALES_COLLECTION, [(f"s{i:05}", sale(i, "2026-03-01T00:00:00Z")) for i in range(25)])
    threads = threading.active_count()
    with pytest.raises(sqlite3.OperationalError, match="malformed"):
        export_sales(failing, lake, None, "broken", batch_size=10, now=lambda: NOW, pseudonyms=TEST_PSEUDONYMS)
    assert lake.list("bronze/sales/") == []
    assert threading.active_count() == threads  # the read-ahead thread ended with the export


def test_export_streams_in_bounded_batches(store, lake):
    store.put_many(SALES_COLLECTION, [(f"s{i:05}", sale(i, "2026-03-01T00:00:00Z")) for i in range(2500)])
    seen = []
    result = export_sales(
        store, lake, None, "r", batch_size=1000, progress=seen.append, now=lambda: NOW, pseudonyms=TEST_PSEUDONYMS
    )
    assert seen == [1000, 2000, 2500]
    meta = pq.ParquetFile(lake.local_path(result.key)).metadata
    assert meta.num_rows == 2500 and meta.num_row_groups == 3


def test_bad_run_id_is_refused(store, lake):
    with pytest.raises(ValueError, match="run_id"):
        export_sales(store, lake, None, "a/b", pseudonyms=TEST_PSEUDONYMS)


def test_a_lone_surrogate_is_written_as_u_fffd_and_the_document_kept_for_the_quarantine(store, lake):
    """The SQLite store accepts a string with a lone surrogate; UTF-8 (Parquet) cannot hold
    one, and the export failed on it, on every run."""
    store.put_many(
        SALES_COLLECTION,
        [
            ("s1", sale(1, "2026-03-01T00:00:00Z", region="North\ud800")),
            ("s2", sale(2, "2026-03-01T00:00:00\udfff")),
            ("s3", sale(3, "2026-03-01T00:00:00Z")),
        ],
    )

    result = export_sales(store, lake, None, "r", now=lambda: NOW, pseudonyms=TEST_PSEUDONYMS)

    rows = {r["document_id"]: r for r in read(lake, result.key).to_pylist()}
    assert rows["s1"]["region"] == "North\ufffd" and "\\ud800" in rows["s1"]["raw_document"]
    assert rows["s2"]["sale_timestamp"] is None and rows["s2"]["sale_timestamp_raw"] == "2026-03-01T00:00:00\ufffd"
    assert rows["s3"]["raw_document"] is None and rows["s3"]["region"] == "North"


def test_the_customer_name_leaves_only_as_its_keyed_pseudonym(store, lake):
    store.put_many(SALES_COLLECTION, [("s1", sale(1, "2026-03-01T00:00:00Z")), ("s2", sale(2, "not a time"))])

    result = export_sales(store, lake, None, "r", now=lambda: NOW, pseudonyms=TEST_PSEUDONYMS)

    rows = read(lake, result.key).to_pylist()
    assert {r["customer_name"] for r in rows} == {None}
    assert {r["customer_name_pseudonym"] for r in rows} == {TEST_PSEUDONYMS.name("Ada Lovelace")}
    kept = json.loads(rows[1]["raw_document"])  # the document the quarantine will show
    assert kept["customer_name"] == TEST_PSEUDONYMS.name("Ada Lovelace") and "Ada" not in rows[1]["raw_document"]
