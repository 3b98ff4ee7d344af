"""The run store in Firestore: run history, the single-run guard and the export watermark.

Cloud Run instances keep no disk between requests, so the state `SqliteRunStore` keeps in a
SQLite file lives here in a few collections (names share a prefix):

- `<prefix>_guard/active`: the active run's id (or null) and the next run sequence number.
  Every start reads and writes it in one transaction, so concurrent starts on any number of
  instances serialise on it and exactly one run starts.
- `<prefix>_runs/<run_id>`: a run; `seq` (from the guard) orders the list newest first.
- `<prefix>_steps/<run_id>:<position>`: a run's steps.
- `<prefix>_triggers/<sha256 of the key>`: which run a trigger key started, read and written
  in the start transaction, so a retried trigger never starts a second run.
- `<prefix>_watermarks/<name>`: written in the same transaction that records the export
  step's success.
- `<prefix>_metrics/step:<name>:<status>`: what the finished steps of one name and outcome
  add up to (count, duration histogram, count totals and latest values), incremented in the
  transaction that records each step's end; `<prefix>_metrics/runs`: the last success. A
  scrape of /metrics reads these few documents and the server's counts, never the history.

A run is cut off when its heartbeat is older than `stale_after`: instances have no local
process ids another instance could check. Trigger, parameters and step counts are kept as
JSON text, so they read back exactly as the SQLite store's do.

The SDK is imported lazily: it lives behind the `[gcp]` extra.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

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
    StartDecision,
    StepStats,
    duration_bucket,
    iso_timestamp,
    new_run_id,
    run_view,
    utc_now,
    whole_counts,
)

if TYPE_CHECKING:
    from google.cloud.firestore import Client, DocumentReference, DocumentSnapshot, Transaction

    from winter_days.config import Settings

DEFAULT_PREFIX = "winter_days_orchestrator"
# Commit attempts the SDK makes in place before `_transactional` backs off and starts over.
TRANSACTION_ATTEMPTS = 3
# How long a transaction may keep retrying transient failures (dozens of instances starting at once).
TRANSACTION_TIMEOUT = 120.0
# The form of `new_run_id`; any other id (from a URL) names no run and is never sent as a document path.
_RUN_ID = re.compile(r"^[0-9]{8}T[0-9]{9}Z-[0-9a-f]{8}$")


def _firestore_module():
    try:
        from google.cloud import firestore
    except ImportError as err:
        raise RuntimeError(
            "the gcp profile keeps its run history in Firestore and needs google-cloud-firestore: "
            "install winter-days[gcp]"
        ) from err
    return firestore


class FirestoreRunStore:
    """The `RunStore` of the gcp profile, on one Firestore database."""

    def __init__(
        self,
        client: Client,
        prefix: str = DEFAULT_PREFIX,
        stale_after: timedelta = STALE_HEARTBEAT,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._firestore = _firestore_module()
        self._client = client
        self._prefix = prefix
        self._stale_after = stale_after
        self._clock = clock
        self._runs = client.collection(f"{prefix}_runs")
        self._steps = client.collection(f"{prefix}_steps")
        self._triggers = client.collection(f"{prefix}_triggers")
        self._watermarks = client.collection(f"{prefix}_watermarks")
        self._guard = client.collection(f"{prefix}_guard").document("active")
        self._metrics = client.collection(f"{prefix}_metrics")

    @classmethod
    def from_settings(cls, settings: Settings, prefix: str = DEFAULT_PREFIX) -> FirestoreRunStore:
        """The history in the settings' project and database (FIRESTORE_EMULATOR_HOST points it at the emulator)."""
        if not settings.gcp.project_id:
            raise ValueError(
                "setting gcp.project_id: the gcp profile keeps its run history in that project's Firestore"
            )
        from winter_days.gcp_credentials import client_credentials

        firestore = _firestore_module()
        credentials = client_credentials("Firestore (the run history)", emulator_variable="FIRESTORE_EMULATOR_HOST")
        client = firestore.Client(
            project=settings.gcp.project_id, database=settings.gcp.firestore_database, credentials=credentials
        )
        return cls(client, prefix=prefix)

    def describe(self) -> str:
        return f"Firestore collections {self._prefix}_* ({self._client._database_string})"

    def close(self) -> None:
        """Nothing per thread to release: the client is shared and thread-safe."""

    def _now_iso(self) -> str:
        return iso_timestamp(self._clock())

    def _step_ref(self, run_id: str, position: int) -> DocumentReference:
        return self._steps.document(f"{run_id}:{position:03d}")

    def _transactional(self, work: Callable[[Transaction], Any]) -> Any:
        """Run `work` in a transaction; every `work` here is safe to repeat.

        The SDK retries an aborted commit a few times keeping its place in line; beyond that,
        and on other transient failures (even after a commit that went through unseen), the
        whole transaction runs again after a randomised, growing pause, so many instances
        starting at once do not keep colliding.
        """
        from google.api_core import exceptions

        from winter_days.stores.firestore import transient_error_retry

        def attempt() -> Any:
            transaction = self._client.transaction(max_attempts=TRANSACTION_ATTEMPTS)
            try:
                return self._firestore.transactional(work)(transaction)
            except ValueError as err:  # the SDK's "failed to commit in N attempts"
                if isinstance(err.__cause__, exceptions.Aborted):
                    raise err.__cause__ from err
                raise

        return transient_error_retry(timeout=TRANSACTION_TIMEOUT, initial=0.05, maximum=2.0)(attempt)()

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
        """Start a run unless this trigger already ran or another run is active (see `SqliteRunStore.start_run`)."""
        owner = owner or ProcessOwner.current()
        trigger_ref = (
            self._triggers.document(hashlib.sha256(trigger_key.encode()).hexdigest())
            if trigger_key is not None
            else None
        )
        trigger_json, parameters_json = json.dumps(dict(trigger)), json.dumps(dict(parameters))
        # Chosen once: a repeated attempt whose earlier commit went through recognises its own run.
        run_id = new_run_id()

        def attempt(txn: Transaction) -> StartDecision:
            # Firestore transactions read everything before they write anything.
            first = None
            if trigger_ref is not None:
                pointer = trigger_ref.get(transaction=txn)
                if pointer.exists:
                    first = self._runs.document(pointer.get("run_id")).get(transaction=txn)
            guard = self._guard.get(transaction=txn)
            active_id = guard.get("active_run_id") if guard.exists else None
            next_seq = (guard.get("next_seq") if guard.exists else None) or 1
            active = self._runs.document(active_id).get(transaction=txn) if active_id else None
            active_steps = self._read_steps(active, txn) if active is not None and active.exists else []

            if active_id == run_id and active is not None:
                return StartDecision("started", run_id, owner, active.get("started_at"))
            if first is not None and first.exists:
                redo = (CUT_OFF, FAILED) if retry_failed else (CUT_OFF,)
                if first.get("status") not in redo:
                    return StartDecision("duplicate", first.id)
                # A crash cut the first attempt short (or it failed and a redo was asked): the retry does the work.
                txn.update(first.reference, {"trigger_key": None})
            reclaimed: tuple[str, ...] = ()
            if active is not None and active.exists and active.get("status") == RUNNING:
                if not self._is_stale(active):
                    holder = ProcessOwner(active.get("owner_host"), active.get("owner_pid"), active.get("owner_start"))
                    return StartDecision("busy", active.id, holder, active.get("started_at"))
                self._write_cut_off(txn, active, active_steps)
                reclaimed = (active.id,)

            now = self._now_iso()
            txn.set(
                self._runs.document(run_id),
                {
                    "run_id": run_id,
                    "seq": next_seq,
                    "status": RUNNING,
                    "trigger_key": trigger_key,
                    "trigger": trigger_json,
                    "parameters": parameters_json,
                    "step_count": len(step_names),
                    "owner_host": owner.host,
                    "owner_pid": owner.pid,
                    "owner_start": owner.start_ticks,
                    "started_at": now,
                    "heartbeat_at": now,
                    "finished_at": None,
                    "failed_step": None,
                    "error": None,
                },
            )
            for position, name in enumerate(step_names):
                txn.set(
                    self._step_ref(run_id, position),
                    {
                        "run_id": run_id,
                        "position": position,
                        "name": name,
                        "status": PENDING,
                        "started_at": None,
                        "finished_at": None,
                        "duration_seconds": None,
                        "counts": "{}",
                        "error": None,
                    },
                )
            if trigger_ref is not None:
                txn.set(trigger_ref, {"trigger_key": trigger_key, "run_id": run_id})
            txn.set(self._guard, {"active_run_id": run_id, "next_seq": next_seq + 1})
            return StartDecision("started", run_id, owner, now, reclaimed)

        return self._transactional(attempt)

    def _is_stale(self, run: DocumentSnapshot) -> bool:
        return run.get("heartbeat_at") < iso_timestamp(self._clock() - self._stale_after)

    def _read_steps(self, run: DocumentSnapshot, txn: Transaction | None = None) -> list[DocumentSnapshot]:
        refs = [self._step_ref(run.id, position) for position in range(run.get("step_count") or 0)]
        if not refs:
            return []
        found = {snap.id: snap for snap in self._client.get_all(refs, transaction=txn) if snap.exists}
        return [found[ref.id] for ref in refs if ref.id in found]

    def _write_cut_off(
        self, txn: Transaction, run: DocumentSnapshot, steps: list[DocumentSnapshot], reason: str | None = None
    ) -> None:
        now = self._now_iso()
        host, pid = run.get("owner_host"), run.get("owner_pid")
        reason = reason or (
            f"cut off: process {pid} on {host} stopped while the run was active "
            f"(no heartbeat since {run.get('heartbeat_at')})"
        )
        running = [step for step in steps if step.get("status") == RUNNING]
        txn.update(
            run.reference,
            {
                "status": CUT_OFF,
                "finished_at": now,
                "error": reason,
                "failed_step": running[0].get("name") if running else None,
            },
        )
        for step in steps:
            if step.get("status") == RUNNING:
                txn.update(step.reference, {"status": CUT_OFF, "finished_at": now, "error": reason})
            elif step.get("status") == PENDING:
                txn.update(step.reference, {"status": SKIPPED})

    def reclaim_cut_off_runs(self) -> list[str]:
        """Mark the active run cut off when its heartbeat is too old; returns its id (or nothing)."""

        def attempt(txn: Transaction) -> list[str]:
            guard = self._guard.get(transaction=txn)
            active_id = guard.get("active_run_id") if guard.exists else None
            if not active_id:
                return []
            active = self._runs.document(active_id).get(transaction=txn)
            if not active.exists or active.get("status") != RUNNING:
                txn.update(self._guard, {"active_run_id": None})
                return []
            if not self._is_stale(active):
                return []
            steps = self._read_steps(active, txn)
            self._write_cut_off(txn, active, steps)
            txn.update(self._guard, {"active_run_id": None})
            return [active_id]

        return self._transactional(attempt)

    def cut_off_run(self, run_id: str, reason: str) -> bool:
        """Record a run of this instance as cut off (the instance is stopping); False when it was not running."""
        if not _RUN_ID.match(run_id):
            return False

        def attempt(txn: Transaction) -> bool:
            run = self._runs.document(run_id).get(transaction=txn)
            if not run.exists or run.get("status") != RUNNING:
                return False
            guard = self._guard.get(transaction=txn)
            steps = self._read_steps(run, txn)
            self._write_cut_off(txn, run, steps, reason)
            if guard.exists and guard.get("active_run_id") == run_id:
                txn.update(self._guard, {"active_run_id": None})
            return True

        return bool(self._transactional(attempt))

    # -- a run's progress ---------------------------------------------------------------

    def heartbeat(self, run_id: str) -> None:
        self._runs.document(run_id).update({"heartbeat_at": self._now_iso()})

    def step_started(self, run_id: str, position: int) -> None:
        now = self._now_iso()
        batch = self._client.batch()
        batch.update(self._step_ref(run_id, position), {"status": RUNNING, "started_at": now})
        batch.update(self._runs.document(run_id), {"heartbeat_at": now})
        batch.commit()

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
        counts_json = json.dumps(dict(counts), default=str)
        whole = whole_counts(counts)
        increment = self._firestore.Increment

        def attempt(txn: Transaction) -> None:
            step = self._step_ref(run_id, position).get(transaction=txn)
            if not step.exists or step.get("status") != RUNNING:
                return
            now = self._now_iso()
            txn.update(
                step.reference,
                {
                    "status": status,
                    "finished_at": now,
                    "duration_seconds": duration_seconds,
                    "counts": counts_json,
                    "error": error,
                },
            )
            txn.update(self._runs.document(run_id), {"heartbeat_at": now})
            name = step.get("name")
            aggregate: dict[str, Any] = {
                "name": name,
                "status": status,
                "count": increment(1),
                "duration_sum": increment(duration_seconds),
                "buckets": {f"b{duration_bucket(duration_seconds):02d}": increment(1)},
            }
            if whole:  # an empty map in a merge would replace the stored one
                aggregate["totals"] = {count: increment(value) for count, value in whole.items()}
                aggregate["latest"] = whole
            txn.set(self._metrics.document(f"step:{quote(name, safe='')}:{status}"), aggregate, merge=True)
            if status == SUCCEEDED:
                for name, value in (watermarks or {}).items():
                    txn.set(
                        self._watermarks.document(quote(name, safe="")),
                        {
                            "name": name,
                            "value": value,
                            "run_id": run_id,
                            "updated_at": now,
                        },
                    )

        self._transactional(attempt)

    def finish_run(self, run_id: str, failed_step: str | None = None, error: str | None = None) -> None:
        """Close a run and free the guard: failed when a step failed, else succeeded; unstarted steps are skipped."""

        def attempt(txn: Transaction) -> None:
            run = self._runs.document(run_id).get(transaction=txn)
            if not run.exists:
                return
            guard = self._guard.get(transaction=txn)
            steps = self._read_steps(run, txn)
            if run.get("status") == RUNNING:
                now = self._now_iso()
                txn.update(
                    run.reference,
                    {
                        "status": FAILED if failed_step else SUCCEEDED,
                        "finished_at": now,
                        "failed_step": failed_step,
                        "error": error,
                    },
                )
                if not failed_step:
                    txn.set(
                        self._metrics.document("runs"),
                        {"last_succeeded_at": now, "last_succeeded_run": run_id},
                        merge=True,
                    )
            for step in steps:
                if step.get("status") == PENDING:
                    txn.update(step.reference, {"status": SKIPPED})
            if guard.exists and guard.get("active_run_id") == run_id:
                txn.update(self._guard, {"active_run_id": None})

        self._transactional(attempt)

    def watermark(self, name: str) -> int | None:
        snap = self._watermarks.document(quote(name, safe="")).get()
        return snap.get("value") if snap.exists else None

    # -- reading ------------------------------------------------------------------------

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """A run with its steps, as the API shows it; None when unknown."""
        if not _RUN_ID.match(run_id):
            return None
        run = self._runs.document(run_id).get()
        if not run.exists:
            return None
        return run_view(run.to_dict() or {}, [step.to_dict() or {} for step in self._read_steps(run)])

    def list_runs(self, limit: int = 50, before: str | None = None) -> list[dict[str, Any]]:
        """Newest first (by start order under the guard), each with its steps."""
        firestore = self._firestore
        query = self._runs.order_by("seq", direction=firestore.Query.DESCENDING)
        if before is not None:
            if not _RUN_ID.match(before):
                return []
            anchor = self._runs.document(before).get()
            if not anchor.exists:
                return []
            query = query.where(filter=firestore.FieldFilter("seq", "<", anchor.get("seq")))
        runs = list(query.limit(limit).stream())
        return [run_view(run.to_dict() or {}, [step.to_dict() or {} for step in self._read_steps(run)]) for run in runs]

    def active_run_id(self) -> str | None:
        guard = self._guard.get()
        return guard.get("active_run_id") if guard.exists else None

    def outcome_counts(self) -> dict[str, int]:
        """Runs by status, counted by the server (aggregation queries read no documents)."""
        counts: dict[str, int] = {}
        for status in (RUNNING, *RUN_OUTCOMES):
            query = self._runs.where(filter=self._firestore.FieldFilter("status", "==", status))
            counted: Any = query.count()  # the SDK's stubs type count() as the class, not an instance
            total = int(counted.get()[0][0].value)
            if total:
                counts[status] = total
        return counts

    def run_metrics(self) -> RunMetrics:
        """Runs by status (server-side counts), the last success and the step aggregates: a few
        documents, whatever the history's length."""
        last: str | None = None
        steps: list[StepStats] = []
        for doc in self._metrics.stream():
            data = doc.to_dict() or {}
            if doc.id == "runs":
                last = data.get("last_succeeded_at")
                continue
            buckets = data.get("buckets") or {}
            steps.append(
                StepStats(
                    data["name"],
                    data["status"],
                    int(data.get("count") or 0),
                    float(data.get("duration_sum") or 0.0),
                    tuple(int(buckets.get(f"b{i:02d}", 0)) for i in range(len(STEP_DURATION_BUCKETS) + 1)),
                    {k: int(v) for k, v in (data.get("totals") or {}).items()},
                    {k: int(v) for k, v in (data.get("latest") or {}).items()},
                )
            )
        return RunMetrics(self.outcome_counts(), last, tuple(sorted(steps, key=lambda s: (s.name, s.status))))
