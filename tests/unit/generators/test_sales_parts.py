"""A large day's sales are built and stored a part at a time; the parts must be the day."""

from __future__ import annotations

from datetime import date

from winter_days.generators.jobs import SALES_WRITE_BATCH, write_sales
from winter_days.generators.sales import generate_sales, sales_documents, sales_draw
from winter_days.records import SALES_COLLECTION
from winter_days.stores import LocalLake, SqliteDocumentStore

DAY = date(2026, 3, 2)


def test_documents_built_in_parts_are_the_days_documents(pool):
    whole = generate_sales(pool, DAY, 1000, 0.5)
    draw = sales_draw(pool, DAY, 1000, 0.5)
    parts = [doc for start in range(0, 1000, 300) for doc in sales_documents(pool, draw, start, start + 300)]
    assert parts == whole
    assert sales_documents(pool, draw, 990, 5000) == whole[990:]


def test_write_sales_stores_every_document_of_a_day_larger_than_one_part(pool, tmp_path):
    count = SALES_WRITE_BATCH + 123
    store = SqliteDocumentStore(tmp_path / "docs.sqlite3")
    seen = []
    run = write_sales(
        store, LocalLake(tmp_path / "lake"), pool, DAY, count=count, legacy_share=0.2, progress=seen.append
    )
    expected = generate_sales(pool, DAY, count, 0.2)
    assert run.documents == count == store.count(SALES_COLLECTION) and seen == [SALES_WRITE_BATCH, 123]
    stored = list(store.changed_since(SALES_COLLECTION, None, batch_size=5000))
    assert [change.document for change in stored] == expected
    assert [change.seq for change in stored] == list(range(1, count + 1))
    legacy = sum(
        not (isinstance(d["sale_timestamp"], str) and d["sale_timestamp"].endswith("+00:00")) for d in expected
    )
    assert run.legacy_documents == legacy > 0
