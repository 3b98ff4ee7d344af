"""FirestoreDocumentStore against the Firestore emulator: the DocumentStore contract the
SQLite store keeps, plus Firestore's limits (500 writes per commit, shared commit times)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pyarrow.parquet as pq
import pytest
from contracts.document_store import DocumentStoreContract
from support.pseudonym_keys import TEST_PSEUDONYMS

from winter_days.config import load_settings
from winter_days.export import export_sales
from winter_days.stores import DocumentStoreError, LocalLake
from winter_days.stores.firestore import (
    UPDATED_AT,
    FirestoreDocumentStore,
    timestamp_to_watermark,
    transient_error_retry,
    watermark_to_timestamp,
)

pytestmark = [pytest.mark.emulator, pytest.mark.xdist_group("firestore_emulator")]


@pytest.fixture
def client(firestore_project):
    from google.cloud import firestore

    client = firestore.Client(project=firestore_project)
    yield client
    client.close()


@pytest.fixture
def store(client) -> FirestoreDocumentStore:
    return FirestoreDocumentStore(client, retry=transient_error_retry(timeout=30, initial=0.05, maximum=0.5))


@pytest.fixture
def writer_store(client) -> FirestoreDocumentStore:
    return FirestoreDocumentStore(client)


class TestFirestoreDocumentStore(DocumentStoreContract):
    """The behaviours the SQLite store keeps, against the emulator."""

    concurrent_documents = 300  # the emulator commits slowly; 300 still spans many pages and commits

    @pytest.fixture
    def reader_store(self, client):
        # The emulator can show a commit half applied to a concurrent query; production Firestore cannot.
        return FirestoreDocumentStore(client, settle_seconds=1.0)


def test_firestore_specific_refusals_name_the_document(store):
    assert store.get("c", "a/b") is None
    with pytest.raises(DocumentStoreError, match="document id '__x__'"):
        store.put_many("c", [("__x__", {})])
    with pytest.raises(DocumentStoreError, match="c/k: document is not storable: Firestore has no arrays of arrays"):
        store.put_many("c", [("k", {"x": [[1, 2]]})])
    with pytest.raises(DocumentStoreError, match="c/k: field name '_updated_at' is reserved"):
        store.put_many("c", [("k", {UPDATED_AT: 1})])
    store.put_many("c", [("k", {"v": 1})])
    assert UPDATED_AT not in store.get("c", "k")
    assert UPDATED_AT not in dict(store.stream("c"))["k"]


def test_commits_hold_at_most_500_writes_and_documents_sharing_a_commit_time_page_exactly_once(store, client):
    commits: list[int] = []
    real_commit = type(client.batch()).commit

    def counting_commit(batch, *args, **kwargs):
        results = real_commit(batch, *args, **kwargs)
        commits.append(len(results))
        return results

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(client.batch()), "commit", counting_commit)
        assert store.put_many("c", ((f"d{i:04}", {"v": i}) for i in range(503)), batch_size=5000) == 503
    assert commits == [500, 3]
    assert store.count("c") == 503
    # Pages of 120 end inside the first commit, whose 500 documents share one time.
    changes = list(store.changed_since("c", None, batch_size=120))
    assert len({change.seq for change in changes}) == 2
    assert sorted(change.doc_id for change in changes) == [f"d{i:04}" for i in range(503)]
    assert [(c.seq, c.doc_id) for c in changes] == sorted((c.seq, c.doc_id) for c in changes)
    assert store.watermark("c") == changes[-1].seq


def test_watermark_is_the_commit_time_in_microseconds(store):
    before = datetime.now(UTC)
    store.put_many("c", [("a", {"v": 1})])
    mark = store.watermark("c")
    assert watermark_to_timestamp(mark) >= before - timedelta(seconds=5)
    assert timestamp_to_watermark(watermark_to_timestamp(mark)) == mark
    # A watermark one microsecond earlier still sees the document; the exact one does not.
    assert [ch.doc_id for ch in store.changed_since("c", mark - 1)] == ["a"]


def test_a_transient_error_on_commit_is_retried(store, client):
    from google.api_core import exceptions

    batch_type = type(client.batch())
    real_commit = batch_type.commit
    calls = []

    def commit_unavailable_once(batch, *args, retry=None, **kwargs):
        def attempt():
            calls.append(1)
            if len(calls) == 1:
                raise exceptions.ServiceUnavailable("the backend is restarting")
            return real_commit(batch, *args, **kwargs)

        return retry(attempt)()

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(batch_type, "commit", commit_unavailable_once)
        assert store.put_many("c", [("a", {"v": 1})]) == 1
    assert len(calls) == 2
    assert store.get("c", "a") == {"v": 1}


def test_a_refused_commit_names_the_batch(store):
    with pytest.raises(DocumentStoreError, match=r"c: Firestore refused the batch of 1 documents 'big'"):
        store.put_many("c", [("big", {"blob": "x" * 1_100_000})])


def test_export_sales_streams_firestore_documents_into_bronze_parquet(store, tmp_path):
    docs = [
        (
            f"s{i:04}",
            {
                "sale_id": f"s{i:04}",
                "customer_id": f"c{i % 5}",
                "customer_name": "Grace Hopper",
                "region": "East",
                "product_id": "p1",
                "product_category": "Books",
                "quantity": 1,
                "unit_price": 4.5,
                "total_amount": 4.5,
                "currency": "USD",
                "status": "completed",
                "payment_method": "card",
                "contact_email_hashed": "0" * 64,
                "credit_card_last4": "4242",
                "sale_timestamp": datetime(2026, 3, 1, 9, tzinfo=UTC) if i % 2 else "2026-03-01T09:00:00Z",
                "schema_version": "2.0.0",
            },
        )
        for i in range(25)
    ]
    store.put_many("winter_sales", docs)
    lake = LocalLake(tmp_path / "lake")
    first = export_sales(store, lake, None, "run1", batch_size=10, pseudonyms=TEST_PSEUDONYMS)
    assert first.rows == 25 and first.new_watermark == store.watermark("winter_sales")
    table = pq.read_table(lake.local_path(first.key))
    assert sorted(table.column("sale_id").to_pylist()) == [f"s{i:04}" for i in range(25)]
    assert set(table.column("customer_name_pseudonym").to_pylist()) == {TEST_PSEUDONYMS.name("Grace Hopper")}
    assert export_sales(store, lake, first.new_watermark, "run2", pseudonyms=TEST_PSEUDONYMS).rows == 0
    store.put_many("winter_sales", [docs[3]])
    again = export_sales(store, lake, first.new_watermark, "run3", pseudonyms=TEST_PSEUDONYMS)
    assert again.rows == 1 and again.new_watermark > first.new_watermark


def test_the_gcp_profile_opens_firestore_in_the_settings_project(firestore_project, tmp_path, monkeypatch):
    from winter_days.platform import build_platform

    settings = load_settings(
        overrides={"profile": "gcp", "gcp": {"project_id": firestore_project, "bucket": "b"}, "home": str(tmp_path)},
        environ={},
        cwd=tmp_path,
    )
    store = build_platform(settings).document_store()
    assert isinstance(store, FirestoreDocumentStore)
    store.put_many("winter_sales", [("s1", {"a": 1})])
    assert FirestoreDocumentStore.from_settings(settings).get("winter_sales", "s1") == {"a": 1}
    store.close()


def test_settling_holds_back_the_newest_writes_until_they_are_old_enough(client, store):
    store.put_many("c", [("a", {"v": 1})])
    assert list(FirestoreDocumentStore(client, settle_seconds=600).changed_since("c", None)) == []
    settling = FirestoreDocumentStore(client, settle_seconds=0.2)
    for _ in range(200):  # bounded: the document is 0.2 s old within a few polls
        changes = list(settling.changed_since("c", None))
        if changes:
            break
        time.sleep(0.05)
    assert [change.doc_id for change in changes] == ["a"]
    with pytest.raises(DocumentStoreError, match="settle_seconds"):
        FirestoreDocumentStore(client, settle_seconds=-1)
