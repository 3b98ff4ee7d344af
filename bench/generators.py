"""Generator throughput: records per second of the three flows, side by side.

clickstream and startups are timed end to end (generate, encode JSON Lines, write to a
local lake); sales both to the documents in memory and end to end into the SQLite document
store (bodies encoded in bulk, as a simulated day writes them). Goal: at least 500,000
clickstream records/s on this machine.

    python -m bench.generators [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.common import BENCH_KEY, RESULTS, results_path
from winter_days.generators.customers import build_customer_pool
from winter_days.generators.jobs import write_clickstream, write_sales, write_startups
from winter_days.generators.sales import generate_sales
from winter_days.pseudonyms import Pseudonymiser
from winter_days.stores.documents import SqliteDocumentStore
from winter_days.stores.lake import LocalLake

CLICKSTREAM_GOAL = 500_000
START = date(2026, 1, 1)


def _median_rate(run, records: int, repeats: int) -> float:
    """Records/s of the median of `repeats` runs."""
    seconds = []
    for i in range(repeats):
        started = time.perf_counter()
        run(i)
        seconds.append(time.perf_counter() - started)
    return records / statistics.median(seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller counts")
    args = parser.parse_args(argv)
    events = 400_000 if args.quick else 2_000_000
    sales = 50_000 if args.quick else 200_000
    startups = 50_000 if args.quick else 200_000
    repeats = 3
    pool = build_customer_pool(42, 2000, START, Pseudonymiser(BENCH_KEY))
    with tempfile.TemporaryDirectory(prefix="bench-generators-") as tmp:
        lake = LocalLake(tmp)
        # A new day per run: lake files are immutable, a rerun of the same day is a no-op.
        clickstream_rate = _median_rate(
            lambda i: write_clickstream(lake, pool, date(2026, 3, 1 + i), events), events, repeats
        )
        sales_rate = _median_rate(lambda i: generate_sales(pool, date(2026, 3, 1 + i), sales), sales, repeats)
        store = SqliteDocumentStore(Path(tmp) / "documents.sqlite3")
        sales_store_rate = _median_rate(
            lambda i: write_sales(store, lake, pool, date(2026, 4, 1 + i), sales), sales, repeats
        )
        startup_rate = _median_rate(
            lambda i: write_startups(
                lake, 42, START, date(2026, 1, 2 + i), startups, "full", pseudonyms=pool.pseudonyms
            ),
            startups,
            repeats,
        )
    rows = [
        {
            "scenario": f"clickstream, {events:,} events to a local lake",
            "metric": "records_per_second",
            "value": round(clickstream_rate),
            "unit": "records/s",
            "goal": f">= {CLICKSTREAM_GOAL:,} (full size)",
            # At the quick size the fixed costs (opening, syncing the file) weigh on the rate.
            "ok": None if args.quick else clickstream_rate >= CLICKSTREAM_GOAL,
        },
        {
            "scenario": f"sales, {sales:,} documents in memory",
            "metric": "records_per_second",
            "value": round(sales_rate),
            "unit": "records/s",
            "goal": None,
            "ok": None,
        },
        {
            "scenario": f"sales, {sales:,} documents into the SQLite document store",
            "metric": "records_per_second",
            "value": round(sales_store_rate),
            "unit": "records/s",
            "goal": None,
            "ok": None,
        },
        {
            "scenario": f"startups, full load of a {startups:,}-startup registry to a local lake",
            "metric": "records_per_second",
            "value": round(startup_rate),
            "unit": "records/s",
            "goal": None,
            "ok": None,
        },
    ]
    for row in rows:  # the machine is shared: the load goes beside each figure
        row.update(load_1m=round(os.getloadavg()[0], 2), repeats=repeats)
    RESULTS.mkdir(parents=True, exist_ok=True)
    results_path("generators", args.quick).write_text(
        json.dumps({"benchmark": "generators", "quick": args.quick, "rows": rows}, indent=2) + "\n"
    )
    width = max(len(r["scenario"]) for r in rows)
    for row in rows:
        goal = f"  (goal {row['goal']}: {'met' if row['ok'] else 'NOT met'})" if row["ok"] is not None else ""
        print(f"{row['scenario']:<{width}}  {row['value']:>12,} records/s{goal}")
    # A missed goal fails the run, like the other benchmarks, so `make bench` says so.
    return 0 if all(r["ok"] is not False for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
