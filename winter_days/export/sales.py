"""export_sales: sales documents changed since the last export -> one bronze Parquet file.

The export streams the document store's changes in update order, a batch at a time, into
one Parquet file written with an explicit schema (records.SALES_BRONZE_SCHEMA), so memory
does not grow with the collection. The file appears in the lake whole or not at all. The
caller persists `new_watermark` only once this returns: a crash before then exports the
same documents again next time, which staging's de-duplication makes harmless.

No document can fail the export: a value that does not fit its column is null and named
in invalid_fields, text holding a lone surrogate (which UTF-8 cannot encode) is written with
U+FFFD in its place, and in both cases the document is kept in raw_document for the
quarantine. The customer's name is written only as its keyed pseudonym.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj
import pyarrow.parquet as pq

from winter_days.export.read_ahead import prepare_ahead, read_ahead
from winter_days.pseudonyms import Pseudonymiser
from winter_days.records import SALES_BRONZE_SCHEMA, SALES_COLLECTION, SALES_DOCUMENT_SCHEMA
from winter_days.records.checks import value_fits
from winter_days.records.timestamps import parse_sale_timestamp
from winter_days.stores import DocumentStore, Lake
from winter_days.stores.documents import ChangePage, changed_pages

BATCH_SIZE = 10_000
READ_AHEAD_PAGES = 2
_DOCUMENT_FIELDS = [f for f in SALES_DOCUMENT_SCHEMA if f.name != "sale_timestamp"]


@dataclass
class ExportResult:
    """What one export wrote; `key` is None when nothing had changed since the watermark."""

    key: str | None
    rows: int
    new_watermark: int | None
    unparseable_timestamps: int = 0
    invalid_rows: int = 0
    timestamp_forms: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "rows": self.rows,
            "new_watermark": self.new_watermark,
            "unparseable_timestamps": self.unparseable_timestamps,
            "invalid_rows": self.invalid_rows,
            "timestamp_forms": dict(self.timestamp_forms),
        }


_NONE = type(None)
# Python types whose values a column takes as they are; anything else is checked one by one.
_PLAIN_TYPES: dict[str, set[type]] = {"string": {str}, "int64": {int}, "float64": {float, int}}
_ARROW_TYPES = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
_FIELD_KINDS = [
    (f.name, {pa.string(): "string", pa.int64(): "int64", pa.float64(): "float64"}[f.type]) for f in _DOCUMENT_FIELDS
]
_TIMESTAMP_TYPE = pa.timestamp("us", tz="UTC")
# The canonical 2.0.0 form and its Z spelling: parsed a batch at a time; any other value goes
# through parse_sale_timestamp one by one.
_CANONICAL_TIMESTAMP = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\+00:00|Z)$"
_SECONDS_FORMAT = "%Y-%m-%dT%H:%M:%S"
_CANONICAL_FIELD = r'"sale_timestamp":"(?P<value>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\+00:00|Z))"'
_FIELDS_SCHEMA = pa.schema(_DOCUMENT_FIELDS)
_JSON_READ = pj.ReadOptions(block_size=1 << 20)
_JSON_PARSE = pj.ParseOptions(explicit_schema=_FIELDS_SCHEMA, unexpected_field_behavior="ignore")


_SURROGATE = re.compile("[\ud800-\udfff]")
_NAME = "customer_name"
_NAME_INDEX = [name for name, _ in _FIELD_KINDS].index(_NAME)


def _fits(value: Any, kind: str) -> bool:
    return value_fits(value, _ARROW_TYPES[kind])


def _storable(text: str) -> str:
    """Text UTF-8 can encode: each lone surrogate becomes U+FFFD, which the contract's text
    rule then quarantines."""
    return _SURROGATE.sub("\ufffd", text)


def _raw_json(document: dict[str, Any], pseudonyms: Pseudonymiser) -> str:
    """The document as JSON for the quarantine, its customer name replaced by the pseudonym."""
    if document.get(_NAME) is not None:
        name = document[_NAME]
        document = {**document, _NAME: pseudonyms.name(name if isinstance(name, str) else repr(name))}
    return json.dumps(document, default=lambda v: v.isoformat() if isinstance(v, datetime) else repr(v), sort_keys=True)


def bronze_row(
    doc_id: str, document: dict[str, Any], seq: int, exported_at: datetime, pseudonyms: Pseudonymiser
) -> dict[str, Any]:
    """The bronze row of one document: the rules export_sales applies a batch at a time."""
    row: dict[str, Any] = {}
    invalid = []
    repaired = False
    for name, kind in _FIELD_KINDS:
        value = document.get(name)
        if not _fits(value, kind):
            invalid.append(name)
            value = None
        elif kind == "float64" and value is not None:
            value = float(value)
        elif isinstance(value, str) and _SURROGATE.search(value):
            value, repaired = _storable(value), True
        row[name] = value
    name = row[_NAME]
    row[_NAME] = None
    parsed = parse_sale_timestamp(document.get("sale_timestamp"))
    raw = parsed.raw
    if raw is not None and _SURROGATE.search(raw):
        raw, repaired = _storable(raw), True
    row.update(
        sale_timestamp=parsed.value,
        sale_timestamp_raw=raw,
        sale_timestamp_form=parsed.form,
        invalid_fields=",".join(invalid) or None,
        raw_document=_raw_json(document, pseudonyms) if invalid or repaired or not parsed.ok else None,
        document_id=doc_id,
        document_update_seq=seq,
        exported_at=exported_at,
        customer_name_pseudonym=None if name is None else pseudonyms.name(name),
    )
    return row


@dataclass
class _Counts:
    forms: Counter[str] = field(default_factory=Counter)
    unparseable: int = 0
    invalid: int = 0


def _field_column(
    name: str, kind: str, documents: list[dict[str, Any]], invalid_rows: dict[int, list[str]], repaired: set[int]
) -> pa.Array:
    """One document field as a typed column; a value that does not fit becomes null and its
    row is noted in `invalid_rows` (field names in schema order), a lone surrogate becomes
    U+FFFD and its row is noted in `repaired`."""
    values = [d.get(name) for d in documents]
    seen = set(map(type, values))
    seen.discard(_NONE)
    if seen <= _PLAIN_TYPES[kind]:
        try:
            return pa.array(values, type=_ARROW_TYPES[kind])
        except (pa.ArrowInvalid, OverflowError, UnicodeEncodeError):
            pass  # beyond int64, an integer a float64 cannot hold exactly, a lone surrogate: one by one
    for i, value in enumerate(values):
        if not _fits(value, kind):
            invalid_rows.setdefault(i, []).append(name)
            values[i] = None
        elif kind == "float64" and value is not None:
            values[i] = float(value)
        elif isinstance(value, str) and _SURROGATE.search(value):
            values[i] = _storable(value)
            repaired.add(i)
    return pa.array(values, type=_ARROW_TYPES[kind])


def _pseudonym_column(names: pa.Array, pseudonyms: Pseudonymiser) -> pa.Array:
    """The pseudonyms of a column of names, each distinct name hashed once."""
    encoded = pc.dictionary_encode(names)
    distinct = pa.array(pseudonyms.names(encoded.dictionary.to_pylist()), type=pa.string())
    return pc.take(distinct, encoded.indices)


def _canonical_timestamps(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Which of `texts` are canonical timestamps of a real instant in range, and their UTC
    microseconds. strptime rolls impossible dates over (Feb 30 -> Mar 2), so a text counts
    only if formatting its parsed instant gives the text back."""
    shape = pc.match_substring_regex(texts, _CANONICAL_TIMESTAMP)
    head = pc.utf8_slice_codeunits(texts, 0, 19)
    seconds = pc.strptime(head, format=_SECONDS_FORMAT, unit="s", error_is_null=True)
    same = pc.equal(pc.strftime(seconds, format=_SECONDS_FORMAT), head)
    in_range = pc.and_(pc.greater_equal(seconds, _EARLIEST_S), pc.less(seconds, _LATEST_S))
    ok = pc.fill_null(pc.and_(pc.and_(shape, same), in_range), False).to_numpy(zero_copy_only=False)
    micros = pc.fill_null(seconds.cast(pa.int64()), 0).to_numpy(zero_copy_only=False)
    return ok, np.where(ok, micros, 0) * 1_000_000


# Years 0001-9999, as the parser (and BigQuery's TIMESTAMP): year 0000 is no date.
_EARLIEST_S = pa.scalar(
    int((datetime(1, 1, 1, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()), pa.timestamp("s")
)
_LATEST_S = pa.scalar(253402300800, pa.timestamp("s"))  # 10000-01-01


def _timestamp_columns(
    n: int,
    fast_rows: np.ndarray,
    fast_texts: pa.Array,
    fast_micros: np.ndarray,
    slow_value: Callable[[int], Any],
    counts: _Counts,
    repaired: set[int],
) -> tuple[list[pa.Array], np.ndarray]:
    """sale_timestamp, _raw and _form columns, and which rows did not parse. `fast_rows` hold
    canonical texts already parsed; every other row's value (`slow_value(i)`) goes through
    the parser one by one (a raw text with a lone surrogate is noted in `repaired`)."""
    micros = np.zeros(n, dtype=np.int64)
    parsed_ok = np.zeros(n, dtype=bool)
    raws = np.empty(n, dtype=object)
    forms = np.empty(n, dtype=object)
    if len(fast_rows):
        micros[fast_rows] = fast_micros
        parsed_ok[fast_rows] = True
        raws[fast_rows] = fast_texts.to_numpy(zero_copy_only=False)
        forms[fast_rows] = np.where(pc.ends_with(fast_texts, "Z").to_numpy(zero_copy_only=False), "iso_z", "iso_utc")
    slow = np.ones(n, dtype=bool)
    slow[fast_rows] = False
    instants: list[datetime] = []
    instant_rows: list[int] = []
    for i in np.flatnonzero(slow).tolist():
        parsed = parse_sale_timestamp(slow_value(i))
        raws[i] = parsed.raw
        if parsed.raw is not None and _SURROGATE.search(parsed.raw):
            raws[i] = _storable(parsed.raw)
            repaired.add(i)
        forms[i] = parsed.form
        if parsed.value is not None:
            instants.append(parsed.value)
            instant_rows.append(i)
    if instants:
        micros[instant_rows] = pa.array(instants, type=_TIMESTAMP_TYPE).cast(pa.int64()).to_numpy()
        parsed_ok[instant_rows] = True
    counts.forms.update(forms.tolist())
    counts.unparseable += int(n - parsed_ok.sum())
    columns = [
        pa.array(micros, type=_TIMESTAMP_TYPE, mask=~parsed_ok),
        pa.array(raws, type=pa.string()),
        pa.array(forms, type=pa.string()),
    ]
    return columns, ~parsed_ok


def _documents_batch(
    page: ChangePage, exported_at: datetime, counts: _Counts, pseudonyms: Pseudonymiser
) -> pa.RecordBatch:
    """The bronze rows of a page of decoded documents, column by column."""
    documents = page.documents()
    invalid_rows: dict[int, list[str]] = {}
    repaired: set[int] = set()
    columns = [_field_column(name, kind, documents, invalid_rows, repaired) for name, kind in _FIELD_KINDS]
    values = [d.get("sale_timestamp") for d in documents]
    # Text with a lone surrogate goes the slow way, which repairs it.
    is_text = np.fromiter((type(v) is str and not _SURROGATE.search(v) for v in values), dtype=bool, count=len(values))
    text_rows = np.flatnonzero(is_text)
    texts = pa.array([values[i] for i in text_rows.tolist()], type=pa.string())
    ok, micros = _canonical_timestamps(texts) if len(texts) else (np.zeros(0, dtype=bool), np.zeros(0, dtype=np.int64))
    timestamp_columns, unparsed = _timestamp_columns(
        len(page),
        text_rows[ok],
        texts.filter(pa.array(ok, type=pa.bool_())),
        micros[ok],
        values.__getitem__,
        counts,
        repaired,
    )
    counts.invalid += len(invalid_rows)
    invalid_fields: list[str | None] = [None] * len(page)
    for i, names in invalid_rows.items():
        invalid_fields[i] = ",".join(names)
    kept = set(invalid_rows).union(np.flatnonzero(unparsed).tolist(), repaired)
    return _batch(
        page, exported_at, columns + timestamp_columns, invalid_fields, {i: documents[i] for i in kept}, pseudonyms
    )


@dataclass
class _ParsedText:
    """What Arrow made of a page of stored JSON text: the typed fields and the canonical
    timestamps found in the text (`ok`: rows whose `candidates` value parsed to `micros`)."""

    columns: list[pa.Array]
    candidates: pa.Array
    ok: np.ndarray
    micros: np.ndarray


def _parse_text(page: ChangePage) -> _ParsedText | None:
    """Arrow's reading of a page of stored JSON text (work that leaves Python's lock, done by
    the read-ahead thread); None when a value does not fit its column (the reader refuses
    the whole page: it then goes through `_documents_batch`, which finds the row and field)."""
    if page.bodies is None:
        return None
    data = "\n".join(page.bodies).encode()
    try:
        table = pj.read_json(io.BytesIO(data), read_options=_JSON_READ, parse_options=_JSON_PARSE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != len(page):
        return None
    for name, kind in _FIELD_KINDS:
        # An integer beyond float64 reads as infinity; the per-value rules call it invalid.
        if kind == "float64" and pc.all(pc.is_finite(table.column(name))).as_py() is False:
            return None
    texts = _lines(page.bodies, data)
    # The canonical value is taken from the text only where it can only be the top-level
    # field: the one "sale_timestamp": key in a document with no nested object (a { in a
    # string also counts, which merely sends that row the slow way). Every document opens
    # with {, so a found key and a count of 2 mean exactly one of each.
    value = pc.struct_field(pc.extract_regex(texts, _CANONICAL_FIELD), [0])
    plain = pc.equal(pc.count_substring_regex(texts, r'\{|"sale_timestamp":'), 2)
    candidates = pc.if_else(plain, value, pa.scalar(None, pa.string()))
    ok, micros = _canonical_timestamps(candidates)
    columns = [table.column(name).combine_chunks() for name, _ in _FIELD_KINDS]
    return _ParsedText(columns, candidates, ok, micros)


def _text_batch(
    page: ChangePage, parsed: _ParsedText, exported_at: datetime, counts: _Counts, pseudonyms: Pseudonymiser
) -> pa.RecordBatch:
    """The bronze rows of a page of stored JSON text that Arrow read (`_parse_text`): the
    timestamps that are not canonical text go through the parser one by one."""
    rows = np.flatnonzero(parsed.ok)
    local = _Counts()
    repaired: set[int] = set()
    timestamp_columns, unparsed = _timestamp_columns(
        len(page),
        rows,
        parsed.candidates.filter(pa.array(parsed.ok, type=pa.bool_())),
        parsed.micros[parsed.ok],
        lambda i: page.document(i).get("sale_timestamp"),
        local,
        repaired,
    )
    counts.forms.update(local.forms)
    counts.unparseable += local.unparseable
    kept = {i: page.document(i) for i in set(np.flatnonzero(unparsed).tolist()).union(repaired)}
    return _batch(page, exported_at, parsed.columns + timestamp_columns, [None] * len(page), kept, pseudonyms)


def _lines(bodies: list[str], data: bytes) -> pa.Array:
    """`bodies` as a string array over `data` (them joined by newlines, encoded), without
    copying when the text is ASCII (as json.dumps writes it); each value keeps its newline."""
    n = len(bodies)
    lengths = np.fromiter(map(len, bodies), dtype=np.int64, count=n) + 1
    if int(lengths.sum()) != len(data) + 1:  # non-ASCII text: byte and character counts differ
        return pa.array(bodies, type=pa.string())
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    offsets[-1] = len(data)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


def _batch(
    page: ChangePage,
    exported_at: datetime,
    columns: list[pa.Array],
    invalid_fields: list[str | None],
    kept: dict[int, dict[str, Any]],
    pseudonyms: Pseudonymiser,
) -> pa.RecordBatch:
    raw_document: list[str | None] = [None] * len(page)
    for i, document in kept.items():
        raw_document[i] = _raw_json(document, pseudonyms)
    names = columns[_NAME_INDEX]
    columns = columns[:_NAME_INDEX] + [pa.nulls(len(page), pa.string())] + columns[_NAME_INDEX + 1 :]
    columns = columns + [
        pa.array(invalid_fields, type=pa.string()),
        pa.array(raw_document, type=pa.string()),
        pa.array(page.doc_ids, type=pa.string()),
        pa.array(page.seqs, type=pa.int64()),
        pa.repeat(pa.scalar(exported_at, type=_TIMESTAMP_TYPE), len(page)),
        _pseudonym_column(names, pseudonyms),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=SALES_BRONZE_SCHEMA)


def _bronze_batch(
    page: ChangePage, parsed: _ParsedText | None, exported_at: datetime, counts: _Counts, pseudonyms: Pseudonymiser
) -> pa.RecordBatch:
    """The bronze rows of one page (bronze_row's rules, a batch at a time); `parsed` is
    `_parse_text(page)`."""
    if parsed is not None:
        return _text_batch(page, parsed, exported_at, counts, pseudonyms)
    return _documents_batch(page, exported_at, counts, pseudonyms)


def sales_export_key(exported_at: datetime, run_id: str) -> str:
    """Where one export's file lives: partitioned by export date, unique per run."""
    stamp = exported_at.strftime("%Y%m%dT%H%M%SZ")
    return f"bronze/sales/export_date={exported_at:%Y-%m-%d}/sales-{stamp}-{run_id}.parquet"


def export_sales(
    store: DocumentStore,
    lake: Lake,
    watermark: int | None,
    run_id: str,
    *,
    pseudonyms: Pseudonymiser,
    collection: str = SALES_COLLECTION,
    batch_size: int = BATCH_SIZE,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Export documents changed after `watermark` to one Parquet file; see the module docstring.
    `pseudonyms` turns customer names into their pseudonyms (the platform's pseudonymiser)."""
    if not run_id or "/" in run_id:
        raise ValueError(f"run_id {run_id!r}: must be non-empty with no '/'")
    pages = changed_pages(store, collection, watermark, batch_size=batch_size)
    first = next(pages, None)
    if first is None:
        return ExportResult(key=None, rows=0, new_watermark=watermark)
    exported_at = now().astimezone(UTC)
    key = sales_export_key(exported_at, run_id)
    counts = _Counts()
    rows = 0
    last_seq = first.seqs[-1]
    with lake.writer(key) as handle:
        with pq.ParquetWriter(handle, SALES_BRONZE_SCHEMA, compression="zstd") as writer:
            # Three pages at once: one thread reads from the store, another parses with Arrow
            # (both leave Python's lock while they work), this one finishes rows and writes.
            read = read_ahead(_chain(first, pages), READ_AHEAD_PAGES)
            for page, parsed in prepare_ahead(read, _parse_text, READ_AHEAD_PAGES):
                writer.write_batch(_bronze_batch(page, parsed, exported_at, counts, pseudonyms))
                rows += len(page)
                last_seq = page.seqs[-1]
                if progress:
                    progress(rows)
    return ExportResult(
        key=key,
        rows=rows,
        new_watermark=last_seq,
        unparseable_timestamps=counts.unparseable,
        invalid_rows=counts.invalid,
        timestamp_forms=dict(counts.forms),
    )


def _chain(first: ChangePage, rest: Iterator[ChangePage]) -> Iterator[ChangePage]:
    yield first
    yield from rest
