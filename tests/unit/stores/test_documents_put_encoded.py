"""Writing documents the caller already encoded: checked as far as is cheap, one transaction."""

from __future__ import annotations

from datetime import UTC

import pytest

from winter_days.stores import DocumentStoreError, SqliteDocumentStore
from winter_days.stores.documents import document_body


def test_encoded_documents_read_back_like_written_ones(tmp_path):
    from datetime import datetime

    store = SqliteDocumentStore(tmp_path / "docs.sqlite3")
    document = {"v": 1.5, "t": datetime(2026, 3, 1, 10, 30, tzinfo=UTC), "n": None}
    assert store.put_encoded("c", ["a", "b"], [document_body(document), document_body({"v": 2})]) == 2
    assert store.get("c", "a") == document
    assert [change.seq for change in store.changed_since("c", None)] == [1, 2]
    assert store.put_encoded("c", [], []) == 0


@pytest.mark.parametrize(
    ("doc_ids", "bodies", "reason"),
    [
        (["a", "b"], ['{"v":1}'], "2 document ids for 1 bodies"),
        (["a", "x/y"], ['{"v":1}', '{"v":2}'], "document id 'x/y'"),
        (["a", "b"], ['{"v":1}', "[2]"], "c/b: an encoded document is JSON object text"),
        (["a"], [""], "c/a: an encoded document is JSON object text"),
    ],
)
def test_put_encoded_refuses_bad_input_and_writes_nothing(tmp_path, doc_ids, bodies, reason):
    store = SqliteDocumentStore(tmp_path / "docs.sqlite3")
    with pytest.raises(DocumentStoreError, match=reason):
        store.put_encoded("c", doc_ids, bodies)
    assert store.count("c") == 0


def test_a_new_store_takes_large_pages_and_an_existing_one_keeps_its_own(tmp_path):
    import sqlite3

    from winter_days.stores.documents import PAGE_SIZE

    new = SqliteDocumentStore(tmp_path / "new.sqlite3")
    new.put_encoded("c", ["a"], ['{"v":1}'])
    assert new._conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 16384
    older = tmp_path / "older.sqlite3"
    with sqlite3.connect(older) as conn:  # a store file made before: 4 KiB pages, a document in it
        conn.execute("PRAGMA page_size=4096")
        conn.execute("PRAGMA journal_mode=WAL")
    SqliteDocumentStore(older).put_many("c", [("a", {"v": 1})])
    reopened = SqliteDocumentStore(older)
    reopened.put_encoded("c", ["b"], ['{"v":2}'])
    assert reopened._conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert [change.document for change in reopened.changed_since("c", None)] == [{"v": 1}, {"v": 2}]
    # The durable commit of a bulk write does not change how later writes commit, nor
    # how often their log is copied into the database.
    assert reopened._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert reopened._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
