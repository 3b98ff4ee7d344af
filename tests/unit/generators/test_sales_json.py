"""Sales bodies built in bulk must be exactly the bodies the store writes for the documents."""

from __future__ import annotations

from datetime import date

import pytest

from winter_days.generators.jobs import write_sales
from winter_days.generators.sales import generate_sales, sales_documents, sales_draw
from winter_days.generators.sales_json import encoded_sales
from winter_days.records import SALES_COLLECTION
from winter_days.stores import LocalLake, SqliteDocumentStore
from winter_days.stores.documents import document_body

DAY = date(2026, 3, 2)


@pytest.mark.parametrize("legacy_share", [0.0, 0.3, 1.0])
def test_bulk_bodies_are_byte_for_byte_the_store_encoding_of_the_documents(pool, legacy_share):
    draw = sales_draw(pool, DAY, 5000, legacy_share)
    encoded = encoded_sales(pool, draw, 1200, 4700)
    documents = sales_documents(pool, draw, 1200, 4700)
    assert encoded.doc_ids == [d["sale_id"] for d in documents]
    assert encoded.bodies == [document_body(d) for d in documents]
    legacy = sum(
        not (isinstance(d["sale_timestamp"], str) and d["sale_timestamp"].endswith("+00:00")) for d in documents
    )
    assert encoded.legacy_documents == legacy
    if legacy_share == 1.0:  # every legacy form, the tagged native timestamp among them, is covered
        kinds = {type(d["sale_timestamp"]).__name__ for d in documents}
        assert kinds == {"str", "int", "datetime"}


def test_sale_ids_past_five_digits_and_empty_parts(pool):
    draw = sales_draw(pool, DAY, 100_002, 0.0)
    encoded = encoded_sales(pool, draw, 99_998, 200_000)
    assert encoded.doc_ids == [
        "SALE-20260302-99999",
        "SALE-20260302-100000",
        "SALE-20260302-100001",
        "SALE-20260302-100002",
    ]
    assert encoded.bodies == [document_body(d) for d in sales_documents(pool, draw, 99_998)]
    assert len(encoded_sales(pool, draw, 100_002)) == 0


def test_write_sales_stores_the_same_bodies_as_writing_the_documents(pool, tmp_path):
    bulk = SqliteDocumentStore(tmp_path / "bulk.sqlite3")
    run = write_sales(bulk, LocalLake(tmp_path / "lake"), pool, DAY, count=3000, legacy_share=0.5)
    by_document = SqliteDocumentStore(tmp_path / "dicts.sqlite3")
    by_document.put_many(SALES_COLLECTION, [(d["sale_id"], d) for d in generate_sales(pool, DAY, 3000, 0.5)])
    query = "SELECT doc_id, body, seq FROM documents ORDER BY seq"
    assert bulk._conn.execute(query).fetchall() == by_document._conn.execute(query).fetchall()
    assert run.documents == 3000 and run.legacy_documents > 0
