"""`winter-days demo`: simulate days of the platform end to end on the local profile.

Each simulated day writes the three flows (as the nightly generator jobs would), then runs
the orchestrator's pipeline through the same launcher as `POST /run` (export -> compile ->
invoke -> poll -> ml). The ML step runs every day as in production: it scores with the
churn champion, and trains on its cadence (the churn_train_every_days setting, weekly by
default) once the history allows the model's time split. Progress is kept in
<home>/demo.json: a second demo continues with new days, `--fresh` starts over. A day is
triggered with the idempotency key `demo:<day>`, so a day interrupted and resumed never runs
twice.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from winter_days.config import Settings
from winter_days.platform import Platform
from winter_days.simulation import DailyVolumes, DaySimulator
from winter_days.warehouse.duckdb.files import wait_for_after_write

DEMO_STATE = "demo.json"
DEMO_VOLUMES = DailyVolumes(sales=200, clicks=4000, startups=100)
# What a fresh demo removes from <home>: the installation's data, nothing else.
INSTALLATION_PARTS = (
    "lake",
    "documents.sqlite3",
    "warehouse.duckdb",
    "orchestrator.sqlite3",
    "schedule.json",
    DEMO_STATE,
    "logs",
)


class DemoError(Exception):
    """The demo cannot go on as asked; the message says what to do."""


@dataclass
class DemoState:
    """What the demo has simulated so far, and with which world."""

    first_day: date
    days_done: int
    seed: int
    customers: int
    volumes: dict[str, Any]
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def next_day(self) -> date:
        return self.first_day + timedelta(days=self.days_done)

    def to_json(self) -> str:
        return json.dumps(
            {
                "first_day": self.first_day.isoformat(),
                "days_done": self.days_done,
                "seed": self.seed,
                "customers": self.customers,
                "volumes": self.volumes,
                "runs": self.runs[-400:],
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> DemoState:
        raw = json.loads(text)
        return cls(
            date.fromisoformat(raw["first_day"]),
            raw["days_done"],
            raw["seed"],
            raw["customers"],
            raw["volumes"],
            raw.get("runs", []),
        )


def clear_installation(home: Path) -> list[str]:
    """Remove the local installation's data under `home` (only the parts the platform writes)."""
    wait_for_after_write()  # this process's last run may still be copying the warehouse
    removed = []
    for part in INSTALLATION_PARTS:
        path = home / part
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(part)
    # The warehouse's WAL, and the build, standby and retired copies beside it (its lock
    # stays: a process may hold it).
    copies = [p for p in home.glob(".warehouse.duckdb.*") if not p.name.endswith(".lock")]
    for leftover in (*home.glob("warehouse.duckdb*"), *copies):
        leftover.unlink(missing_ok=True)
    return removed


def load_state(settings: Settings, volumes: DailyVolumes) -> DemoState:
    """The saved demo, checked against the world the settings describe; a new one if none."""
    path = settings.home / DEMO_STATE
    if not path.exists():
        return DemoState(settings.population_start, 0, settings.seed, settings.customers, volumes.as_dict())
    state = DemoState.from_json(path.read_text())
    differs = [
        name
        for name, saved, now in (
            ("seed", state.seed, settings.seed),
            ("customers", state.customers, settings.customers),
            ("volumes", state.volumes, volumes.as_dict()),
        )
        if saved != now
    ]
    if differs:
        raise DemoError(
            f"the demo in {settings.home} was simulated with other {', '.join(differs)} "
            f"({', '.join(f'{n}={getattr(state, n)}' for n in differs)}); continuing would mix two worlds. "
            "Run `winter-days demo --fresh` to start over."
        )
    return state


def save_state(settings: Settings, state: DemoState) -> None:
    path = settings.home / DEMO_STATE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(state.to_json())
    os.replace(tmp, path)


def trained(run: dict[str, Any]) -> bool:
    """Whether a run's ML step trained a model version."""
    return any(
        step.get("name") == "ml" and (step.get("counts") or {}).get("model_version") for step in run.get("steps") or ()
    )


@dataclass
class DayReport:
    day: date
    written: dict[str, int]
    run_id: str
    status: str
    trained: bool
    seconds: float
    error: str | None = None


DayCallback = Callable[[DayReport], None]


def run_demo(
    platform: Platform,
    days: int,
    *,
    volumes: DailyVolumes = DEMO_VOLUMES,
    launcher: Any = None,
    on_day: DayCallback | None = None,
    progress: Any = None,
) -> DemoState:
    """Simulate `days` more days (continuing the saved demo); stop at the first failed run."""
    if days < 1:
        raise DemoError(f"--days must be at least 1, got {days}")
    settings = platform.settings
    settings.home.mkdir(parents=True, exist_ok=True)
    state = load_state(settings, volumes)
    simulator = DaySimulator(platform, volumes)
    try:
        return _simulate(simulator, settings, state, days, launcher, on_day, progress)
    finally:
        simulator.close()


def _simulate(
    simulator: DaySimulator,
    settings: Settings,
    state: DemoState,
    days: int,
    launcher: Any,
    on_day: DayCallback | None,
    progress: Any,
) -> DemoState:
    from winter_days.orchestrator.pipeline import RunParameters

    first_index = state.days_done
    last_index = first_index + days - 1
    for index in range(first_index, last_index + 1):
        day = state.first_day + timedelta(days=index)
        began = time.monotonic()
        written = simulator.write_day(day)
        result = launcher.trigger(
            {"source": "demo", "simulated_day": day.isoformat()},
            RunParameters(as_of=day),
            trigger_key=f"demo:{day.isoformat()}",
            retry_failed=True,
            wait=True,
            progress=progress,
        )
        run = result.run or {}
        report = DayReport(
            day=day,
            written={"sales": written.sales, "clicks": written.clicks, "startups": written.startups},
            run_id=result.run_id,
            status=run.get("status", result.outcome),
            trained=trained(run),
            seconds=time.monotonic() - began,
            error=run.get("error"),
        )
        if on_day:
            on_day(report)
        if report.status != "succeeded":
            save_state(settings, state)
            raise DemoError(
                f"the run for simulated day {day} ({report.run_id}) {report.status}: {report.error}. "
                "Fix the cause and run `winter-days demo` again to continue from this day."
            )
        state.days_done = index + 1
        state.runs.append(
            {
                "day": day.isoformat(),
                "run_id": report.run_id,
                "trained": report.trained,
                "seconds": round(report.seconds, 3),
            }
        )
        save_state(settings, state)
    return state
