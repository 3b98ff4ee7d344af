"""Runs: the run store port (history, single-run guard, export watermark) and its adapters.

`RunStore` is the port; `SqliteRunStore` (`runs.sqlite`) keeps it in one file,
`FirestoreRunStore` (`runs.firestore`, behind the `[gcp]` extra) in Firestore. The
platform module picks one per profile.
"""

from __future__ import annotations

from winter_days.runs.owner import ProcessOwner
from winter_days.runs.store import (
    CUT_OFF,
    FAILED,
    PENDING,
    RUN_OUTCOMES,
    RUNNING,
    SKIPPED,
    STALE_HEARTBEAT,
    STEP_DURATION_BUCKETS,
    SUCCEEDED,
    RunMetrics,
    RunStore,
    StartDecision,
    StepStats,
    new_run_id,
    run_view,
)

__all__ = [
    "CUT_OFF",
    "FAILED",
    "PENDING",
    "RUN_OUTCOMES",
    "RUNNING",
    "SKIPPED",
    "STALE_HEARTBEAT",
    "STEP_DURATION_BUCKETS",
    "SUCCEEDED",
    "ProcessOwner",
    "RunMetrics",
    "RunStore",
    "StartDecision",
    "StepStats",
    "new_run_id",
    "run_view",
]
