"""The daily pipeline end to end: generate -> export_sales -> compile -> invoke -> poll -> ml.

Each step is timed in this process through the real launcher (the same code path as
`POST /run` and the demo), with wall time, CPU time and peak resident memory per step.

1. seed day: one seed-sized day (20 sales, 1,000 click events, 100 startups) on top of a
   history built with the day simulator (enough days for the churn model's time split).
2. scale: one day of 1M sales documents, 10M click events, 100K startups on a fresh
   installation (--quick: 1/20). Goal: under 120 s and under 3 GB peak.
3. growth: the same day at 1x, 2x and 4x data. Goal: 4x data in at most 4.4x time.
4. incremental: the daily run with 30 and with 365 days of history behind it (--quick: 30
   and 90 at small volumes), on the same weekday. Goal: the longer history's run at most
   1.3x the shorter's.

Repeats (median reported): seed day 3, scale 3 (each on a fresh installation; the end to
end row's peak memory is the highest of the three, and a row shows the slowest run),
growth 2, incremental 7 (quick: 3); the sizes of growth and incremental alternate inside
each repeat. Ratios are from the same run, in wall and in CPU time: growth's of the medians,
incremental's the median of each repeat's pair (its runs take under a second).

Scale, growth and incremental runs leave out the ML step: one day of data has no history to
train on, and training reads the whole history by design (bench.ml measures it at 100,000
customers). The seed day includes it.

    python -m bench.pipeline [--quick] [--only seed,scale,growth,incremental]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from bench.common import Measure, measure, median_measure, row, step_row, write_results
from winter_days.config import Settings, load_settings
from winter_days.platform import build_platform
from winter_days.simulation import DailyVolumes, DaySimulator
from winter_days.warehouse.duckdb.files import leave_out_standbys, prepare_standby, wait_for_after_write

PROJECT = Path(__file__).resolve().parent.parent / "dataform"
FIRST_DAY = date(2026, 1, 1)
SCALE_DAY = date(2026, 1, 2)  # a Friday: the weekly startup load is part of the day
SCALE_GOAL_SECONDS = 120.0
SCALE_GOAL_MIB = 3 * 1024
GROWTH_GOAL = 4.4
INCREMENTAL_GOAL = 1.3
SCALE_REPEATS = 3
QUICK_SCALE = 0.05  # three quick scale days fit `make bench-quick`'s 3 minutes


class StepTimer:
    """Wraps a run pipeline's steps so that each one's Measure is kept."""

    def __init__(self) -> None:
        self.figures: dict[str, Measure] = {}

    def wrap(self, pipeline: Any) -> Any:
        from winter_days.orchestrator.pipeline import RunPipeline, RunStep

        return RunPipeline(tuple(RunStep(step.name, self._timed(step.name, step.action)) for step in pipeline.steps))

    def _timed(self, name: str, action: Callable[[Any], Any]) -> Callable[[Any], Any]:
        def run(context: Any) -> Any:
            result, self.figures[name] = measure(lambda: action(context))
            return result

        return run


def bench_settings(home: Path, customers: int, horizon_days: int = 30) -> Settings:
    return load_settings(
        overrides={
            "home": str(home),
            "customers": customers,
            "churn_horizon_days": horizon_days,
            "dataform_dir": str(PROJECT),
        },
        environ={},
        cwd=home,
    )


def run_pipeline(settings: Settings, day: date, ml: bool, timer: StepTimer | None = None) -> dict[str, Any]:
    """One run through the real launcher; a run that does not succeed stops the benchmark."""
    from winter_days.orchestrator.launcher import RunLauncher
    from winter_days.orchestrator.pipeline import RunParameters
    from winter_days.orchestrator.steps import make_pipeline
    from winter_days.platform import build_platform

    platform = build_platform(settings)
    pipeline = make_pipeline(platform)
    launcher = RunLauncher(platform, timer.wrap(pipeline) if timer else pipeline)
    try:
        result = launcher.trigger({"source": "bench"}, RunParameters(as_of=day, ml=ml), wait=True)
    finally:
        platform.close()
    run = result.run or {}
    if run.get("status") != "succeeded":
        raise SystemExit(
            f"pipeline run for {day} in {settings.home} did not succeed: {run.get('error') or result.outcome}"
        )
    return run


def timed_day(settings: Settings, volumes: DailyVolumes, day: date, ml: bool) -> dict[str, Measure]:
    """Generate one day and run the pipeline over it: each step's Measure, and the whole."""
    figures: dict[str, Measure] = {}
    timer = StepTimer()

    def whole() -> None:
        simulator = DaySimulator(build_platform(settings), volumes)
        try:
            _, figures["generate"] = measure(lambda: simulator.write_day(day))
        finally:
            simulator.close()
        run_pipeline(settings, day, ml, timer)

    _, total = measure(whole)
    figures.update(timer.figures)
    # The steps run one after another, so the day's peak is the largest step's; a child
    # process a step ran (the lake flows of a large day) is counted in that step only.
    figures["end_to_end"] = replace(total, peak_rss_mb=max(m.peak_rss_mb for m in figures.values()))
    return figures


def medians(repeats: list[dict[str, Measure]]) -> dict[str, Measure]:
    return {step: median_measure(r[step] for r in repeats) for step in repeats[0]}


def build_history(home: Path, settings: Settings, volumes: DailyVolumes, days: int, first: date = FIRST_DAY) -> None:
    """`days` simulated days from `first`, ingested by one pipeline run (no ML): the
    installation a daily run finds after that much history."""
    simulator = DaySimulator(build_platform(settings), volumes)
    try:
        simulator.write_days(first, days)
    finally:
        simulator.close()
    run_pipeline(settings, first + timedelta(days=days - 1), ml=False)


def copy_home(source: Path, target: Path) -> None:
    """Copy an installation once the executor's after-run work on it is done, without its
    warehouse's standby copy (stale in a copy)."""
    wait_for_after_write()
    shutil.copytree(source, target, ignore=leave_out_standbys)


def remove_home(home: Path) -> None:
    wait_for_after_write()
    shutil.rmtree(home, ignore_errors=True)


def repeated_on_copy(
    settings: Settings, template: Path, repeats: int, run: Callable[[], dict[str, Measure]]
) -> list[dict[str, Measure]]:
    """Run `repeats` times, each on a fresh copy of `template` at the same path (settings'
    home: the warehouse's external views name the lake by its absolute path). Each run
    finds the standby copy of its warehouse that a daily run finds, made untimed here."""
    results = []
    for _ in range(repeats):
        remove_home(settings.home)
        copy_home(template, settings.home)
        prepare_standby(settings.warehouse_path)
        results.append(run())
    return results


def scenario_seed(tmp: Path, quick: bool) -> list[dict]:
    from winter_days.ml.features import minimum_history_days

    horizon, customers, repeats = 7, 400, 3
    volumes = DailyVolumes(sales=20, clicks=1000, startups=100)
    # The history is denser than the day (as in the demo's small world): at 20 sales a day
    # the model's time split has too few buyers to learn from.
    history = DailyVolumes(sales=60, clicks=1000, startups=100)
    history_days = minimum_history_days(horizon) + 7
    home, template = tmp / "seed", tmp / "seed-template"
    settings = bench_settings(home, customers, horizon)
    build_history(home, settings, history, history_days)
    copy_home(home, template)
    day = FIRST_DAY + timedelta(days=history_days)
    figures = medians(repeated_on_copy(settings, template, repeats, lambda: timed_day(settings, volumes, day, ml=True)))
    scenario = (
        f"seed day (20 sales, 1,000 clicks, 100 startups) after {history_days} days of 60 sales, "
        f"{customers} customers, with ML"
    )
    rows: list[dict] = []
    for step, measured in figures.items():
        rows.append(step_row(scenario, step, measured, repeats))
    return rows


def scale_volumes(factor: float, quick: bool) -> tuple[DailyVolumes, int]:
    base = QUICK_SCALE if quick else 1.0
    size = base * factor
    return DailyVolumes(sales=int(1_000_000 * size), clicks=int(10_000_000 * size), startups=int(100_000 * size)), max(
        2000, int(100_000 * size)
    )


def fresh_day(tmp: Path, name: str, volumes: DailyVolumes, customers: int) -> dict[str, Measure]:
    home = tmp / name
    remove_home(home)
    figures = timed_day(bench_settings(home, customers), volumes, SCALE_DAY, ml=False)
    remove_home(home)
    return figures


def describe(volumes: DailyVolumes, customers: int) -> str:
    return f"{volumes.sales:,} sales, {volumes.clicks:,} clicks, {volumes.startups:,} startups, {customers:,} customers"


def scenario_scale(tmp: Path, quick: bool) -> list[dict]:
    volumes, customers = scale_volumes(1.0, quick)
    runs = [fresh_day(tmp, "scale", volumes, customers) for _ in range(SCALE_REPEATS)]
    figures = medians(runs)
    scenario = f"scale: one day of {describe(volumes, customers)}, no ML"
    total = figures.pop("end_to_end")
    # The goal holds for the median run's time and for every run's memory.
    highest_peak = max(run["end_to_end"].peak_rss_mb for run in runs)
    total = replace(total, peak_rss_mb=highest_peak)
    slowest = max((run["end_to_end"] for run in runs), key=lambda measured: measured.wall_s)
    rows = [step_row(scenario, step, measured, SCALE_REPEATS) for step, measured in figures.items()]
    met = total.wall_s < SCALE_GOAL_SECONDS and total.peak_rss_mb < SCALE_GOAL_MIB
    rows.append(
        step_row(
            scenario,
            "end_to_end",
            total,
            SCALE_REPEATS,
            f"< {SCALE_GOAL_SECONDS:.0f} s, < {SCALE_GOAL_MIB} MiB (full size)",
            None if quick else met,
        )
    )
    rows.append(step_row(scenario, f"end_to_end slowest of {SCALE_REPEATS}", slowest, SCALE_REPEATS))
    return rows


def ratio_rows(scenario: str, larger: Measure, smaller: Measure, goal: float, repeats: int) -> list[dict]:
    """Wall and CPU ratios of two medians from the same run. CPU time stretches far less than
    wall time when other work loads the machine, so it is the steadier of the two there."""
    load = max(larger.load_1m, smaller.load_1m)
    wall, cpu = larger.wall_s / smaller.wall_s, larger.cpu_s / smaller.cpu_s
    return [
        row(scenario, "wall_ratio", round(wall, 3), "x", f"<= {goal:g}", wall <= goal, load, repeats),
        row(scenario, "cpu_ratio", round(cpu, 3), "x", f"<= {goal:g}", cpu <= goal, load, repeats),
    ]


def paired_ratio_rows(scenario: str, larger: list[Measure], smaller: list[Measure], goal: float) -> list[dict]:
    """Wall and CPU ratios as the median of each repeat's pair (measured seconds apart):
    this host's speed drifts between repeats far more than within one, which moves a ratio
    of two sub-second medians by a fifth between runs of the same code."""
    load = max(m.load_1m for m in larger + smaller)
    wall = statistics.median(big.wall_s / small.wall_s for big, small in zip(larger, smaller, strict=False))
    cpu = statistics.median(big.cpu_s / small.cpu_s for big, small in zip(larger, smaller, strict=False))
    repeats = len(larger)
    return [
        row(scenario, "wall_ratio", round(wall, 3), "x", f"<= {goal:g}", wall <= goal, load, repeats),
        row(scenario, "cpu_ratio", round(cpu, 3), "x", f"<= {goal:g}", cpu <= goal, load, repeats),
    ]


def scenario_growth(tmp: Path, quick: bool) -> list[dict]:
    # Of the scale scenario's size (itself QUICK_SCALE with --quick): full 4x = 100K sales,
    # 1M clicks; quick 4x = 20K sales, 200K clicks.
    base = 0.1 if quick else 0.025
    repeats = 2
    walls: dict[int, Measure] = {}
    rows: list[dict] = []
    # Sizes alternate inside each repeat, so machine load falls on all of them alike.
    samples: dict[int, list[dict[str, Measure]]] = {1: [], 2: [], 4: []}
    for _ in range(repeats):
        for factor in (1, 2, 4):
            volumes, customers = scale_volumes(base * factor, quick)
            samples[factor].append(fresh_day(tmp, f"growth-{factor}x", volumes, customers))
    for factor in (1, 2, 4):
        volumes, customers = scale_volumes(base * factor, quick)
        figures = medians(samples[factor])
        walls[factor] = figures["end_to_end"]
        scenario = f"growth {factor}x: {describe(volumes, customers)}, no ML"
        rows.append(step_row(scenario, "end_to_end", figures["end_to_end"], repeats))
    for factor in (2, 4):
        goal = GROWTH_GOAL * factor / 4
        rows += ratio_rows(f"growth {factor}x over 1x (same run)", walls[factor], walls[1], goal, repeats)
    return rows


def scenario_incremental(tmp: Path, quick: bool) -> list[dict]:
    short, long = (30, 90) if quick else (30, 365)
    volumes = DailyVolumes(sales=20, clicks=500 if quick else 1000, startups=100)
    # The ratio of two sub-second medians needs several repeats; the quick size keeps
    # `make bench-quick` within its 3 minutes.
    customers, repeats = 2000, 3 if quick else 7
    templates: dict[int, tuple[Path, Path, Settings, date]] = {}
    for days in (short, long):
        home, template = tmp / f"incremental-{days}", tmp / f"incremental-{days}-template"
        settings = bench_settings(home, customers)
        # Both measured days fall on the same weekday (the short history's next day), so
        # both runs load the same flows: the startup registry lands on Fridays only.
        first = FIRST_DAY + timedelta(days=(short - days) % 7)
        build_history(home, settings, volumes, days, first)
        copy_home(home, template)
        templates[days] = (home, template, settings, first + timedelta(days=days))
    samples: dict[int, list[dict[str, Measure]]] = {short: [], long: []}
    for _ in range(repeats):  # alternating, one repeat of each at a time
        for days, (_home, template, settings, day) in templates.items():
            samples[days] += repeated_on_copy(
                settings, template, 1, lambda s=settings, d=day: timed_day(s, volumes, d, ml=False)
            )
    rows: list[dict] = []
    for days in (short, long):
        figures = medians(samples[days])
        scenario = (
            f"incremental: daily run after {days} days ({volumes.sales} sales, {volumes.clicks:,} clicks a day), no ML"
        )
        for step, measured in figures.items():
            rows.append(step_row(scenario, step, measured, repeats))
    rows += paired_ratio_rows(
        f"incremental: {long}-day over {short}-day history (same run, median of the repeats' pairs)",
        [r["end_to_end"] for r in samples[long]],
        [r["end_to_end"] for r in samples[short]],
        INCREMENTAL_GOAL,
    )
    return rows


SCENARIOS = {
    "seed": scenario_seed,
    "scale": scenario_scale,
    "growth": scenario_growth,
    "incremental": scenario_incremental,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1/20 scale, 30 vs 90 days of history")
    parser.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {', '.join(SCENARIOS)}")
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        for name in chosen:
            print(f"-- pipeline: {name}", flush=True)
            began = time.perf_counter()
            rows += SCENARIOS[name](Path(tmp), args.quick)
            print(f"-- pipeline: {name} done in {time.perf_counter() - began:.1f}s", flush=True)
    # A partial run keeps its own file, so the runner's pipeline.json stays a whole run.
    name = "pipeline" if set(chosen) == set(SCENARIOS) else "pipeline-" + "-".join(chosen)
    write_results(name, args.quick, rows)
    return 0 if all(r["ok"] is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
