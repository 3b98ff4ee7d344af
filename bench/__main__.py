"""`make bench` / `make bench-quick`: run every benchmark, then write one summary table.

Each benchmark is a module `bench.<name>` runnable on its own (`python -m bench.<name>
[--quick]`) that writes `bench/results/<name>.json` with a list of `rows` ({scenario,
metric, value, unit, goal, ok}). They run one after another, never in parallel: this
machine has two cores and the ratios they report are measured side by side inside each
module. This runner collects the rows into bench/results/summary.md and prints it; a run of
some of them (`python -m bench export`) keeps the others' last rows and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.common import RESULTS, results_path

# Order: cheapest first, so a quick look needs no patience.
BENCHMARKS = ("generators", "export", "compile", "elt_executor", "ml", "demo", "pipeline", "service", "reliability")


def _machine() -> str:
    cores = len(__import__("os").sched_getaffinity(0))
    mem_gib = round(int(Path("/proc/meminfo").read_text().split()[1]) / 2**20)
    return f"{platform.machine()}, {cores} cores, {mem_gib} GiB, Python {platform.python_version()}"


def _shown(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _table(results: dict[str, dict]) -> str:
    """One line per row: the value, then the step's CPU time and peak memory when measured,
    and the 1-minute load average it was taken under (above the core count: a loaded reading)."""
    lines = [
        "| benchmark | scenario | metric | value | CPU s | peak MiB | load 1m | goal | ok |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, result in results.items():
        for row in result.get("rows", []):
            ok = {True: "yes", False: "NO", None: ""}[row.get("ok")]
            optional = [
                _shown(row[key]) if row.get(key) is not None else "" for key in ("cpu_s", "peak_rss_mib", "load_1m")
            ]
            lines.append(
                f"| {name} | {row.get('scenario', '')} | {row.get('metric', '')} | {_shown(row.get('value'))} {row.get('unit', '')} "
                f"| {' | '.join(optional)} | {row.get('goal') or ''} | {ok} |"
            )
    return "\n".join(lines)


def _earlier_results(collected: dict[str, dict], quick: bool) -> dict[str, tuple[str, dict]]:
    """The last results of the benchmarks this invocation did not run (a rerun of one keeps
    the others in the summary), with the time each was written."""
    earlier = {}
    for name in BENCHMARKS:
        path = results_path(name, quick)
        if name in collected or not path.exists():
            continue
        result = json.loads(path.read_text())
        earlier[name] = (result.get("measured_at") or "at a time not recorded", result)
    return earlier


def _in_order(collected: dict[str, dict], earlier: dict[str, dict]) -> dict[str, dict]:
    return {name: collected.get(name) or earlier[name] for name in BENCHMARKS if name in collected or name in earlier}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes in all)")
    parser.add_argument("only", nargs="*", help="run only these benchmarks")
    args = parser.parse_args(argv)
    names = [n for n in BENCHMARKS if not args.only or n in args.only]
    RESULTS.mkdir(parents=True, exist_ok=True)
    failures = []
    collected: dict[str, dict] = {}
    took: dict[str, float] = {}
    load_start = os.getloadavg()
    run_started = time.perf_counter()
    for name in names:
        if not (Path(__file__).parent / f"{name}.py").exists():
            print(f"bench.{name}: not present in this version, skipped")
            continue
        print(f"== bench.{name}{' (quick)' if args.quick else ''}", flush=True)
        started = time.perf_counter()
        wall_started = time.time()
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"] + (["--quick"] if args.quick else []))
        took[name] = time.perf_counter() - started
        print(f"== bench.{name}: exit {code} in {took[name]:.1f}s", flush=True)
        if code != 0:
            failures.append(name)
        result_file = results_path(name, args.quick)
        # A benchmark that misses a goal still writes its rows (the table shows the NO);
        # one that crashed before writing leaves an older file, which is not shown.
        if result_file.exists() and result_file.stat().st_mtime >= wall_started:
            collected[name] = json.loads(result_file.read_text())
            # Stamped here for every module, so a later partial run can say when it was measured.
            collected[name]["measured_at"] = f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
            result_file.write_text(json.dumps(collected[name], indent=2) + "\n")
    load_end = os.getloadavg()
    earlier = _earlier_results(collected, args.quick)
    summary = (
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {_machine()}"
        f"{' (quick sizes)' if args.quick else ''}, in {time.perf_counter() - run_started:.0f} s; "
        f"load average (1/5/15 min) {load_start[0]:.2f}/{load_start[1]:.2f}/{load_start[2]:.2f} at the start, "
        f"{load_end[0]:.2f}/{load_end[1]:.2f}/{load_end[2]:.2f} at the end. Time per benchmark: "
        f"{', '.join(f'{name} {seconds:.0f} s' for name, seconds in took.items())}."
        + (
            f" Rows of {', '.join(f'{name} (measured {when})' for name, (when, _) in earlier.items())} are from "
            "earlier runs, not this one."
            if earlier
            else ""
        )
        + f"\n\n{_table(_in_order(collected, {name: result for name, (_, result) in earlier.items()}))}\n"
    )
    (RESULTS / ("summary-quick.md" if args.quick else "summary.md")).write_text(summary)
    print(summary)
    if failures:
        print(f"failed: {', '.join(failures)}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
