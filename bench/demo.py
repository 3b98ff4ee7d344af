"""The default demo (`make demo` without serving): simulation time of 120 days.

Runs `winter-days demo --days 120 --no-serve --fresh` in a fresh home, exactly as a user
would (its own process, the default demo scale of 2,000 customers, the ML step weekly),
and reports the simulation time the demo prints, its whole wall/CPU/peak, and where the
time went: the totals of each pipeline step over all simulated days, from the run
history. Goal (issue #6): the simulation under 120 s on this 2-core machine.

--quick simulates 10 days (no goal: the per-day cost grows with the history).

    python -m bench.demo [--quick]
"""

from __future__ import annotations

import argparse
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import measure, row, step_row, write_results

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 120.0
DEFAULT_DAYS = 120
_SIMULATION = re.compile(r"Timings: simulation ([0-9.]+) s")


def run_demo(home: Path, days: int) -> str:
    """The demo's output; a demo that fails stops the benchmark with its message."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("WINTER_DAYS_")}
    environ.update(WINTER_DAYS_HOME=str(home), COLUMNS="120")
    command = [str(Path(sys.executable).with_name("winter-days")), "demo", "--days", str(days), "--no-serve", "--fresh"]
    done = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the demo failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


def step_totals(home: Path) -> dict[str, float]:
    """Seconds spent in each pipeline step over every simulated day."""
    with sqlite3.connect(home / "orchestrator.sqlite3") as con:
        rows = con.execute(
            "SELECT name, SUM(duration_seconds) FROM run_steps GROUP BY name ORDER BY MIN(position)"
        ).fetchall()
    return {name: float(total or 0.0) for name, total in rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 simulated days instead of 120 (no goal)")
    args = parser.parse_args(argv)
    days = 10 if args.quick else DEFAULT_DAYS
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        home = Path(tmp) / "home"
        output, whole = measure(lambda: run_demo(home, days))
        totals = step_totals(home)
    found = _SIMULATION.search(output)
    if found is None:
        raise SystemExit("the demo's output has no 'Timings: simulation ... s' line")
    simulation = float(found.group(1))
    scenario = f"demo: {days} simulated days, 2,000 customers, 200 sales / 4,000 clicks / 100 startups a day, churn scored daily, trained weekly"
    goal = None if args.quick else f"< {GOAL_SECONDS:.0f} s"
    ok = None if args.quick else simulation < GOAL_SECONDS
    rows = [
        row(scenario, "simulation", round(simulation, 1), "s", goal, ok, whole.load_1m, 1),
        row(scenario, "per simulated day", round(simulation / days, 3), "s", None, None, whole.load_1m, 1),
        step_row(scenario, "whole command", whole, 1),
    ]
    for step, seconds in totals.items():
        rows.append(row(scenario, f"{step} total", round(seconds, 1), "s", None, None, whole.load_1m, 1))
    write_results("demo", args.quick, rows)
    return 0 if ok is not False else 1


if __name__ == "__main__":
    raise SystemExit(main())
