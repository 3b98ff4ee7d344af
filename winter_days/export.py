"""export_sales: sales documents changed since the last export -> one bronze Parquet file.

The export streams the document store's changes in update order, a batch at a time, into
one Parquet file written with an explicit schema (records.SALES_BRONZE_SCHEMA), so memory
does not grow with the collection. The file appears in the lake whole or not at all. The
caller persists `new_watermark` only once this returns: a crash before then exports the
same documents again next time, which staging's de-duplication makes harmless.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from winter_days.records import SALES_BRONZE_SCHEMA, SALES_COLLECTION, SALES_DOCUMENT_SCHEMA
from winter_days.stores import Change, DocumentStore, Lake
from winter_days.timestamps import parse_sale_timestamp

BATCH_SIZE = 10_000
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


def _fits(value: Any, kind: pa.DataType) -> bool:
    if value is None:
        return True
    if kind == pa.string():
        return isinstance(value, str)
    if kind == pa.int64():
        return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
    if kind == pa.float64():
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return False


def _raw_json(document: dict[str, Any]) -> str:
    return json.dumps(document, default=lambda v: v.isoformat() if isinstance(v, datetime) else repr(v), sort_keys=True)


class _BatchBuilder:
    """Columns of one record batch, filled document by document."""

    def __init__(self, exported_at: datetime):
        self.exported_at = exported_at
        self.columns: dict[str, list[Any]] = {name: [] for name in SALES_BRONZE_SCHEMA.names}
        self.forms: Counter[str] = Counter()
        self.unparseable = 0
        self.invalid = 0

    def __len__(self) -> int:
        return len(self.columns["document_id"])

    def add(self, change: Change) -> None:
        doc = change.document
        invalid = []
        for f in _DOCUMENT_FIELDS:
            value = doc.get(f.name)
            if not _fits(value, f.type):
                invalid.append(f.name)
                value = None
            elif f.type == pa.float64() and value is not None:
                value = float(value)
            self.columns[f.name].append(value)
        parsed = parse_sale_timestamp(doc.get("sale_timestamp"))
        self.forms[parsed.form] += 1
        if not parsed.ok:
            self.unparseable += 1
        if invalid:
            self.invalid += 1
        self.columns["sale_timestamp"].append(parsed.value)
        self.columns["sale_timestamp_raw"].append(parsed.raw)
        self.columns["sale_timestamp_form"].append(parsed.form)
        self.columns["invalid_fields"].append(",".join(invalid) or None)
        self.columns["raw_document"].append(_raw_json(doc) if invalid or not parsed.ok else None)
        self.columns["document_id"].append(change.doc_id)
        self.columns["document_update_seq"].append(change.seq)
        self.columns["exported_at"].append(self.exported_at)

    def to_batch(self) -> pa.RecordBatch:
        batch = pa.RecordBatch.from_pydict(self.columns, schema=SALES_BRONZE_SCHEMA)
        for values in self.columns.values():
            values.clear()
        return batch


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
    collection: str = SALES_COLLECTION,
    batch_size: int = BATCH_SIZE,
    now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    progress: Callable[[int], None] | None = None,
) -> ExportResult:
    """Export documents changed after `watermark` to one Parquet file; see the module docstring."""
    if not run_id or "/" in run_id:
        raise ValueError(f"run_id {run_id!r}: must be non-empty with no '/'")
    changes: Iterable[Change] = store.changed_since(collection, watermark, batch_size=batch_size)
    iterator = iter(changes)
    first = next(iterator, None)
    if first is None:
        return ExportResult(key=None, rows=0, new_watermark=watermark)
    exported_at = now().astimezone(timezone.utc)
    key = sales_export_key(exported_at, run_id)
    builder = _BatchBuilder(exported_at)
    rows = 0
    last_seq = first.seq
    with lake.writer(key) as handle:
        with pq.ParquetWriter(handle, SALES_BRONZE_SCHEMA, compression="zstd") as writer:
            for change in _chain(first, iterator):
                builder.add(change)
                last_seq = change.seq
                if len(builder) >= batch_size:
                    rows += len(builder)
                    writer.write_batch(builder.to_batch())
                    if progress:
                        progress(rows)
            if len(builder):
                rows += len(builder)
                writer.write_batch(builder.to_batch())
                if progress:
                    progress(rows)
    return ExportResult(
        key=key,
        rows=rows,
        new_watermark=last_seq,
        unparseable_timestamps=builder.unparseable,
        invalid_rows=builder.invalid,
        timestamp_forms=dict(builder.forms),
    )


def _chain(first: Change, rest: Iterable[Change]) -> Iterable[Change]:
    yield first
    yield from rest
