"""The run store port: run history, the single-run guard and the export watermark.

The launcher, the service, the run pipeline, the metrics and the dashboards use a run
store only through `RunStore`. Its adapters (`winter_days.runs.sqlite`, one file;
`winter_days.runs.firestore`, for instances that keep no disk) share the status words,
the run id form and the view of a run that the API shows, all defined here.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping, Protocol, Sequence, runtime_checkable

from winter_days.runs.owner import ProcessOwner

RUNNING, SUCCEEDED, FAILED, CUT_OFF = "running", "succeeded", "failed", "cut_off"
RUN_OUTCOMES = (SUCCEEDED, FAILED, CUT_OFF)
PENDING, SKIPPED = "pending", "skipped"
# A run owned by another host (a shared volume) is cut off when its heartbeat is this old.
STALE_HEARTBEAT = timedelta(minutes=5)

def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso_timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def new_run_id() -> str:
    """Readable start time (to the millisecond), unique across processes."""
    now = utc_now()
    return f"{now:%Y%m%dT%H%M%S}{now.microsecond // 1000:03d}Z-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class StartDecision:
    """What `start_run` did: 'started', 'duplicate' (a retried trigger) or 'busy'."""

    outcome: str
    run_id: str
    owner: ProcessOwner | None = None
    started_at: str = ""


@runtime_checkable
class RunStore(Protocol):
    """What the launcher, the service, the pipeline and the metrics use of a run store.

    `SqliteRunStore` keeps it in one SQLite file, `FirestoreRunStore` in Firestore.
    `finished_steps` rows hold name, status, duration_seconds and counts (JSON text).
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
    ) -> None: ...

    def finish_run(self, run_id: str, failed_step: str | None = None, error: str | None = None) -> None: ...

    def watermark(self, name: str) -> int | None: ...

    def get_run(self, run_id: str) -> dict[str, Any] | None: ...

    def list_runs(self, limit: int = 50, before: str | None = None) -> list[dict[str, Any]]: ...

    def active_run_id(self) -> str | None: ...

    def outcome_counts(self) -> dict[str, int]: ...

    def finished_steps(self) -> Sequence[Mapping[str, Any]]: ...

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
