"""The SQLite document store: the shared DocumentStore contract, plus what only SQLite shows."""

from __future__ import annotations

import pytest
from contracts.document_store import DocumentStoreContract

from winter_days.stores import SqliteDocumentStore, open_document_store


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


def test_open_document_store_from_settings(settings):
    store = open_document_store(settings)
    store.put_many("winter_sales", [("s1", {"a": 1})])
    assert settings.document_store_path.exists()
    assert open_document_store(settings).get("winter_sales", "s1") == {"a": 1}
