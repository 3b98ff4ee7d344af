from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from winter_days.stores import DocumentStoreError, SqliteDocumentStore, open_document_store


@pytest.fixture
def store(tmp_path) -> SqliteDocumentStore:
    return SqliteDocumentStore(tmp_path / "docs.sqlite3")


def test_upsert_get_count_and_key_order(store):
    assert store.put_many("c", [("b", {"v": 1}), ("a", {"v": 2}), ("c", {"v": 3})]) == 3
    store.put_many("c", [("b", {"v": 10})])
    assert store.count("c") == 3
    assert store.get("c", "b") == {"v": 10}
    assert store.get("c", "zz") is None
    assert [doc_id for doc_id, _ in store.stream("c", batch_size=2)] == ["a", "b", "c"]
    assert store.count("other") == 0


def test_native_timestamps_round_trip_distinct_from_strings_and_numbers(store):
    instant = datetime(2026, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=2)))
    store.put_many("c", [("x", {"t": instant, "s": "2026-03-01T10:30:00+00:00", "e": 1772361000, "n": {"t": [instant]}})])
    doc = store.get("c", "x")
    assert isinstance(doc["t"], datetime) and doc["t"] == instant and doc["t"].tzinfo is not None
    assert isinstance(doc["s"], str) and isinstance(doc["e"], int)
    assert doc["n"]["t"][0] == instant
    with pytest.raises(DocumentStoreError, match="naive datetime"):
        store.put_many("c", [("y", {"t": datetime(2026, 1, 1)})])


def test_bad_documents_are_named(store):
    with pytest.raises(DocumentStoreError, match="document id"):
        store.put_many("c", [("a/b", {})])
    with pytest.raises(DocumentStoreError, match="c/k: a document is a mapping"):
        store.put_many("c", [("k", [1])])
    with pytest.raises(DocumentStoreError, match="not storable"):
        store.put_many("c", [("k", {"x": float("nan")})])


def test_a_failing_batch_writes_nothing_of_that_batch(store):
    def docs():
        yield "a", {"v": 1}
        yield "b", {"v": 2}
        raise RuntimeError("source broke")

    with pytest.raises(RuntimeError):
        store.put_many("c", docs(), batch_size=10)
    assert store.count("c") == 0


def test_changed_since_is_incremental_in_update_order(store):
    assert store.watermark("c") is None
    store.put_many("c", [(f"d{i:03}", {"v": i}) for i in range(10)], batch_size=3)
    first = list(store.changed_since("c", None, batch_size=4))
    assert [ch.doc_id for ch in first] == [f"d{i:03}" for i in range(10)]
    mark = store.watermark("c")
    assert mark == first[-1].seq
    assert list(store.changed_since("c", mark)) == []
    store.put_many("c", [("d003", {"v": 33}), ("new", {"v": 99})])
    changed = list(store.changed_since("c", mark))
    assert [(ch.doc_id, ch.document["v"]) for ch in changed] == [("d003", 33), ("new", 99)]
    assert all(ch.seq > mark for ch in changed)


def test_watermark_reads_with_a_concurrent_writer_lose_nothing(tmp_path):
    """A reader that exports repeatedly while a writer writes sees every document, none twice per version."""
    path = tmp_path / "docs.sqlite3"
    writer_store = SqliteDocumentStore(path)
    reader_store = SqliteDocumentStore(path)
    total = 3000
    done = threading.Event()

    def write():
        for start in range(0, total, 50):
            writer_store.put_many("c", [(f"d{i:05}", {"v": i}) for i in range(start, start + 50)], batch_size=25)
        done.set()

    seen: dict[str, int] = {}
    watermark = None
    thread = threading.Thread(target=write)
    thread.start()
    while True:
        finished = done.is_set()
        for change in reader_store.changed_since("c", watermark, batch_size=70):
            assert change.doc_id not in seen, f"{change.doc_id} exported twice"
            seen[change.doc_id] = change.document["v"]
            assert watermark is None or change.seq > watermark
            watermark = change.seq
        if finished:
            break
    thread.join()
    assert len(seen) == total
    assert all(seen[f"d{i:05}"] == i for i in range(total))


def test_open_document_store_from_settings(settings):
    store = open_document_store(settings)
    store.put_many("winter_sales", [("s1", {"a": 1})])
    assert settings.document_store_path.exists()
    assert open_document_store(settings).get("winter_sales", "s1") == {"a": 1}
