"""Writing documents the caller already encoded: checked as far as is cheap, one transaction."""

from __future__ import annotations

import pytest

from winter_days.stores import DocumentStoreError, SqliteDocumentStore
from winter_days.stores.documents import document_body


def test_encoded_documents_read_back_like_written_ones(tmp_path):
    from datetime import datetime, timezone

    store = SqliteDocumentStore(tmp_path / "docs.sqlite3")
    document = {"v": 1.5, "t": datetime(2026, 3, 1, 10, 30, tzinfo=timezone.utc), "n": None}
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
    ],
)
def test_put_encoded_refuses_bad_input_and_writes_nothing(tmp_path, doc_ids, bodies, reason):
    store = SqliteDocumentStore(tmp_path / "docs.sqlite3")
    with pytest.raises(DocumentStoreError, match=reason):
        store.put_encoded("c", doc_ids, bodies)
    assert store.count("c") == 0
