"""Reliability: bad input, killed runs and load, each with what was held and what was lost.

Each scenario runs on its own local installation with 100 simulated days of history
(300 customers; 25 sales, 200 click events a day, 20 startups a week), so the ML step has
enough history to train.

1. records fuzzed: over 10,000 records (quick: a fifth) mangled as the test suite's fuzz
   corpus mangles them (tests/record_mutations.py: wrong types, missing and extra fields,
   nulls, huge strings, control characters, lone surrogates, bytes that are not UTF-8,
   deep nesting, NaN and infinities, extreme numbers and dates, legacy timestamps,
   SQL-looking text, repeated ids), plus lines over 2,000,000 bytes, over the three flows
   on top of a day of good records, then two pipeline runs with the ML step. Held: rows
   accounted, per flow, with the rows in counted where they were written (the document
   store, the bronze files), not from the warehouse's own accounting, against staged +
   quarantined + duplicates removed. Lost: rows in but found nowhere (while runs are
   blocked, the rows waiting behind the block). Blocked: runs that did not succeed.
2. runs killed: 24 runs (quick: 8) of the whole chain (export, ELT and, every fourth run,
   the ML step), each in its own process, killed with SIGKILL at a random point of a
   measured run's span, each followed by a normal run; the history says which step each
   kill cut off. Held: the published warehouse is readable after every kill, rows are
   accounted after every next run, and nothing is left beside the warehouse but its lock
   and one standby copy. Blocked: next runs that did not succeed. Duplicates: sales in
   fct_sales more than once.
3. requests under load (reliability_load.py): `winter-days serve`, 50 concurrent POST
   /run, then dashboard pages and more POST /run while the run works, then one more run.

Writes bench/results/reliability.json and the table bench/results/reliability.md (quick:
reliability-quick.*), the figures of README's reliability section.

    python -m bench.reliability [--quick] [--only fuzz,kills,load]
"""

from __future__ import annotations

import argparse
import logging
import math
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.common import RESULTS, load_1m, row, write_results
from bench.pipeline import FIRST_DAY, bench_settings, build_history, remove_home
from bench.reliability_load import load_scenario
from winter_days.config import Settings
from winter_days.platform import build_platform
from winter_days.records import CONTRACTS, SALES_COLLECTION
from winter_days.simulation import DailyVolumes, DaySimulator
from winter_days.warehouse import WarehouseError, tables
from winter_days.warehouse.duckdb.files import wait_for_after_write

CUSTOMERS = 300
HISTORY_DAYS = 100
VOLUMES = DailyVolumes(sales=25, clicks=200, startups=20)
FLOWS = {"sales": "sales", "clickstream": "clickstream", "startup": "startups"}  # accounting name: bronze folder
REPO = Path(__file__).resolve().parent.parent
SCENARIOS = ("fuzz", "kills", "load")
FUZZED = {"sales": 3_000, "clickstream": 5_100, "startups": 2_000}  # quick: a fifth
OVERSIZED_BYTES = 2_500_000
# The test suite's fuzz corpus (tests/record_mutations.py): the bench mangles records as the tests do.
sys.path.insert(0, str(REPO / "tests"))  # the suite imports its helpers from there too

# A run in its own process, as `winter-days run` is, that says when it has imported what
# it needs, so that the kill lands in the run rather than in the imports.
RUN_IN_PROCESS = """
import sys
from datetime import date
from pathlib import Path

import winter_days.elt.engines.duckdb.backend, winter_days.ml.runner, winter_days.orchestrator.steps  # noqa: F401
from bench.pipeline import bench_settings
from winter_days.orchestrator.launcher import RunLauncher
from winter_days.orchestrator.pipeline import RunParameters
from winter_days.platform import build_platform

platform = build_platform(bench_settings(Path(sys.argv[1]), int(sys.argv[2])))
print("ready", flush=True)
result = RunLauncher(platform).trigger({"source": "bench-kill"}, RunParameters(as_of=date.fromisoformat(sys.argv[3]), ml=sys.argv[4] == "1"))
print((result.run or {}).get("status"), flush=True)
"""


def installation(home: Path) -> Settings:
    """A fresh installation with the history; its settings."""
    settings = bench_settings(home, CUSTOMERS)
    build_history(home, settings, VOLUMES, HISTORY_DAYS)
    return settings


def trigger(settings: Settings, day: date, ml: bool) -> dict[str, Any]:
    """One run through the launcher in this process; its record."""
    from winter_days.orchestrator.launcher import RunLauncher
    from winter_days.orchestrator.pipeline import RunParameters

    platform = build_platform(settings)
    try:
        result = RunLauncher(platform).trigger({"source": "bench-reliability"}, RunParameters(as_of=day, ml=ml))
    finally:
        platform.close()
    wait_for_after_write()
    return result.run or {"status": result.outcome, "error": f"no run started ({result.outcome})"}


def write_day(settings: Settings, day: date) -> None:
    simulator = DaySimulator(build_platform(settings), VOLUMES)
    try:
        simulator.write_day(day)
    finally:
        simulator.close()


def lines_in_bronze(settings: Settings, folder: str) -> int:
    """Lines written to a lake flow, counted in its bronze files."""
    lake = build_platform(settings).lake
    lines = 0
    for key in lake.list(f"bronze/{folder}/"):
        data = lake.get(key)
        lines += data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    return lines


def sales_found_nowhere(settings: Settings) -> tuple[int, int]:
    """Sales documents in the store, and how many of them are neither staged (by document or
    sale id: a later document of the same sale replaces it) nor quarantined. Counted per
    document, as an export cut off before its watermark exports the same documents again."""
    platform = build_platform(settings)
    store = platform.document_store()
    try:
        documents = {doc_id: document.get("sale_id") for doc_id, document in store.stream(SALES_COLLECTION)}
    finally:
        store.close()
    warehouse = platform.warehouse
    staged = warehouse.read(f"SELECT sale_id, document_id FROM {tables.STG_SALES}").to_pylist()
    found = {r["sale_id"] for r in staged} | {r["document_id"] for r in staged}
    found |= {
        r["row_identity"] for r in warehouse.read(f"SELECT row_identity FROM {tables.STG_SALES_QUARANTINE}").to_pylist()
    }
    nowhere = sum(
        1
        for doc_id, sale_id in documents.items()
        if doc_id not in found and (not isinstance(sale_id, str) or sale_id not in found)
    )
    return len(documents), nowhere


def accounting(settings: Settings) -> dict[str, dict[str, int]]:
    """flow -> rows in (counted where they were written, not from the warehouse's own
    accounting), staged, quarantined, duplicates removed, and lost (in, but found nowhere)."""
    warehouse = build_platform(settings).warehouse
    try:
        published = warehouse.read(
            f"SELECT flow, rows_staged, rows_quarantined, duplicates_removed FROM {tables.FLOW_ROW_ACCOUNTING}"
        ).to_pylist()
        sales_in, sales_lost = sales_found_nowhere(settings)
    except WarehouseError as err:
        raise SystemExit(f"the warehouse of {settings.home} cannot be read for the accounting: {err}") from None
    by_flow = {r["flow"]: r for r in published}
    out = {}
    for flow, folder in FLOWS.items():
        r = by_flow.get(flow, {})
        staged, quarantined, duplicates = (
            int(r.get(k) or 0) for k in ("rows_staged", "rows_quarantined", "duplicates_removed")
        )
        if flow == "sales":
            rows, lost = sales_in, sales_lost
        else:
            rows = lines_in_bronze(settings, folder)
            lost = rows - (staged + quarantined + duplicates)
        out[flow] = {
            "in": rows,
            "staged": staged,
            "quarantined": quarantined,
            "duplicates": duplicates,
            "accounted": rows - lost,
            "lost": lost,
        }
    return out


def duplicated_sales(settings: Settings) -> int:
    (found,) = (
        build_platform(settings)
        .warehouse.read(f"SELECT COUNT(*) - COUNT(DISTINCT sale_id) AS extra FROM {tables.FCT_SALES}")
        .to_pylist()
    )
    return int(found["extra"])


def left_beside_warehouse(settings: Settings) -> list[str]:
    """Files beside the published warehouse other than its lock and its one current standby."""
    published = settings.warehouse_path
    stat = published.stat()
    expected = {
        published.name,
        f".{published.name}.lock",
        f".{published.name}.standby-{stat.st_ino}-{stat.st_size}-{stat.st_ctime_ns}",
    }
    return sorted(p.name for p in published.parent.iterdir() if published.name in p.name and p.name not in expected)


def failure(run: dict[str, Any]) -> str:
    return f"{run.get('failed_step') or run.get('status')}: {str(run.get('error') or '')[:160]}"


# -- 1. records fuzzed ------------------------------------------------------------------


def land_fuzzed(settings: Settings, day: date, counts: dict[str, int], seed: int) -> dict[str, int]:
    """Mangled records of each flow, as the fuzz test lands them (the test suite's corpus):
    most records mutated field by field, some repeating an earlier key, some lines damaged
    byte by byte; plus lines over 2,000,000 bytes. The records landed, by flow."""
    import support.record_mutations as corpus

    rng = random.Random(seed)
    valid = {"sales": corpus.valid_sale, "clickstream": corpus.valid_click, "startups": corpus.valid_startup}
    platform = build_platform(settings)
    landed = {}
    for flow, count in counts.items():
        records, keys = [], []
        for i in range(count):
            record = valid[flow](rng, i, day.isoformat())
            keys.append(record[CONTRACTS[flow].key])
            records.append(corpus.mutate_record(rng, record, flow, keys) if rng.random() < 0.6 else record)
        if flow == "sales":
            # The SQLite store refuses NaN and infinities (JSON has none): the largest finite number stands in.
            documents = [
                {
                    k: v if not isinstance(v, float) or math.isfinite(v) else math.copysign(sys.float_info.max, v)
                    for k, v in record.items()
                }
                for record in records
            ]
            store = platform.document_store()
            try:
                store.put_many(
                    SALES_COLLECTION, [(f"fuzz-{day.isoformat()}-{i:05d}", d) for i, d in enumerate(documents)]
                )
            finally:
                store.close()
            landed[flow] = len(documents)
            continue
        lines = [corpus.json_line(r) for r in records]
        lines = [corpus.mangle_line(rng, line) if rng.random() < 0.15 else line for line in lines]
        lines = [line for line in lines if line]  # a line without bytes is no row on either engine
        lines += [
            corpus.json_line({**records[0], CONTRACTS[flow].key: f"oversized-{n}", "padding": "x" * OVERSIZED_BYTES})
            for n in range(2)
        ]
        platform.lake.put(
            f"bronze/{flow}/load_date={day.isoformat()}/fuzz-{flow}.jsonl", b"".join(line + b"\n" for line in lines)
        )
        landed[flow] = len(lines)
    return landed


def fuzz_scenario(root: Path, quick: bool) -> tuple[list[dict], dict[str, Any]]:
    counts = {flow: n // (5 if quick else 1) for flow, n in FUZZED.items()}
    settings = installation(root / "home")
    day = FIRST_DAY + timedelta(days=HISTORY_DAYS)
    write_day(settings, day)
    landed = land_fuzzed(settings, day, counts, seed=22)
    fuzzed = sum(landed.values())
    runs = [trigger(settings, day, ml=True)]
    write_day(settings, day + timedelta(days=1))
    runs.append(trigger(settings, day + timedelta(days=1), ml=True))
    blocked = [r for r in runs if r.get("status") != "succeeded"]
    counts_after = accounting(settings)
    remove_home(settings.home)
    for r in blocked:
        print(f"fuzz: blocked: {failure(r)}", file=sys.stderr)
    held = sum(c["accounted"] for c in counts_after.values())
    total_in = sum(c["in"] for c in counts_after.values())
    lost = sum(max(0, c["lost"]) for c in counts_after.values())
    scenario = f"{fuzzed:,} mangled records (the fuzz corpus, and lines over 2 MB) over 3 flows, then 2 runs with ML"
    rows = [
        row(scenario, "records_fuzzed", fuzzed, "records"),
        row(
            scenario,
            "rows_accounted",
            held,
            f"of {total_in:,} rows in (staged + quarantined + duplicates)",
            f"{total_in:,}",
            held == total_in,
        ),
        row(scenario, "rows_lost", lost, "rows", "0", lost == 0),
        row(scenario, "runs_blocked", len(blocked), f"of {len(runs)} runs", "0", not blocked, load_1m()),
    ]
    summary = {
        "count": f"{fuzzed:,} mangled records among {total_in:,} rows, 2 runs",
        "held": f"{held:,} of {total_in:,} rows accounted: "
        + ", ".join(
            f"{sum(c[k] for c in counts_after.values()):,} {k}" for k in ("staged", "quarantined", "duplicates")
        ),
        "lost": f"{lost:,} rows",
        "blocked": f"{len(blocked)} of {len(runs)} runs",
        "duplicates": "counted, not staged twice",
    }
    return rows, {
        "summary": summary,
        "landed": landed,
        "accounting": counts_after,
        "blocked_runs": [failure(r) for r in blocked],
    }


# -- 2. runs killed ---------------------------------------------------------------------


def recorded_runs(settings: Settings) -> list[dict[str, Any]]:
    return build_platform(settings).run_store.list_runs(limit=500)


def where_killed(settings: Settings, runs_before: int) -> str:
    """The step a killed run was in, from the history once the next run has started (it
    marks the killed one cut off at the step it was running)."""
    runs = recorded_runs(settings)
    if len(runs) - runs_before < 2:
        return "startup"  # killed before it recorded its run
    killed = runs[1]
    if killed.get("status") == "succeeded":
        return "after-run work"  # the standby copy, or the interpreter's exit
    return str(killed.get("failed_step") or killed.get("status"))


def start_run_process(settings: Settings, day: date, ml: bool) -> subprocess.Popen:
    """A run in its own process, once it has imported what it needs."""
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_IN_PROCESS, str(settings.home), str(CUSTOMERS), day.isoformat(), "1" if ml else "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    if process.stdout.readline().strip() != "ready":
        raise SystemExit(f"the run process ended with {process.wait()} before it was ready")
    return process


def kills_scenario(root: Path, quick: bool) -> tuple[list[dict], dict[str, Any]]:
    kills, ml_every = (8, 4) if quick else (24, 4)
    settings = installation(root / "kills" / "home")
    day = FIRST_DAY + timedelta(days=HISTORY_DAYS)
    spans = {}
    for ml in (False, True):  # a whole run of each kind, for the span its kills are spread over
        write_day(settings, day)
        process = start_run_process(settings, day, ml)
        began = time.monotonic()
        assert process.stdout is not None
        status = process.stdout.readline().strip()
        # The run's own span, and a sixth more for what follows it: the standby copy, the exit.
        spans[ml] = (time.monotonic() - began) * 7 / 6
        if process.wait() != 0 or status != "succeeded":
            raise SystemExit(f"a run to measure (ml={ml}) ended {status or 'without a status'} in {settings.home}")
        wait_for_after_write()
        day += timedelta(days=1)
    seed = random.randrange(2**32)
    chance = random.Random(seed)
    outcome: Counter[str] = Counter()
    blocked, left, lost, duplicates, failures = 0, [], 0, 0, []
    for number in range(kills):
        write_day(settings, day)
        ml = number % ml_every == 0
        runs_before = len(recorded_runs(settings))
        process = start_run_process(settings, day, ml)
        time.sleep(chance.uniform(0, spans[ml]))
        process.send_signal(signal.SIGKILL)
        process.wait()  # reaped only now: the pid killed was this process's
        try:
            build_platform(settings).warehouse.read(f"SELECT COUNT(*) AS n FROM {tables.FCT_SALES}")
            outcome["readable"] += 1
        except WarehouseError as err:
            failures.append(f"kill {number}: published warehouse unreadable: {err}")
        after = trigger(settings, day, ml=False)
        outcome[f"killed in {where_killed(settings, runs_before)}"] += 1
        if after.get("status") != "succeeded":
            blocked += 1
            failures.append(f"run after kill {number}: {failure(after)}")
        counts = accounting(settings)
        lost += sum(max(0, c["lost"]) for c in counts.values())
        outcome["accounted"] += all(c["lost"] == 0 for c in counts.values())
        duplicates = max(duplicates, duplicated_sales(settings))
        left += left_beside_warehouse(settings)
        day += timedelta(days=1)
    remove_home(settings.home)
    for line in failures + [f"left beside the warehouse: {name}" for name in left]:
        print(f"kills: {line}", file=sys.stderr)
    scenario = (
        f"{kills} runs killed with SIGKILL at random points (export, ELT, ML on 1 in {ml_every}, standby copy), "
        f"each followed by a run; seed {seed}"
    )
    rows = [
        row(scenario, "runs_killed", kills, "runs"),
        row(
            scenario,
            "warehouse_readable_after_kill",
            outcome["readable"],
            f"of {kills}",
            str(kills),
            outcome["readable"] == kills,
        ),
        row(
            scenario,
            "rows_accounted_after_next_run",
            outcome["accounted"],
            f"of {kills} checks",
            str(kills),
            outcome["accounted"] == kills,
        ),
        row(scenario, "rows_lost", lost, "rows", "0", lost == 0),
        row(scenario, "next_runs_blocked", blocked, f"of {kills}", "0", blocked == 0),
        row(scenario, "duplicated_sales", duplicates, "rows", "0", duplicates == 0),
        row(scenario, "files_left_beside_warehouse", len(left), "files", "0", not left, load_1m()),
    ]
    landed = ", ".join(f"{n} {where}" for where, n in sorted(outcome.items()) if where.startswith("killed"))
    print(f"kills: {landed}")
    summary = {
        "count": f"{kills} runs killed at random points ({landed})",
        "held": f"warehouse readable after {outcome['readable']} of {kills} kills; rows accounted after "
        f"{outcome['accounted']} of {kills} next runs; {len(left)} files left beside the warehouse",
        "lost": f"{lost:,} rows",
        "blocked": f"{blocked} of {kills} next runs",
        "duplicates": f"{duplicates} sales",
    }
    return rows, {
        "summary": summary,
        "spans_seconds": {str(k): round(v, 2) for k, v in spans.items()},
        "failures": failures,
    }


# -- 3. requests under load ------------------------------------------------------------


def load_on_installation(root: Path, quick: bool) -> tuple[list[dict], dict[str, Any]]:
    settings = installation(root / "home")
    try:
        return load_scenario(settings, FIRST_DAY + timedelta(days=HISTORY_DAYS), write_day, quick)
    finally:
        remove_home(settings.home)


# -- the table --------------------------------------------------------------------------


def table(summaries: dict[str, dict[str, str]]) -> str:
    lines = ["| scenario | count | held | lost | blocked | duplicates |", "|---|---|---|---|---|---|"]
    titles = {"fuzz": "records fuzzed", "kills": "runs killed", "load": "requests under load"}
    for name, s in summaries.items():
        lines.append(
            f"| {titles[name]} | {s['count']} | {s['held']} | {s['lost']} | {s['blocked']} | {s['duplicates']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reliability", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer records, kills and requests")
    parser.add_argument("--only", default=",".join(SCENARIOS), help=f"comma-separated, of {', '.join(SCENARIOS)}")
    args = parser.parse_args(argv)
    # Runs meant to fail log their failures with tracebacks; each scenario reports them in a line.
    logging.getLogger("winter_days").setLevel(logging.CRITICAL)
    chosen = [name for name in SCENARIOS if name in args.only.split(",")]
    scenarios = {"fuzz": fuzz_scenario, "kills": kills_scenario, "load": load_on_installation}
    rows: list[dict] = []
    details: dict[str, Any] = {}
    root = Path(tempfile.mkdtemp(prefix="bench-reliability-"))
    try:
        for name in chosen:
            print(f"== reliability: {name}", flush=True)
            began = time.monotonic()
            scenario_rows, details[name] = scenarios[name](root / name, args.quick)
            rows += scenario_rows
            print(f"== reliability: {name} in {time.monotonic() - began:.0f} s", flush=True)
    finally:
        wait_for_after_write()
        shutil.rmtree(root, ignore_errors=True)
    write_results("reliability", args.quick, rows, details=details)
    text = table({name: details[name]["summary"] for name in chosen})
    (RESULTS / ("reliability-quick.md" if args.quick else "reliability.md")).write_text(text)
    print(text)
    return 0 if all(r["ok"] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
