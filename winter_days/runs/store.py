"""The run store port: run history, the single-run guard and the export watermark.

The launcher, the service, the run pipeline, the metrics and the dashboards use a run
store only through `RunStore`. Its adapters (`winter_days.runs.sqlite`, one file;
`winter_days.runs.firestore`, for instances that keep no disk) share the status words,
the run id form and the view of a run that the API shows, all defined here.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from winter_days.runs.owner import ProcessOwner

RUNNING, SUCCEEDED, FAILED, CUT_OFF = "running", "succeeded", "failed", "cut_off"
RUN_OUTCOMES = (SUCCEEDED, FAILED, CUT_OFF)
PENDING, SKIPPED = "pending", "skipped"
# A run owned by another host (a shared volume) is cut off when its heartbeat is this old.
STALE_HEARTBEAT = timedelta(minutes=5)
# Upper bounds (seconds) of the step duration histogram's buckets; a step longer than the
# last one counts in the overflow bucket only. Stores keep counts per bucket, so changing
# these bounds needs the stored aggregates rebuilt.
STEP_DURATION_BUCKETS = (0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0, 7200.0)
# Count names a store aggregates (the numbers a step reports, such as rows or rows_quarantined_sales).
_COUNT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,99}$")


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def new_run_id() -> str:
    """Readable start time (to the millisecond), unique across processes."""
    now = utc_now()
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class StartDecision:
    """What `start_run` did: 'started', 'duplicate' (a retried trigger) or 'busy'.

    `reclaimed` names the runs it found cut off by a crash (their process gone) and recorded
    so on the way; the caller reports their end, as nobody else will."""

    outcome: str
    run_id: str
    owner: ProcessOwner | None = None
    started_at: str = ""
    reclaimed: tuple[str, ...] = ()


def duration_bucket(seconds: float) -> int:
    """The index of the histogram bucket a step of this duration counts in (the last: overflow)."""
    for index, bound in enumerate(STEP_DURATION_BUCKETS):
        if seconds <= bound:
            return index
    return len(STEP_DURATION_BUCKETS)


def whole_counts(counts: Mapping[str, Any]) -> dict[str, int]:
    """The whole-number counts of a step (flags, texts and fractions are not aggregated)."""
    return {
        name: value
        for name, value in counts.items()
        if isinstance(value, int) and not isinstance(value, bool) and _COUNT_NAME.match(name)
    }


@dataclass(frozen=True)
class StepStats:
    """What the finished steps of one name and outcome add up to, kept as they finish.

    `bucket_counts` holds one count per duration bucket (not cumulative; the last is the
    overflow); `totals` sums each whole-number count; `latest` holds each count's value in
    the latest step that reported it.
    """

    name: str
    status: str
    count: int
    duration_sum: float
    bucket_counts: tuple[int, ...]
    totals: Mapping[str, int] = field(default_factory=dict)
    latest: Mapping[str, int] = field(default_factory=dict)


def with_step(stats: StepStats | None, name: str, status: str, seconds: float, counts: Mapping[str, Any]) -> StepStats:
    """`stats` with one more finished step of this name and outcome."""
    buckets = list(stats.bucket_counts if stats else (0,) * (len(STEP_DURATION_BUCKETS) + 1))
    buckets[duration_bucket(seconds)] += 1
    totals = dict(stats.totals if stats else {})
    latest = dict(stats.latest if stats else {})
    for count_name, value in whole_counts(counts).items():
        totals[count_name] = totals.get(count_name, 0) + value
        latest[count_name] = value
    return StepStats(
        name,
        status,
        (stats.count if stats else 0) + 1,
        (stats.duration_sum if stats else 0.0) + seconds,
        tuple(buckets),
        totals,
        latest,
    )


@dataclass(frozen=True)
class RunMetrics:
    """What GET /metrics shows: runs by status, the last success, and the step aggregates."""

    outcomes: Mapping[str, int]
    last_succeeded_at: str | None
    steps: tuple[StepStats, ...]


@runtime_checkable
class RunStore(Protocol):
    """What the launcher, the service, the pipeline and the metrics use of a run store.

    `SqliteRunStore` keeps it in one SQLite file, `FirestoreRunStore` in Firestore.
    `run_metrics` reads aggregates kept as steps finish, never the whole history.
    """

    def start_run(
        self,
        step_names: Sequence[str],
        trigger: Mapping[str, Any],
        parameters: Mapping[str, Any],
        trigger_key: str | None = None,
        owner: ProcessOwner | None = None,
        retry_failed: bool = False,
    ) -> StartDecision: ...

    def reclaim_cut_off_runs(self) -> list[str]: ...

    def cut_off_run(self, run_id: str, reason: str) -> bool:
        """Record a run of this process as cut off (its process is stopping), freeing the guard;
        False when it was no longer running. Later writes of the run change nothing."""
        ...

    def heartbeat(self, run_id: str) -> None: ...

    def step_started(self, run_id: str, position: int) -> None: ...

    def step_finished(
        self,
        run_id: str,
        position: int,
        status: str,
        duration_seconds: float,
        counts: Mapping[str, Any],
        error: str | None = None,
        watermarks: Mapping[str, int] | None = None,
    ) -> None:
        """Record a step's end, unless the run was cut off meanwhile (then nothing changes)."""
        ...

    def finish_run(self, run_id: str, failed_step: str | None = None, error: str | None = None) -> None: ...

    def watermark(self, name: str) -> int | None: ...

    def get_run(self, run_id: str) -> dict[str, Any] | None: ...

    def list_runs(self, limit: int = 50, before: str | None = None) -> list[dict[str, Any]]: ...

    def active_run_id(self) -> str | None: ...

    def outcome_counts(self) -> dict[str, int]: ...

    def run_metrics(self) -> RunMetrics:
        """Runs by status, the last success, and per step name and outcome: count, duration
        histogram, count totals and each count's latest value; bounded reads, whatever the history's length."""
        ...

    def describe(self) -> str:
        """Where the runs are kept, for messages."""
        ...

    def close(self) -> None: ...


def run_view(row: Mapping[str, Any], steps: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """A stored run and its steps as the API shows them (trigger, parameters, counts are JSON text)."""

    def seconds(start: str | None, end: str | None) -> float | None:
        if not start or not end:
            return None
        return round((datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds(), 3)

    return {
        "run_id": row["run_id"],
        "status": row["status"],
        "trigger": json.loads(row["trigger"]),
        "parameters": json.loads(row["parameters"]),
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
        "duration_seconds": seconds(row["started_at"], row["finished_at"]),
        "failed_step": row["failed_step"],
        "error": row["error"],
        "process": {"host": row["owner_host"], "pid": row["owner_pid"]},
        "steps": [
            {
                "name": step["name"],
                "status": step["status"],
                "started_at": step["started_at"],
                "finished_at": step["finished_at"],
                "duration_seconds": step["duration_seconds"],
                "counts": json.loads(step["counts"]),
                "error": step["error"],
            }
            for step in steps
        ],
    }
