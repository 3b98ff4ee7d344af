"""The SQLite document store: the shared DocumentStore contract, plus what only SQLite shows."""

from __future__ import annotations

from datetime import UTC

import pytest
from contracts.document_store import DocumentStoreContract

from winter_days.stores import DocumentStoreError, SqliteDocumentStore


@pytest.fixture
def store(tmp_path) -> SqliteDocumentStore:
    return SqliteDocumentStore(tmp_path / "docs.sqlite3")


@pytest.fixture
def writer_store(tmp_path, store) -> SqliteDocumentStore:
    """A second handle on the same file: a writer process beside the exporting reader."""
    return SqliteDocumentStore(tmp_path / "docs.sqlite3")


class TestSqliteDocumentStore(DocumentStoreContract):
    concurrent_documents = 3000


def test_the_store_runs_in_wal_mode_for_concurrent_readers(store):
    store.put_many("c", [("a", {})])
    assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_local_platform_keeps_documents_at_the_configured_path(settings, platform):
    store = platform.document_store()
    store.put_many("winter_sales", [("s1", {"a": 1})])
    store.close()
    assert settings.document_store_path.exists()
    again = platform.document_store()
    assert again.get("winter_sales", "s1") == {"a": 1} and str(settings.document_store_path) in again.describe()
    again.close()


def test_a_malformed_stored_body_is_named_when_read(store):
    store.put_many("c", [(f"d{i}", {"v": i}) for i in range(5)])
    store._conn.execute("UPDATE documents SET body = '{\"v\": ' WHERE doc_id = 'd3'")
    with pytest.raises(DocumentStoreError, match="c/d3: stored body is not JSON"):
        list(store.changed_since("c", None))
    pages = list(store.changed_pages("c", None, batch_size=3))
    assert [page.doc_ids for page in pages] == [["d0", "d1", "d2"], ["d3", "d4"]]
    assert pages[0].documents() == [{"v": 0}, {"v": 1}, {"v": 2}]


def test_stored_text_is_compact_json_with_tagged_instants_and_the_tag_name_stays_reserved(store):
    from datetime import datetime

    instant = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    store.put_many("c", [("a", {"v": 1.5, "s": "$timestamp", "t": instant, "n": [{"t": instant}]})])
    (body,) = store._conn.execute("SELECT body FROM documents WHERE doc_id = 'a'").fetchone()
    tagged = '{"$timestamp":"2026-03-01T10:30:00+00:00"}'
    assert body == '{"v":1.5,"s":"$timestamp","t":' + tagged + ',"n":[{"t":' + tagged + "}]}"
    with pytest.raises(DocumentStoreError, match="reserved"):
        store.put_many("c", [("b", {"n": {"$timestamp": "2026-03-01"}})])
