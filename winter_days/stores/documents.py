"""The document store: collections of JSON documents, read incrementally by a watermark.

Every write stamps the document with a store-assigned update sequence (`seq`). Writes are
serialised by SQLite's write lock and `seq` is taken inside the writing transaction, so
sequences become visible in increasing order: a reader that has seen everything up to
watermark W will never later find a committed document with seq <= W. That makes
`changed_since(watermark)` a safe basis for incremental exports.

Native timestamps round-trip: a `datetime` value is stored tagged and read back as a
timezone-aware `datetime` (as Firestore does), distinct from a string or an epoch number.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast, runtime_checkable

_TIMESTAMP_TAG = "$timestamp"
PAGE_SIZE = 16384
DEFAULT_CHECKPOINT_PAGES = 1000  # SQLite's default: the log is copied into the database at 16 MiB
BULK_CHECKPOINT_PAGES = 8192  # 128 MiB of log between copies while a bulk writer stores documents


class DocumentStoreError(Exception):
    """A document store operation that cannot be done as asked."""


@dataclass(frozen=True)
class Change:
    """A document as of its last write, with the store's update sequence."""

    doc_id: str
    document: dict[str, Any]
    seq: int


class ChangePage:
    """Consecutive changes in update order, as parallel lists (a batch for columnar work).

    A store that keeps documents as JSON text hands on that text (`bodies`: the documents'
    JSON with native timestamps as {"$timestamp": ISO text} objects); the documents are then
    decoded only when asked for.
    """

    def __init__(
        self,
        collection: str,
        doc_ids: list[str],
        seqs: list[int],
        *,
        documents: list[dict[str, Any]] | None = None,
        bodies: list[str] | None = None,
    ):
        if (documents is None) == (bodies is None):
            raise ValueError("a page holds either documents or bodies")
        self.collection = collection
        self.doc_ids = doc_ids
        self.seqs = seqs
        self.bodies = bodies
        self._documents = documents

    def __len__(self) -> int:
        return len(self.doc_ids)

    def documents(self) -> list[dict[str, Any]]:
        if self._documents is None:
            assert self.bodies is not None
            self._documents = _loads_page(self.collection, self.doc_ids, self.bodies)
        return self._documents

    def document(self, i: int) -> dict[str, Any]:
        """The i-th document (decoding only that one when the page holds text)."""
        if self._documents is not None:
            return self._documents[i]
        assert self.bodies is not None
        return _loads_checked(self.collection, self.doc_ids[i], self.bodies[i])


@runtime_checkable
class DocumentStore(Protocol):
    """Document store port; the SQLite and Firestore adapters keep the same contract."""

    def put_many(self, collection: str, docs: Iterable[tuple[str, dict[str, Any]]], batch_size: int = 500) -> int: ...

    def get(self, collection: str, doc_id: str) -> dict[str, Any] | None: ...

    def count(self, collection: str) -> int: ...

    def stream(self, collection: str, batch_size: int = 1000) -> Iterator[tuple[str, dict[str, Any]]]: ...

    def changed_since(self, collection: str, watermark: int | None, batch_size: int = 1000) -> Iterator[Change]: ...

    def watermark(self, collection: str) -> int | None: ...

    def describe(self) -> str:
        """Where the documents are, for messages."""
        ...

    def close(self) -> None:
        """Release the store's connections."""
        ...


@runtime_checkable
class PagedChangeReader(Protocol):
    """A store that reads a whole page of changes at once (SQLite: one query a page)."""

    def changed_pages(self, collection: str, watermark: int | None, batch_size: int = 1000) -> Iterator[ChangePage]: ...


@runtime_checkable
class EncodedDocumentWriter(Protocol):
    """A store that takes documents as ready JSON bodies (SQLite keeps them as text)."""

    def put_encoded(self, collection: str, doc_ids: Sequence[str], bodies: Sequence[str]) -> int: ...


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise DocumentStoreError(f"naive datetime {value!r}: give a timezone (the store keeps instants)")
        return {_TIMESTAMP_TAG: value.astimezone(UTC).isoformat()}
    if isinstance(value, dict):
        if _TIMESTAMP_TAG in value:
            raise DocumentStoreError(f"field name {_TIMESTAMP_TAG!r} is reserved")
        return {k: _encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _TIMESTAMP_TAG in obj:
        return datetime.fromisoformat(obj[_TIMESTAMP_TAG])
    return obj


def _encode_leaf(value: Any) -> Any:
    if isinstance(value, datetime):
        return _encode(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# One encoder for every document: the C encoder walks the document and calls _encode_leaf
# only for datetimes, which is far cheaper than copying each document through _encode.
_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False, default=_encode_leaf)
_TAG_TEXT = json.dumps(_TIMESTAMP_TAG)


def document_body(doc: dict[str, Any]) -> str:
    """The JSON text the SQLite store keeps for `doc` (what `put_encoded` expects)."""
    return _dumps(doc)


def _dumps(doc: dict[str, Any]) -> str:
    try:
        text = _ENCODER.encode(doc)
        if _TAG_TEXT in text:
            # A datetime was tagged, or a field uses the reserved name: the walk tells which
            # (and writes the same text for the former).
            text = _ENCODER.encode(_encode(doc))
        return text
    except (TypeError, ValueError) as err:
        raise DocumentStoreError(f"document is not storable: {err}") from None


_DECODER = json.JSONDecoder(object_hook=_decode_hook)


def _loads(body: str) -> dict[str, Any]:
    document: dict[str, Any] = _DECODER.decode(body)
    return document


def _loads_page(collection: str, doc_ids: list[str], bodies: list[str]) -> list[dict[str, Any]]:
    """Decode a page of stored bodies in one parser call (one JSON array), which saves the
    per-call overhead that dominates for small documents."""
    try:
        documents = _DECODER.decode("[" + ",".join(bodies) + "]")
    except ValueError:
        documents = None
    # Every stored body is one JSON object, so a page decodes to exactly that many objects;
    # anything else means a malformed body, decoded one by one to name it.
    if documents is not None and len(documents) == len(bodies) and all(type(d) is dict for d in documents):
        return cast(list[dict[str, Any]], documents)
    return [_loads_checked(collection, doc_id, body) for doc_id, body in zip(doc_ids, bodies, strict=False)]


def _loads_checked(collection: str, doc_id: str, body: str) -> dict[str, Any]:
    try:
        document = _loads(body)
    except ValueError as err:
        raise DocumentStoreError(f"{collection}/{doc_id}: stored body is not JSON: {err}") from None
    if type(document) is not dict:
        raise DocumentStoreError(f"{collection}/{doc_id}: stored body is not a JSON object")
    return document


def changed_pages(
    store: DocumentStore, collection: str, watermark: int | None, batch_size: int = 1000
) -> Iterator[ChangePage]:
    """`store.changed_since` in pages of at most `batch_size`; a store that can read a whole
    page at once (SQLite) does, any other is paged here."""
    if isinstance(store, PagedChangeReader):
        yield from store.changed_pages(collection, watermark, batch_size)
        return
    doc_ids: list[str] = []
    documents: list[dict[str, Any]] = []
    seqs: list[int] = []
    for change in store.changed_since(collection, watermark, batch_size=batch_size):
        doc_ids.append(change.doc_id)
        documents.append(change.document)
        seqs.append(change.seq)
        if len(doc_ids) >= batch_size:
            yield ChangePage(collection, doc_ids, seqs, documents=documents)
            doc_ids, documents, seqs = [], [], []
    if doc_ids:
        yield ChangePage(collection, doc_ids, seqs, documents=documents)


def _check_collection(collection: str) -> None:
    if not collection or "/" in collection:
        raise DocumentStoreError(f"collection name {collection!r}: must be non-empty with no '/'")


class SqliteDocumentStore:
    """Documents in one SQLite file (WAL: one writer, concurrent readers)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connect() as conn:
            # Only a new, empty file takes a page size (an existing one keeps its own). A
            # sales body is about 450 bytes: 16 KiB pages hold more of them per page, which
            # makes bulk writes cheaper in CPU and the file smaller than 4 KiB pages do.
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(
                """
                CREATE TABLE IF NOT EXISTS documents (
                    collection TEXT NOT NULL,
                    doc_id TEXT NOT NULL,
                    body TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    updated_at TEXT NOT NULL,
                    PRIMARY KEY (collection, doc_id)
                ) WITHOUT ROWID;
                CREATE UNIQUE INDEX IF NOT EXISTS documents_by_seq ON documents (collection, seq);
                CREATE TABLE IF NOT EXISTS sequence (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);
                INSERT OR IGNORE INTO sequence (id, last) VALUES (1, 0);
                """
            )

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=60000")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @property
    def _conn(self) -> sqlite3.Connection:
        # One connection per thread: sqlite3 connections are not shared across threads.
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def describe(self) -> str:
        return f"SQLite file {self.path}"

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def put_many(self, collection: str, docs: Iterable[tuple[str, dict[str, Any]]], batch_size: int = 500) -> int:
        """Upsert documents, `batch_size` per transaction; returns how many were written."""
        _check_collection(collection)
        if batch_size < 1:
            raise DocumentStoreError(f"batch_size must be at least 1, got {batch_size}")
        written = 0
        batch: list[tuple[str, str]] = []
        for doc_id, doc in docs:
            if not isinstance(doc_id, str) or not doc_id or "/" in doc_id:
                raise DocumentStoreError(f"{collection}: document id {doc_id!r} must be a non-empty string with no '/'")
            if not isinstance(doc, dict):
                raise DocumentStoreError(f"{collection}/{doc_id}: a document is a mapping, got {type(doc).__name__}")
            batch.append((doc_id, _dumps(doc)))
            if len(batch) >= batch_size:
                written += self._write_batch(collection, batch)
                batch = []
        if batch:
            written += self._write_batch(collection, batch)
        return written

    def put_encoded(self, collection: str, doc_ids: Sequence[str], bodies: Sequence[str]) -> int:
        """Upsert documents already encoded as `document_body` gives them, in one durable
        transaction.

        For writers that build many documents' JSON in bulk (the sales generator): the
        per-document encoding is the costly part of `put_many`. Ids are checked as there;
        bodies only for being JSON object text, since decoding each would cost what the
        caller saved (a reader names any body it cannot decode).
        """
        _check_collection(collection)
        if len(doc_ids) != len(bodies):
            raise DocumentStoreError(f"{collection}: {len(doc_ids)} document ids for {len(bodies)} bodies")
        for doc_id, body in zip(doc_ids, bodies, strict=False):
            if not isinstance(doc_id, str) or not doc_id or "/" in doc_id:
                raise DocumentStoreError(f"{collection}: document id {doc_id!r} must be a non-empty string with no '/'")
            if not isinstance(body, str) or body[:1] != "{" or body[-1:] != "}":
                raise DocumentStoreError(
                    f"{collection}/{doc_id}: an encoded document is JSON object text, got {body!r:.80}"
                )
        if not doc_ids:
            return 0
        conn = self._conn
        # In WAL mode a NORMAL commit reaches the disk only at the next checkpoint; a bulk
        # writer's commit syncs the log at once, so its documents are on disk when it returns.
        # Its log is copied into the database every BULK_CHECKPOINT_PAGES rather than every
        # 1,000 pages (SQLite's default), which rewrote the same index pages over and over:
        # a million sales documents took 1.8 s less to store.
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA wal_autocheckpoint={BULK_CHECKPOINT_PAGES}")
        try:
            return self._write_batch(collection, list(zip(doc_ids, bodies, strict=False)))
        finally:
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA wal_autocheckpoint={DEFAULT_CHECKPOINT_PAGES}")

    def _write_batch(self, collection: str, batch: list[tuple[str, str]]) -> int:
        conn = self._conn
        now = datetime.now(UTC).isoformat()
        conn.execute("BEGIN IMMEDIATE")
        try:
            (last,) = conn.execute("SELECT last FROM sequence WHERE id = 1").fetchone()
            rows = [(collection, doc_id, body, last + i + 1, now) for i, (doc_id, body) in enumerate(batch)]
            conn.executemany(
                """
                INSERT INTO documents (collection, doc_id, body, seq, updated_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (collection, doc_id) DO UPDATE
                SET body = excluded.body, seq = excluded.seq, updated_at = excluded.updated_at
                """,
                rows,
            )
            conn.execute("UPDATE sequence SET last = ? WHERE id = 1", (last + len(batch),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return len(batch)

    def get(self, collection: str, doc_id: str) -> dict[str, Any] | None:
        row = self._conn.execute(
            "SELECT body FROM documents WHERE collection = ? AND doc_id = ?", (collection, doc_id)
        ).fetchone()
        return None if row is None else _loads(row[0])

    def count(self, collection: str) -> int:
        return int(
            self._conn.execute("SELECT count(*) FROM documents WHERE collection = ?", (collection,)).fetchone()[0]
        )

    def stream(self, collection: str, batch_size: int = 1000) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every document in key order, read page by page (memory stays flat)."""
        after = ""
        while True:
            rows = self._conn.execute(
                "SELECT doc_id, body FROM documents WHERE collection = ? AND doc_id > ? ORDER BY doc_id LIMIT ?",
                (collection, after, batch_size),
            ).fetchall()
            for doc_id, body in rows:
                yield doc_id, _loads(body)
            if len(rows) < batch_size:
                return
            after = rows[-1][0]

    def changed_since(self, collection: str, watermark: int | None, batch_size: int = 1000) -> Iterator[Change]:
        """Documents written after `watermark` (all when None), in update order, page by page."""
        for page in self.changed_pages(collection, watermark, batch_size):
            yield from map(Change, page.doc_ids, page.documents(), page.seqs)

    def changed_pages(self, collection: str, watermark: int | None, batch_size: int = 1000) -> Iterator[ChangePage]:
        """What `changed_since` yields, a page (one query) at a time."""
        if batch_size < 1:
            raise DocumentStoreError(f"batch_size must be at least 1, got {batch_size}")
        after = -1 if watermark is None else watermark
        while True:
            rows = self._conn.execute(
                "SELECT doc_id, body, seq FROM documents WHERE collection = ? AND seq > ? ORDER BY seq LIMIT ?",
                (collection, after, batch_size),
            ).fetchall()
            if rows:
                doc_ids, bodies, seqs = (list(column) for column in zip(*rows, strict=False))
                yield ChangePage(collection, doc_ids, seqs, bodies=bodies)
            if len(rows) < batch_size:
                return
            after = rows[-1][2]

    def watermark(self, collection: str) -> int | None:
        """The update sequence of the collection's latest write (None when it is empty)."""
        latest = self._conn.execute("SELECT max(seq) FROM documents WHERE collection = ?", (collection,)).fetchone()[0]
        return None if latest is None else int(latest)
