"""The generator jobs: generate one flow for one simulated day and write it to its store.

These are what the CLI, the demo and the cloud jobs call. Each job is idempotent for a
given (seed, day, count): sales upsert the same document ids, lake files are immutable and
rewriting identical bytes is a no-op.
"""

from __future__ import annotations

import io
import os
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import BinaryIO, Literal

from winter_days.generators.clickstream import CHUNK_EVENTS, DEFAULT_EVENTS, clickstream_key, draw_clickstream_chunk
from winter_days.generators.customers import CustomerPool
from winter_days.generators.ground_truth import DEFAULT_HORIZON_DAYS, prepare_ground_truth
from winter_days.generators.jsonl import lines_bytes, table_lines
from winter_days.generators.sales import sales_documents, sales_draw
from winter_days.generators.sales_json import encoded_sales
from winter_days.generators.startups import DEFAULT_STARTUPS, load_dates, startup_table, startups_key
from winter_days.pseudonyms import Pseudonymiser
from winter_days.records import SALES_COLLECTION
from winter_days.stores.documents import DocumentStore, EncodedDocumentWriter
from winter_days.stores.lake import Lake

Progress = Callable[[int], None]  # called with the number of records just finished
SALES_WRITE_BATCH = 20_000
WRITEBACK_BYTES = 64 << 20


@dataclass(frozen=True)
class SalesRun:
    day: date
    documents: int
    legacy_documents: int
    collection: str
    ground_truth_key: str


@dataclass(frozen=True)
class LakeRun:
    day: date
    records: int
    key: str
    uri: str
    load_type: str | None = None
    previous_load: date | None = None


def write_sales(
    store: DocumentStore,
    lake: Lake,
    pool: CustomerPool,
    day: date,
    count: int | None = None,
    legacy_share: float = 0.2,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    progress: Progress | None = None,
) -> SalesRun:
    """Upsert the day's sales into `winter_sales` and write the day's churn ground truth.

    The ground truth assumes later days are generated with the same `count` (None: the
    default 5..20); a day whose ground truth exists under other settings fails before
    anything is written.
    """
    gt_key, gt_bytes = prepare_ground_truth(lake, pool, day, horizon_days, count)
    draw = sales_draw(pool, day, count, legacy_share)
    written = legacy = 0
    # A store that takes ready JSON text (SQLite) gets the bodies built in bulk: encoding
    # each document dict costs more than drawing and storing it.
    put_encoded = store.put_encoded if isinstance(store, EncodedDocumentWriter) else None
    # The day's documents are built and stored a part at a time, so memory stays flat
    # however many sales a day has; each part is one store transaction (the store caps it).
    for start in range(0, len(draw), SALES_WRITE_BATCH):
        stop = start + SALES_WRITE_BATCH
        if put_encoded is not None:
            encoded = encoded_sales(pool, draw, start, stop)
            written += put_encoded(SALES_COLLECTION, encoded.doc_ids, encoded.bodies)
            legacy += encoded.legacy_documents
            done = len(encoded)
        else:
            part = sales_documents(pool, draw, start, stop)
            written += store.put_many(SALES_COLLECTION, ((d["sale_id"], d) for d in part), batch_size=SALES_WRITE_BATCH)
            legacy += sum(
                not (isinstance(d["sale_timestamp"], str) and d["sale_timestamp"].endswith("+00:00")) for d in part
            )
            done = len(part)
        if progress:
            progress(done)
    lake.put(gt_key, gt_bytes)
    return SalesRun(day, written, legacy, SALES_COLLECTION, gt_key)


def _clickstream_chunk_lines(pool: CustomerPool, day: date, count: int, chunk: int) -> object:
    return draw_clickstream_chunk(pool, day, count, chunk).jsonl()


def _publish_lines(
    lake: Lake, key: str, jobs: list[Callable[[], object]], progress: Progress | None, workers: int = 2
) -> int:
    """Run the jobs (each returns a chunk of JSON Lines) on `workers` threads (Arrow and numpy
    release the GIL), append their output in order, and publish the file under `key`
    atomically through the lake's streaming writer."""
    with lake.writer(key) as out:
        return _append_lines(out, jobs, progress, workers)


class EarlyWriteback:
    """Syncs a local file on a side thread every `every` bytes while it is still being
    written. The lake syncs a file once it is whole; a file of gigabytes left all dirty
    until then makes that sync the longest single wait of a large day, where syncing as we
    go overlaps the disk writes with generating the rest. A file with no descriptor (a
    cloud writer) is left alone."""

    def __init__(self, out: BinaryIO, every: int = WRITEBACK_BYTES):
        self._out = out
        self._every = every
        try:
            self._fd: int | None = out.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation):
            self._fd = None
        self._unsynced = 0
        self._thread: threading.Thread | None = None
        self._error: OSError | None = None

    def wrote(self, size: int) -> None:
        if self._fd is None:
            return
        self._unsynced += size
        if self._unsynced >= self._every and (self._thread is None or not self._thread.is_alive()):
            self._out.flush()
            self._unsynced = 0
            self._thread = threading.Thread(target=self._sync, args=(self._fd,), name="lake-writeback", daemon=True)
            self._thread.start()

    def _sync(self, fd: int) -> None:
        try:
            os.fdatasync(fd)
        except OSError as err:
            # Linux reports a write error once per open file: the lake's own final sync
            # would not see it again, so it is raised from finish().
            self._error = err

    def finish(self) -> None:
        """Wait for the sync in flight; raise its error if it failed."""
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error


def _append_lines(out: BinaryIO, jobs: list[Callable[[], object]], progress: Progress | None, workers: int) -> int:
    records = 0
    writeback = EarlyWriteback(out)
    with ThreadPoolExecutor(max_workers=workers) as executor:
        pending: deque[Future] = deque()

        def drain_one() -> None:
            nonlocal records
            lines = pending.popleft().result()
            data = lines_bytes(lines)
            out.write(data)
            writeback.wrote(len(data))
            records += len(lines)
            if progress:
                progress(len(lines))

        try:
            for job in jobs:
                pending.append(executor.submit(job))
                if len(pending) > workers:
                    drain_one()
            while pending:
                drain_one()
        finally:
            writeback.finish()
    return records


def write_clickstream(
    lake: Lake, pool: CustomerPool, day: date, count: int = DEFAULT_EVENTS, progress: Progress | None = None
) -> LakeRun:
    """Write the day's events as one JSON Lines file under bronze/clickstream/load_date=DAY/."""
    key = clickstream_key(day)
    if count < 0:
        raise ValueError(f"clickstream count must be >= 0, got {count}")
    sizes = [(c, min(CHUNK_EVENTS, count - first)) for c, first in enumerate(range(0, count, CHUNK_EVENTS))]
    jobs: list[Callable[[], object]] = [partial(_clickstream_chunk_lines, pool, day, n, c) for c, n in sizes]
    records = _publish_lines(lake, key, jobs, progress)
    return LakeRun(day, records, key, lake.uri(key))


def write_startups(
    lake: Lake,
    seed: int,
    population_start: date,
    day: date,
    count: int = DEFAULT_STARTUPS,
    load_type: Literal["auto", "full", "delta"] = "auto",
    progress: Progress | None = None,
    *,
    pseudonyms: Pseudonymiser,
) -> LakeRun:
    """Write the startup load of `day` under bronze/startups/load_date=DAY/.

    auto: full if the lake holds no earlier startup load, else a delta against the latest
    earlier one; delta without an earlier load is an error.
    """
    earlier = [d for d in load_dates(lake.list("bronze/startups/")) if d < day]
    previous = earlier[-1] if earlier else None
    if load_type == "full":
        previous = None
    elif load_type == "delta" and previous is None:
        raise ValueError(
            f"no startup load before {day} under bronze/startups/ of {lake.root_uri}: the first load must be full"
        )
    elif load_type not in ("auto", "delta"):
        raise ValueError(f"load_type must be auto, full or delta, got {load_type!r}")
    table = startup_table(seed, population_start, day, previous, count, pseudonyms=pseudonyms)
    key = startups_key(day)
    records = _publish_lines(lake, key, [lambda: table_lines(table)], progress)
    return LakeRun(day, records, key, lake.uri(key), "full" if previous is None else "delta", previous)
