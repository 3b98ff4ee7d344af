"""Cloud Firestore adapter of the DocumentStore port (gcp profile).

Every write stores the document with a server-set update timestamp (`_updated_at`,
Firestore's SERVER_TIMESTAMP, i.e. the commit time). Incremental reads order by
(`_updated_at`, document id) and page with `start_after`, so documents committed together,
which share one timestamp, are neither skipped nor repeated across pages, and an export
streams a collection of any size in flat memory.

The watermark is that timestamp as an int of microseconds since the epoch (Firestore keeps
microseconds), so it round-trips through the run store like the SQLite store's sequence.
Firestore commits are atomic, reads are strongly consistent and a commit's timestamp is
later than any read that did not see it, so a reader that has consumed everything up to
watermark W finds every later write at `_updated_at > W`. Where those guarantees are weaker
(the emulator keeps milliseconds and can show a commit half applied to a concurrent query),
`settle_seconds` holds back documents younger than that, measured on the server's clock
against the query's read time; the next export picks them up.

Documents written by other tools without `_updated_at` are invisible to `changed_since`
(they still count, stream and get). The query needs only Firestore's automatic
single-field indexes.

The SDK is imported lazily: it lives behind the `[gcp]` extra.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from winter_days.stores.documents import Change, DocumentStoreError

if TYPE_CHECKING:
    from google.api_core.retry import Retry
    from google.cloud.firestore import Client, CollectionReference, DocumentSnapshot, Query

    from winter_days.config import Settings

UPDATED_AT = "_updated_at"
MAX_WRITES_PER_COMMIT = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_INT64 = (-(2**63), 2**63 - 1)
_MAX_ID_BYTES = 1500


def _firestore_module():
    try:
        from google.cloud import firestore
    except ImportError as err:
        raise DocumentStoreError(
            "the gcp profile's document store needs google-cloud-firestore: install winter-days[gcp]"
        ) from err
    return firestore


def transient_error_retry(timeout: float = 120.0, initial: float = 0.25, maximum: float = 16.0) -> Retry:
    """Retry with exponential backoff on the errors Firestore documents as transient."""
    from google.api_core import exceptions, retry

    return retry.Retry(
        predicate=retry.if_exception_type(
            exceptions.Aborted,
            exceptions.DeadlineExceeded,
            exceptions.InternalServerError,
            exceptions.ServiceUnavailable,
            exceptions.TooManyRequests,
        ),
        initial=initial,
        maximum=maximum,
        multiplier=2.0,
        timeout=timeout,
    )


def timestamp_to_watermark(value: datetime) -> int:
    """Microseconds since the epoch, exact (integer arithmetic)."""
    return (value - _EPOCH) // timedelta(microseconds=1)


def watermark_to_timestamp(watermark: int) -> datetime:
    return _EPOCH + timedelta(microseconds=watermark)


def _check_collection(collection: str) -> None:
    if not isinstance(collection, str) or not collection or "/" in collection:
        raise DocumentStoreError(f"collection name {collection!r}: must be non-empty with no '/'")


def _id_problem(doc_id: Any) -> str | None:
    """Why `doc_id` cannot name a Firestore document, or None when it can."""
    if not isinstance(doc_id, str) or not doc_id or "/" in doc_id:
        return "must be a non-empty string with no '/'"
    if doc_id in (".", "..") or (doc_id.startswith("__") and doc_id.endswith("__")):
        return "'.', '..' and '__name__'-style ids are reserved by Firestore"
    if len(doc_id.encode()) > _MAX_ID_BYTES:
        return f"longer than Firestore's {_MAX_ID_BYTES} bytes"
    return None


def _encode(value: Any, where: str) -> Any:
    """Check a value is JSON-like (plus aware datetimes), as the SQLite store accepts."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise DocumentStoreError(f"{where}: document is not storable: {value} does not fit in 64 bits")
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise DocumentStoreError(f"{where}: document is not storable: {value} is not a finite number")
        return value
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise DocumentStoreError(f"{where}: naive datetime {value!r}: give a timezone (the store keeps instants)")
        return value.astimezone(UTC)
    if isinstance(value, dict):
        encoded = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise DocumentStoreError(f"{where}: document is not storable: field name {key!r} is not a string")
            encoded[key] = _encode(item, where)
        return encoded
    if isinstance(value, (list, tuple)):
        if any(isinstance(item, (list, tuple)) for item in value):
            raise DocumentStoreError(f"{where}: document is not storable: Firestore has no arrays of arrays")
        return [_encode(item, where) for item in value]
    raise DocumentStoreError(f"{where}: document is not storable: {type(value).__name__} values are not supported")


def _decode(value: Any) -> Any:
    """Firestore values back to plain Python (timestamps as aware `datetime`, UTC)."""
    if isinstance(value, datetime):
        return datetime.combine(value.date(), value.timetz())
    if isinstance(value, dict):
        return {key: _decode(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


def _document(snapshot: DocumentSnapshot) -> dict[str, Any]:
    body = snapshot.to_dict() or {}
    body.pop(UPDATED_AT, None)
    return _decode(body)


class FirestoreDocumentStore:
    """Collections of documents in Cloud Firestore, read incrementally by commit time."""

    def __init__(self, client: Client, retry: Retry | None = None, timeout: float = 60.0, settle_seconds: float = 0.0):
        if settle_seconds < 0:
            raise DocumentStoreError(f"settle_seconds must not be negative, got {settle_seconds}")
        self._settle = timedelta(seconds=settle_seconds)
        self._client = client
        self._retry = retry if retry is not None else transient_error_retry()
        self._timeout = timeout
        self._firestore = _firestore_module()

    @classmethod
    def from_settings(
        cls, settings: Settings, database: str = "(default)", settle_seconds: float = 0.0
    ) -> FirestoreDocumentStore:
        """The store of the settings' project (FIRESTORE_EMULATOR_HOST, when set, points it at the emulator)."""
        if not settings.gcp.project_id:
            raise DocumentStoreError(
                "setting gcp.project_id (WINTER_DAYS_GCP_PROJECT_ID): required by the Firestore document store"
            )
        from winter_days.gcp_credentials import client_credentials

        firestore = _firestore_module()
        credentials = client_credentials("Firestore (the sales documents)", emulator_variable="FIRESTORE_EMULATOR_HOST")
        client = firestore.Client(project=settings.gcp.project_id, database=database, credentials=credentials)
        return cls(client, settle_seconds=settle_seconds)

    def describe(self) -> str:
        return f"Firestore {self._client._database_string}"

    def close(self) -> None:
        self._client.close()

    def put_many(self, collection: str, docs: Iterable[tuple[str, dict[str, Any]]], batch_size: int = 500) -> int:
        """Upsert documents, at most 500 per atomic commit; returns how many were written.

        A commit is retried on transient errors; a retried commit rewrites the same bodies
        with a newer timestamp, which at worst exports those documents once more.
        """
        _check_collection(collection)
        if batch_size < 1:
            raise DocumentStoreError(f"batch_size must be at least 1, got {batch_size}")
        batch_size = min(batch_size, MAX_WRITES_PER_COMMIT)
        written = 0
        batch: list[tuple[str, dict[str, Any]]] = []
        for doc_id, doc in docs:
            problem = _id_problem(doc_id)
            if problem:
                raise DocumentStoreError(f"{collection}: document id {doc_id!r} {problem}")
            if not isinstance(doc, dict):
                raise DocumentStoreError(f"{collection}/{doc_id}: a document is a mapping, got {type(doc).__name__}")
            if UPDATED_AT in doc:
                raise DocumentStoreError(f"{collection}/{doc_id}: field name {UPDATED_AT!r} is reserved")
            batch.append((doc_id, _encode(doc, f"{collection}/{doc_id}")))
            if len(batch) >= batch_size:
                written += self._commit(collection, batch)
                batch = []
        if batch:
            written += self._commit(collection, batch)
        return written

    def _commit(self, collection: str, batch: list[tuple[str, dict[str, Any]]]) -> int:
        from google.api_core import exceptions

        writes = self._client.batch()
        refs = self._client.collection(collection)
        for doc_id, body in batch:
            writes.set(refs.document(doc_id), {**body, UPDATED_AT: self._firestore.SERVER_TIMESTAMP})
        try:
            writes.commit(retry=self._retry, timeout=self._timeout)
        except exceptions.InvalidArgument as err:
            raise DocumentStoreError(
                f"{collection}: Firestore refused the batch of {len(batch)} documents "
                f"{batch[0][0]!r}..{batch[-1][0]!r}: {err.message}"
            ) from None
        return len(batch)

    def get(self, collection: str, doc_id: str) -> dict[str, Any] | None:
        _check_collection(collection)
        if _id_problem(doc_id):
            return None
        snapshot = self._client.collection(collection).document(doc_id).get(retry=self._retry, timeout=self._timeout)
        return _document(snapshot) if snapshot.exists else None

    def count(self, collection: str) -> int:
        _check_collection(collection)
        result = self._client.collection(collection).count().get(retry=self._retry, timeout=self._timeout)
        return int(result[0][0].value)

    def _pages(self, query: Query | CollectionReference, batch_size: int) -> Iterator[list[DocumentSnapshot]]:
        """Pages of `query` (ordered ending in the document id), each read with retries."""
        if batch_size < 1:
            raise DocumentStoreError(f"batch_size must be at least 1, got {batch_size}")
        last: DocumentSnapshot | None = None
        while True:
            page_query = query.limit(batch_size)
            if last is not None:
                page_query = page_query.start_after(last)

            def read_page(q: Query = page_query) -> list[DocumentSnapshot]:
                return list(q.stream(timeout=self._timeout))

            page = self._retry(read_page)()
            if page:
                yield page
            if len(page) < batch_size:
                return
            last = page[-1]

    def stream(self, collection: str, batch_size: int = 1000) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every document in key order, read page by page (memory stays flat)."""
        _check_collection(collection)
        query = self._client.collection(collection).order_by("__name__")
        for page in self._pages(query, batch_size):
            for snapshot in page:
                yield snapshot.id, _document(snapshot)

    def changed_since(self, collection: str, watermark: int | None, batch_size: int = 1000) -> Iterator[Change]:
        """Documents written after `watermark` (all when None), in update order, page by page."""
        _check_collection(collection)
        query: Query | CollectionReference = self._client.collection(collection)
        if watermark is not None:
            field_filter = self._firestore.FieldFilter(UPDATED_AT, ">", watermark_to_timestamp(watermark))
            query = query.where(filter=field_filter)
        query = query.order_by(UPDATED_AT).order_by("__name__")
        for page in self._pages(query, batch_size):
            for snapshot in page:
                updated_at = snapshot.get(UPDATED_AT)
                if self._settle and updated_at > snapshot.read_time - self._settle:
                    return  # in update order: every later document is younger still
                yield Change(snapshot.id, _document(snapshot), timestamp_to_watermark(updated_at))

    def watermark(self, collection: str) -> int | None:
        """The update timestamp (microseconds) of the collection's latest write; None when empty."""
        _check_collection(collection)
        query = (
            self._client.collection(collection)
            .order_by(UPDATED_AT, direction=self._firestore.Query.DESCENDING)
            .limit(1)
        )
        latest = self._retry(lambda: list(query.stream(timeout=self._timeout)))()
        return timestamp_to_watermark(latest[0].get(UPDATED_AT)) if latest else None
