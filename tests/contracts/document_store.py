"""The DocumentStore contract: inherit `DocumentStoreContract` in a `Test...` class that
provides `store` and `writer_store` (a second handle on the same data) fixtures."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from winter_days.stores import DocumentStore, DocumentStoreError


class DocumentStoreContract:
    concurrent_documents = 600

    def test_it_is_a_document_store(self, store):
        assert isinstance(store, DocumentStore)

    def test_upsert_get_count_and_key_order(self, store):
        assert store.put_many("c", [("b", {"v": 1}), ("a", {"v": 2}), ("c", {"v": 3})]) == 3
        store.put_many("c", [("b", {"v": 10})])
        assert store.count("c") == 3
        assert store.get("c", "b") == {"v": 10}
        assert store.get("c", "zz") is None
        assert [doc_id for doc_id, _ in store.stream("c", batch_size=2)] == ["a", "b", "c"]
        assert [doc for _, doc in store.stream("c")] == [{"v": 2}, {"v": 10}, {"v": 3}]
        assert store.count("other") == 0 and list(store.stream("other")) == []

    def test_native_timestamps_round_trip_distinct_from_strings_and_numbers(self, store):
        instant = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
        store.put_many(
            "c", [("x", {"t": instant, "s": "2026-03-01T10:30:00+00:00", "e": 1772361000, "n": {"t": [instant]}})]
        )
        doc = store.get("c", "x")
        assert type(doc["t"]) is datetime and doc["t"] == instant and doc["t"].tzinfo is not None
        assert isinstance(doc["s"], str) and isinstance(doc["e"], int)
        assert doc["n"]["t"][0] == instant
        assert set(doc) == {"t", "s", "e", "n"}
        with pytest.raises(DocumentStoreError, match="naive datetime"):
            store.put_many("c", [("y", {"t": datetime(2026, 1, 1)})])

    def test_bad_documents_are_named(self, store):
        with pytest.raises(DocumentStoreError, match="document id"):
            store.put_many("c", [("a/b", {})])
        with pytest.raises(DocumentStoreError, match="c/k: a document is a mapping"):
            store.put_many("c", [("k", [1])])
        with pytest.raises(DocumentStoreError, match="not storable"):
            store.put_many("c", [("ok", {"v": 1}), ("k", {"x": float("nan")})])
        assert store.count("c") == 0

    def test_a_failing_batch_writes_nothing_of_that_batch(self, store):
        def docs():
            yield "a", {"v": 1}
            yield "b", {"v": 2}
            raise RuntimeError("source broke")

        with pytest.raises(RuntimeError):
            store.put_many("c", docs(), batch_size=10)
        assert store.count("c") == 0

    def test_changed_since_is_incremental_in_update_order(self, store):
        assert store.watermark("c") is None and list(store.changed_since("c", None)) == []
        store.put_many("c", [(f"d{i:03}", {"v": i}) for i in range(10)], batch_size=3)
        first = list(store.changed_since("c", None, batch_size=4))
        assert [ch.doc_id for ch in first] == [f"d{i:03}" for i in range(10)]
        mark = store.watermark("c")
        assert isinstance(mark, int) and mark == first[-1].seq
        assert list(store.changed_since("c", mark)) == []
        store.put_many("c", [("d003", {"v": 33}), ("new", {"v": 99})])
        changed = list(store.changed_since("c", mark))
        assert [(ch.doc_id, ch.document["v"]) for ch in changed] == [("d003", 33), ("new", 99)]
        assert all(ch.seq > mark for ch in changed)

    @pytest.fixture
    def reader_store(self, store):
        """The store the exporting reader uses (an adapter may configure it for concurrent writes)."""
        return store

    def test_watermark_reads_with_a_concurrent_writer_lose_nothing(self, reader_store, writer_store):
        """A reader that exports repeatedly while a writer writes sees every document, none twice."""
        total = self.concurrent_documents
        deadline = time.monotonic() + 120  # a bound on a broken store, not a speed check
        done = threading.Event()
        failures: list[BaseException] = []

        def write():
            try:
                for start in range(0, total, 40):
                    writer_store.put_many(
                        "c", [(f"d{i:05}", {"v": i}) for i in range(start, min(start + 40, total))], batch_size=20
                    )
            except BaseException as err:  # reported by the assertion below
                failures.append(err)
            finally:
                done.set()

        seen: dict[str, int] = {}
        watermark = None
        thread = threading.Thread(target=write)
        thread.start()
        try:
            while True:
                finished = done.is_set()
                pass_start = watermark
                for change in reader_store.changed_since("c", watermark, batch_size=30):
                    assert change.doc_id not in seen, f"{change.doc_id} exported twice"
                    seen[change.doc_id] = change.document["v"]
                    # A store may give the documents of one commit one shared mark.
                    assert pass_start is None or change.seq > pass_start
                    assert watermark is None or change.seq >= watermark
                    watermark = change.seq
                # A store may hold back the newest writes for a moment: keep exporting until all arrive.
                if finished and (len(seen) >= total or time.monotonic() > deadline):
                    break
                if finished:
                    time.sleep(0.05)
        finally:
            thread.join()
        assert failures == []
        assert len(seen) == total
        assert all(seen[f"d{i:05}"] == i for i in range(total))
