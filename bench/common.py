"""Shared measurement for the benchmarks: wall, CPU and peak memory of a step, medians, rows.

Every figure goes out with the 1-minute load average seen while it was taken: this 2-core
machine is shared, and a load above the core count stretches wall times (CPU time much
less so), so a reader must be able to tell a quiet reading from a loaded one.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import statistics
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
# The pseudonymisation key of data the benchmarks generate outside an installation.
BENCH_KEY = bytes(range(32))
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
RSS_SAMPLE_SECONDS = 0.02
DESCENDANT_SCAN_SECONDS = 0.25  # a child that lives less than this may go unseen


@dataclass(frozen=True)
class Measure:
    """One timed step: wall and CPU seconds (this process and its waited-for children),
    peak resident memory while it ran (this process and its live children together), and
    the highest 1-minute load average seen."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    load_1m: float


def cores() -> int:
    return len(os.sched_getaffinity(0))


def load_1m() -> float:
    return os.getloadavg()[0]


def _rss_bytes(pid: int | str = "self") -> int:
    """Resident memory of a process (0 once it has gone)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_BYTES
    except (OSError, ValueError, IndexError):
        return 0


def _descendants(root: int) -> set[int]:
    """Live processes below `root`, from each process's parent in /proc (a few ms)."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                text = stat.read()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces): state, then the parent's pid.
        parents[int(entry.name)] = int(text[text.rindex(b")") + 2 :].split()[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _cpu_seconds() -> float:
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


class _PeakRss:
    """Samples the resident memory of this process and its live child processes together,
    on a thread. ru_maxrss only ever grows over a process's life, and a child's ru_maxrss
    starts from its parent's peak when it forks (Linux copies the high-water mark), so
    neither tells the peak of one step; sampling both at once does. Children are looked up
    every DESCENDANT_SCAN_SECONDS, their memory read at every sample."""

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._children: set[int] = set()
        self._scanned_at = 0.0
        self.peak = self._total()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-rss", daemon=True)

    def _total(self) -> int:
        now = time.monotonic()
        if now - self._scanned_at >= DESCENDANT_SCAN_SECONDS:
            self._children, self._scanned_at = _descendants(self._pid), now
        return _rss_bytes() + sum(_rss_bytes(pid) for pid in self._children)

    def _sample(self) -> None:
        while not self._stop.wait(RSS_SAMPLE_SECONDS):
            self.peak = max(self.peak, self._total())

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


def measure(step: Callable[[], Any]) -> tuple[Any, Measure]:
    """Run `step` once in this process; its result and its Measure."""
    load_before = load_1m()
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    with _PeakRss() as rss:
        result = step()
    wall = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    return result, Measure(wall, cpu, rss.peak / 2**20, max(load_before, load_1m()))


def _child_entry(queue: Any, step: Callable[..., Any], args: tuple) -> None:
    try:
        queue.put(("ok",) + measure(lambda: step(*args)))
    except BaseException as err:  # the parent reports it: a child's traceback is easy to miss
        queue.put(("error", f"{type(err).__name__}: {err}", None))


def measure_in_child(step: Callable[..., Any], *args: Any) -> tuple[Any, Measure]:
    """Run `step(*args)` in a fresh interpreter (spawn), so that its peak memory is not
    mixed with what this process built beforehand. `step` must be a module-level function."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_child_entry, args=(queue, step, args))
    process.start()
    status, result, figures = queue.get()
    process.join()
    if status != "ok":
        raise RuntimeError(f"benchmark step {step.__name__} failed in its child process: {result}")
    return result, figures


def median_measure(figures: Iterable[Measure]) -> Measure:
    """Median of each figure over the repeats (the load: the highest seen)."""
    figures = list(figures)
    return Measure(
        statistics.median(f.wall_s for f in figures),
        statistics.median(f.cpu_s for f in figures),
        statistics.median(f.peak_rss_mb for f in figures),
        max(f.load_1m for f in figures),
    )


def row(
    scenario: str,
    metric: str,
    value: Any,
    unit: str,
    goal: str | None = None,
    ok: bool | None = None,
    load: float | None = None,
    repeats: int | None = None,
) -> dict[str, Any]:
    """One result row in the runner's format (bench/__main__.py)."""
    out: dict[str, Any] = {"scenario": scenario, "metric": metric, "value": value, "unit": unit, "goal": goal, "ok": ok}
    if load is not None:
        out["load_1m"] = round(load, 2)
    if repeats is not None:
        out["repeats"] = repeats
    return out


def step_row(
    scenario: str, step: str, figures: Measure, repeats: int, goal: str | None = None, ok: bool | None = None
) -> dict[str, Any]:
    """One step's wall time as the row's value, its CPU time and peak memory beside it."""
    out = row(scenario, f"{step} wall", round(figures.wall_s, 3), "s", goal, ok, figures.load_1m, repeats)
    out["cpu_s"] = round(figures.cpu_s, 3)
    out["peak_rss_mib"] = round(figures.peak_rss_mb, 1)
    return out


def results_path(name: str, quick: bool) -> Path:
    """bench/results/<name>.json, or <name>-quick.json for the quick sizes, so that a quick
    run never overwrites the figures of a full one."""
    return RESULTS / f"{name}{'-quick' if quick else ''}.json"


def write_results(name: str, quick: bool, rows: list[dict[str, Any]], **extra: Any) -> Path:
    """results_path(name, quick), in the runner's format, and the rows printed."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = results_path(name, quick)
    path.write_text(json.dumps({"benchmark": name, "quick": quick, **extra, "rows": rows}, indent=2) + "\n")
    width = max((len(r["scenario"]) for r in rows), default=0)
    for r in rows:
        goal = (
            f"  goal {r['goal']}: {'met' if r['ok'] else 'NOT met'}"
            if r.get("goal") and r.get("ok") is not None
            else ""
        )
        load = f"  (load {r['load_1m']})" if "load_1m" in r else ""
        extra = f"  cpu {r['cpu_s']} s" if "cpu_s" in r else ""
        extra += f", peak {r['peak_rss_mib']} MiB" if "peak_rss_mib" in r else ""
        print(
            f"{r['scenario']:<{width}}  {r['metric']:<24} {r['value']!s:>10} {r['unit']}{extra}{goal}{load}", flush=True
        )
    return path
