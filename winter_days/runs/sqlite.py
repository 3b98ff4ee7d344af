"""The run store in one SQLite file: one connection per thread, WAL, short transactions.

The guard lives in the database, not in a process, so it holds across gunicorn workers and
the command line: starting a run is one IMMEDIATE transaction that checks for a retried
trigger, reclaims runs whose process died, checks for an active run and inserts the new one.
A partial unique index allows at most one row with status 'running' even if that logic
were bypassed.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from winter_days.runs.owner import ProcessOwner
from winter_days.runs.store import (
    CUT_OFF,
    FAILED,
    PENDING,
    RUNNING,
    SKIPPED,
    STALE_HEARTBEAT,
    SUCCEEDED,
    RunMetrics,
    StartDecision,
    StepStats,
    iso_timestamp,
    new_run_id,
    run_view,
    utc_now,
    with_step,
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    trigger_key TEXT UNIQUE,
    trigger TEXT NOT NULL,
    parameters TEXT NOT NULL,
    owner_host TEXT NOT NULL,
    owner_pid INTEGER NOT NULL,
    owner_start TEXT NOT NULL,
    started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL,
    finished_at TEXT,
    failed_step TEXT,
    error TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS runs_one_running ON runs (status) WHERE status = 'running';
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (started_at);
CREATE TABLE IF NOT EXISTS run_steps (
    run_id TEXT NOT NULL REFERENCES runs (run_id),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    duration_seconds REAL,
    counts TEXT NOT NULL DEFAULT '{}',
    error TEXT,
    PRIMARY KEY (run_id, position)
);
CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, finished_at);
CREATE TABLE IF NOT EXISTS step_metrics (
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    count INTEGER NOT NULL,
    duration_sum REAL NOT NULL,
    buckets TEXT NOT NULL,
    totals TEXT NOT NULL,
    latest TEXT NOT NULL,
    PRIMARY KEY (name, status)
);
CREATE TABLE IF NOT EXISTS step_metrics_since (
    only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
    built_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS watermarks (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""


class SqliteRunStore:
    """The orchestrator's SQLite file: one connection per thread, WAL, short transactions."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._conn.execute("PRAGMA journal_mode=WAL")
        # Each statement is idempotent, so workers starting together may all run them.
        self._conn.executescript(_SCHEMA)
        self._build_step_metrics()

    @property
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout=30000")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def describe(self) -> str:
        return f"SQLite file {self.path}"

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- the guard ----------------------------------------------------------------------

    def start_run(
        self,
        step_names: Sequence[str],
        trigger: Mapping[str, Any],
        parameters: Mapping[str, Any],
        trigger_key: str | None = None,
        owner: ProcessOwner | None = None,
        retry_failed: bool = False,
    ) -> StartDecision:
        """Start a run unless this trigger already ran or another run is active.

        With `retry_failed`, a trigger whose first run failed starts a new run (the demo and
        backfill re-run a failed day once its cause is fixed); by default a retried trigger
        gets the first run's result, whatever it was.
        """
        owner = owner or ProcessOwner.current()
        with self._transaction() as conn:
            if trigger_key is not None:
                first = conn.execute("SELECT run_id, status FROM runs WHERE trigger_key = ?", (trigger_key,)).fetchone()
                redo = (CUT_OFF, FAILED) if retry_failed else (CUT_OFF,)
                if first is not None and first["status"] not in redo:
                    return StartDecision("duplicate", first["run_id"])
                if first is not None:
                    # A crash cut the first attempt short (or it failed and a redo was asked): the retry does the work.
                    conn.execute("UPDATE runs SET trigger_key = NULL WHERE run_id = ?", (first["run_id"],))
            reclaimed = tuple(self._reclaim(conn))
            active = conn.execute(
                "SELECT run_id, owner_host, owner_pid, owner_start, started_at FROM runs WHERE status = ?", (RUNNING,)
            ).fetchone()
            if active is not None:
                holder = ProcessOwner(active["owner_host"], active["owner_pid"], active["owner_start"])
                return StartDecision("busy", active["run_id"], holder, active["started_at"], reclaimed)
            run_id = new_run_id()
            now = iso_timestamp(utc_now())
            conn.execute(
                "INSERT INTO runs (run_id, status, trigger_key, trigger, parameters, owner_host, owner_pid,"
                " owner_start, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    RUNNING,
                    trigger_key,
                    json.dumps(dict(trigger)),
                    json.dumps(dict(parameters)),
                    owner.host,
                    owner.pid,
                    owner.start_ticks,
                    now,
                    now,
                ),
            )
            conn.executemany(
                "INSERT INTO run_steps (run_id, position, name, status) VALUES (?, ?, ?, ?)",
                [(run_id, i, name, PENDING) for i, name in enumerate(step_names)],
            )
            return StartDecision("started", run_id, owner, now, reclaimed)

    def _build_step_metrics(self) -> None:
        """Aggregate the steps a history recorded before it kept step metrics (once per file)."""
        with self._transaction() as conn:
            if conn.execute("SELECT 1 FROM step_metrics_since").fetchone() is not None:
                return
            stats: dict[tuple[str, str], StepStats] = {}
            for row in conn.execute(
                "SELECT name, status, duration_seconds, counts FROM run_steps WHERE duration_seconds IS NOT NULL"
                " ORDER BY rowid"
            ):
                key = (row["name"], row["status"])
                stats[key] = with_step(stats.get(key), *key, row["duration_seconds"], json.loads(row["counts"]))
            for aggregate in stats.values():
                self._put_step_stats(conn, aggregate)
            conn.execute(
                "INSERT INTO step_metrics_since (only_row, built_at) VALUES (1, ?)", (iso_timestamp(utc_now()),)
            )

    @staticmethod
    def _put_step_stats(conn: sqlite3.Connection, stats: StepStats) -> None:
        conn.execute(
            "INSERT OR REPLACE INTO step_metrics (name, status, count, duration_sum, buckets, totals, latest)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                stats.name,
                stats.status,
                stats.count,
                stats.duration_sum,
                json.dumps(list(stats.bucket_counts)),
                json.dumps(dict(stats.totals)),
                json.dumps(dict(stats.latest)),
            ),
        )

    @staticmethod
    def _step_stats(row: sqlite3.Row) -> StepStats:
        return StepStats(
            row["name"],
            row["status"],
            row["count"],
            row["duration_sum"],
            tuple(json.loads(row["buckets"])),
            json.loads(row["totals"]),
            json.loads(row["latest"]),
        )

    def reclaim_cut_off_runs(self) -> list[str]:
        """Mark runs whose owning process is gone as cut off; returns their ids."""
        with self._transaction() as conn:
            return self._reclaim(conn)

    def _reclaim(self, conn: sqlite3.Connection) -> list[str]:
        cut: list[str] = []
        stale_before = iso_timestamp(utc_now() - STALE_HEARTBEAT)
        for row in conn.execute("SELECT * FROM runs WHERE status = ?", (RUNNING,)).fetchall():
            owner = ProcessOwner(row["owner_host"], row["owner_pid"], row["owner_start"])
            alive = owner.is_alive() if owner.is_local() else row["heartbeat_at"] >= stale_before
            if alive:
                continue
            reason = f"cut off: {owner.describe()} stopped while the run was active (last seen {row['heartbeat_at']})"
            self._cut_off(conn, row["run_id"], reason)
            cut.append(row["run_id"])
        return cut

    @staticmethod
    def _cut_off(conn: sqlite3.Connection, run_id: str, reason: str) -> None:
        now = iso_timestamp(utc_now())
        running_step = conn.execute(
            "SELECT name FROM run_steps WHERE run_id = ? AND status = ? ORDER BY position", (run_id, RUNNING)
        ).fetchone()
        conn.execute(
            "UPDATE runs SET status = ?, finished_at = ?, failed_step = ?, error = ? WHERE run_id = ?",
            (CUT_OFF, now, running_step["name"] if running_step else None, reason, run_id),
        )
        conn.execute(
            "UPDATE run_steps SET status = ?, finished_at = ?, error = ? WHERE run_id = ? AND status = ?",
            (CUT_OFF, now, reason, run_id, RUNNING),
        )
        conn.execute("UPDATE run_steps SET status = ? WHERE run_id = ? AND status = ?", (SKIPPED, run_id, PENDING))

    def cut_off_run(self, run_id: str, reason: str) -> bool:
        """Record a run of this process as cut off (the process is stopping); False when it was not running."""
        with self._transaction() as conn:
            row = conn.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None or row["status"] != RUNNING:
                return False
            self._cut_off(conn, run_id, reason)
            return True

    # -- a run's progress ---------------------------------------------------------------

    def heartbeat(self, run_id: str) -> None:
        with self._transaction() as conn:
            conn.execute("UPDATE runs SET heartbeat_at = ? WHERE run_id = ?", (iso_timestamp(utc_now()), run_id))

    def step_started(self, run_id: str, position: int) -> None:
        now = iso_timestamp(utc_now())
        with self._transaction() as conn:
            conn.execute(
                "UPDATE run_steps SET status = ?, started_at = ? WHERE run_id = ? AND position = ?",
                (RUNNING, now, run_id, position),
            )
            conn.execute("UPDATE runs SET heartbeat_at = ? WHERE run_id = ?", (now, run_id))

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
        """Record a step's end; watermarks and step metrics advance in the same transaction (watermarks
        only on success). A step no longer running (its run was cut off meanwhile) stays as it is."""
        now = iso_timestamp(utc_now())
        with self._transaction() as conn:
            updated = conn.execute(
                "UPDATE run_steps SET status = ?, finished_at = ?, duration_seconds = ?, counts = ?, error = ?"
                " WHERE run_id = ? AND position = ? AND status = ?",
                (
                    status,
                    now,
                    duration_seconds,
                    json.dumps(dict(counts), default=str),
                    error,
                    run_id,
                    position,
                    RUNNING,
                ),
            ).rowcount
            if not updated:
                return
            conn.execute("UPDATE runs SET heartbeat_at = ? WHERE run_id = ?", (now, run_id))
            name = conn.execute(
                "SELECT name FROM run_steps WHERE run_id = ? AND position = ?", (run_id, position)
            ).fetchone()["name"]
            previous = conn.execute(
                "SELECT * FROM step_metrics WHERE name = ? AND status = ?", (name, status)
            ).fetchone()
            self._put_step_stats(
                conn,
                with_step(self._step_stats(previous) if previous else None, name, status, duration_seconds, counts),
            )
            if status == SUCCEEDED:
                for name, value in (watermarks or {}).items():
                    conn.execute(
                        "INSERT INTO watermarks (name, value, run_id, updated_at) VALUES (?, ?, ?, ?)"
                        " ON CONFLICT (name) DO UPDATE SET value = excluded.value, run_id = excluded.run_id,"
                        " updated_at = excluded.updated_at",
                        (name, value, run_id, now),
                    )

    def finish_run(self, run_id: str, failed_step: str | None = None, error: str | None = None) -> None:
        """Close a run: failed when a step failed, else succeeded; unstarted steps are skipped."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE runs SET status = ?, finished_at = ?, failed_step = ?, error = ? WHERE run_id = ? AND status = ?",
                (FAILED if failed_step else SUCCEEDED, iso_timestamp(utc_now()), failed_step, error, run_id, RUNNING),
            )
            conn.execute("UPDATE run_steps SET status = ? WHERE run_id = ? AND status = ?", (SKIPPED, run_id, PENDING))

    def watermark(self, name: str) -> int | None:
        row = self._conn.execute("SELECT value FROM watermarks WHERE name = ?", (name,)).fetchone()
        return None if row is None else row["value"]

    # -- reading ------------------------------------------------------------------------

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """A run with its steps, as the API shows it; None when unknown."""
        row = self._conn.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        steps = self._conn.execute("SELECT * FROM run_steps WHERE run_id = ? ORDER BY position", (run_id,)).fetchall()
        return run_view(row, steps)

    def list_runs(self, limit: int = 50, before: str | None = None) -> list[dict[str, Any]]:
        """Newest first (insertion order: clocks of two processes may disagree), each with its steps."""
        rows = self._conn.execute(
            "SELECT run_id FROM runs WHERE (? IS NULL OR rowid < (SELECT rowid FROM runs WHERE run_id = ?))"
            " ORDER BY rowid DESC LIMIT ?",
            (before, before, limit),
        ).fetchall()
        return [run for run in (self.get_run(r["run_id"]) for r in rows) if run is not None]

    def active_run_id(self) -> str | None:
        row = self._conn.execute("SELECT run_id FROM runs WHERE status = ?", (RUNNING,)).fetchone()
        return None if row is None else row["run_id"]

    def outcome_counts(self) -> dict[str, int]:
        rows = self._conn.execute("SELECT status, count(*) AS n FROM runs GROUP BY status").fetchall()
        return {row["status"]: row["n"] for row in rows}

    def run_metrics(self) -> RunMetrics:
        """Runs by status, the last success and the step aggregates (a few indexed reads)."""
        last = self._conn.execute("SELECT max(finished_at) AS at FROM runs WHERE status = ?", (SUCCEEDED,)).fetchone()[
            "at"
        ]
        steps = self._conn.execute("SELECT * FROM step_metrics ORDER BY name, status").fetchall()
        return RunMetrics(self.outcome_counts(), last, tuple(self._step_stats(row) for row in steps))
