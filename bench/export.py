"""export_sales: rate and peak memory at two collection sizes, side by side.

A SQLite document store is filled with generated sales documents (not timed; written as the
sales generator writes a day), then
`export_sales` streams the whole collection into one bronze Parquet file. Each export runs
in a fresh interpreter, so its peak resident memory is its own. The export streams in
batches, so the peak at the larger collection should match the smaller one's: the goal is
a peak memory ratio (large over small) of at most 1.25 while the collection grows 4x.

Sizes: 250,000 and 1,000,000 documents (--quick: 20,000 and 80,000), median of 3.
The export holds up to about seven pages at once (each stage's page and its read-ahead);
the quick sizes use pages of 2,000 documents instead of 10,000, so that the smaller
collection fills that pipeline as the full sizes do (with 10,000 it never does, and the
ratio shows the pipeline filling, 1.28x, rather than growth with the collection).

    python -m bench.export [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from bench.common import BENCH_KEY, measure_in_child, median_measure, row, step_row, write_results

MEMORY_GROWTH_GOAL = 1.25
FILL_DAY = date(2026, 3, 1)
FILL_CUSTOMERS = 20_000


def fill_store(path: Path, day: date, count: int) -> None:
    """Add `count` documents as the sales generator writes a simulated `day` (drawn and
    encoded in bulk, stored through `put_encoded`); sale ids carry the day, so each top-up
    adds new documents."""
    from winter_days.generators.customers import build_customer_pool
    from winter_days.generators.jobs import write_sales
    from winter_days.pseudonyms import Pseudonymiser
    from winter_days.stores.documents import SqliteDocumentStore
    from winter_days.stores.lake import LocalLake

    store = SqliteDocumentStore(path)
    try:
        pool = build_customer_pool(42, FILL_CUSTOMERS, date(2026, 1, 1), Pseudonymiser(BENCH_KEY))
        written = write_sales(store, LocalLake(path.parent / "fill-lake"), pool, day, count=count)
        if written.documents != count:
            raise SystemExit(f"filling the store for {day} wrote {written.documents:,} of {count:,} documents")
    finally:
        store.close()


QUICK_PAGE_DOCUMENTS = 2_000


def export_collection(store_path: str, lake_root: str, run_id: str, batch_size: int) -> dict:
    """One full export of the collection (runs in the child process)."""
    from winter_days.export import export_sales
    from winter_days.pseudonyms import Pseudonymiser
    from winter_days.stores.documents import SqliteDocumentStore
    from winter_days.stores.lake import LocalLake

    store = SqliteDocumentStore(store_path)
    try:
        result = export_sales(
            store, LocalLake(lake_root), None, run_id, batch_size=batch_size, pseudonyms=Pseudonymiser(BENCH_KEY)
        )
    finally:
        store.close()
    return {"rows": result.rows, "unparseable": result.unparseable_timestamps, "invalid": result.invalid_rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.export", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 and 80,000 documents")
    args = parser.parse_args(argv)
    small, large = (20_000, 80_000) if args.quick else (250_000, 1_000_000)
    from winter_days.export import BATCH_SIZE

    batch_size = QUICK_PAGE_DOCUMENTS if args.quick else BATCH_SIZE
    repeats = 3
    rows = []
    figures = {}
    with tempfile.TemporaryDirectory(prefix="bench-export-") as tmp:
        store_path = Path(tmp) / "documents.sqlite3"
        have = 0
        for top_up, size in enumerate((small, large)):
            fill_store(store_path, FILL_DAY + timedelta(days=top_up), size - have)
            have = size
            samples = []
            for repeat in range(repeats):
                result, measured = measure_in_child(
                    export_collection, str(store_path), str(Path(tmp) / "lake"), f"bench-{size}-{repeat}", batch_size
                )
                if result["rows"] != size:
                    raise SystemExit(f"export of {size:,} documents wrote {result['rows']:,} rows")
                samples.append(measured)
            figures[size] = median_measure(samples)
            scenario = f"export_sales, {size:,} documents -> one Parquet file"
            rows.append(step_row(scenario, "export", figures[size], repeats))
            rows.append(
                row(
                    scenario,
                    "documents_per_second",
                    round(size / figures[size].wall_s),
                    "docs/s",
                    load=figures[size].load_1m,
                    repeats=repeats,
                )
            )
    growth = figures[large].peak_rss_mb / figures[small].peak_rss_mb
    rows.append(
        row(
            f"export peak memory, {large:,} over {small:,} documents (same run)",
            "peak_rss_ratio",
            round(growth, 3),
            "x",
            f"<= {MEMORY_GROWTH_GOAL}",
            growth <= MEMORY_GROWTH_GOAL,
            max(figures[large].load_1m, figures[small].load_1m),
            repeats,
        )
    )
    write_results("export", args.quick, rows)
    return 0 if all(r["ok"] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
