"""Triggering runs: the guard, retried triggers, and running now or in the background.

The service (`POST /run`) and the command line (`winter-days run`) both go through
`RunLauncher`, so they share one guard and one history. The launcher knows the runs this
process executes: when the process is told to stop (SIGTERM on Cloud Run), `shutdown`
records each as cut off, with the reason, before the process goes, so no run is left
"running" in the history.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from winter_days.orchestrator.pipeline import (
    RunContext,
    RunParameters,
    RunPipeline,
    StepProgress,
    execute_run,
    log_run_end,
)
from winter_days.platform import Platform
from winter_days.runs import CUT_OFF, RUNNING, RunStore, StartDecision

log = logging.getLogger("winter_days.orchestrator")

# How often a retried trigger looks at the first run while waiting for its result.
DUPLICATE_WAIT_INTERVAL = 0.2


@dataclass(frozen=True)
class TriggerResult:
    """What a trigger got: a run it started or joined (with its record), or the active run's id."""

    decision: StartDecision
    run: dict[str, Any] | None

    @property
    def outcome(self) -> str:
        return self.decision.outcome

    @property
    def run_id(self) -> str:
        return self.decision.run_id


class RunLauncher:
    """Starts runs of one pipeline over one history."""

    def __init__(self, platform: Platform, pipeline: RunPipeline | None = None, history: RunStore | None = None):
        from winter_days.orchestrator.steps import make_pipeline

        self.platform = platform
        self.history = history or platform.run_store
        self.pipeline = pipeline or make_pipeline(platform)
        self._background: list[threading.Thread] = []
        self._active: dict[str, RunContext] = {}
        self._lock = threading.Lock()

    def trigger(
        self,
        trigger: Mapping[str, Any],
        parameters: RunParameters,
        trigger_key: str | None = None,
        wait: bool = True,
        progress: StepProgress | None = None,
        retry_failed: bool = False,
    ) -> TriggerResult:
        """Start a run (or find the first run of a retried trigger); wait for its end if asked."""
        decision = self.history.start_run(
            self.pipeline.step_names, trigger, parameters.as_dict(), trigger_key=trigger_key, retry_failed=retry_failed
        )
        self._report_reclaimed(decision.reclaimed)
        if decision.outcome == "busy":
            return TriggerResult(decision, None)
        if decision.outcome == "duplicate":
            run = self.wait_for(decision.run_id) if wait else self.history.get_run(decision.run_id)
            return TriggerResult(decision, run)
        context = RunContext(
            decision.run_id,
            self.platform,
            parameters,
            self.history,
            deadline=time.monotonic() + self.platform.settings.orchestrator.run_deadline_seconds,
            lineage=self.platform.lineage.for_run(decision.run_id),
        )
        with self._lock:
            self._active[context.run_id] = context
        if wait:
            try:
                return TriggerResult(decision, execute_run(self.pipeline, context, progress))
            finally:
                self._forget(context)
        # Daemon: once `shutdown` has recorded the run cut off, nothing keeps the process from
        # ending. The thread runs in a copy of this request's context, so the run's log lines
        # carry the trace of the request that started it.
        thread = threading.Thread(
            target=contextvars.copy_context().run,
            args=(self._run_in_background, context),
            name=f"run-{decision.run_id}",
            daemon=True,
        )
        self._background.append(thread)
        thread.start()
        return TriggerResult(decision, self.history.get_run(decision.run_id))

    def _run_in_background(self, context: RunContext) -> None:
        try:
            execute_run(self.pipeline, context)
        except Exception:  # execute_run records step failures; this is the store itself failing
            log.exception(
                "run %s stopped on an error its record may not show", context.run_id, extra={"run_id": context.run_id}
            )
        finally:
            self._forget(context)
            self.history.close()

    def _forget(self, context: RunContext) -> None:
        with self._lock:
            self._active.pop(context.run_id, None)

    def active_runs(self) -> list[str]:
        """Ids of the runs this process is executing."""
        with self._lock:
            return list(self._active)

    def shutdown(self, reason: str, grace_seconds: float = 5.0) -> list[str]:
        """Record every run this process executes as cut off with `reason`, ask each to stop at its
        next step boundary, and wait up to `grace_seconds` for background runs; returns the ids cut off."""
        with self._lock:
            contexts = list(self._active.values())
        cut: list[str] = []
        for context in contexts:
            context.cut_off.set()
            try:
                recorded = self.history.cut_off_run(context.run_id, f"cut off: {reason}")
            except Exception:
                log.exception(
                    "run %s could not be recorded as cut off", context.run_id, extra={"run_id": context.run_id}
                )
                continue
            if not recorded:
                continue
            cut.append(context.run_id)
            run = self.history.get_run(context.run_id)
            log_run_end(run or {"run_id": context.run_id, "status": CUT_OFF, "error": f"cut off: {reason}"})
            context.lineage.run_finished(CUT_OFF, f"cut off: {reason}")
        self.join_background(grace_seconds)
        return cut

    def wait_for(self, run_id: str) -> dict[str, Any] | None:
        """The run's record once it is no longer running (or cut off by a crash meanwhile)."""
        while True:
            run = self.history.get_run(run_id)
            if run is None or run["status"] != RUNNING:
                return run
            self.reclaim()
            time.sleep(DUPLICATE_WAIT_INTERVAL)

    def reclaim(self) -> list[str]:
        """Record the runs whose process died while they ran as cut off, and log each one's end
        (the run_failed line an alert counts): the process that would have logged it is gone."""
        reclaimed = self.history.reclaim_cut_off_runs()
        self._report_reclaimed(reclaimed)
        return reclaimed

    def _report_reclaimed(self, run_ids: Sequence[str]) -> None:
        for run_id in run_ids:
            log.warning("run %s was cut off by a crash; marked cut_off", run_id, extra={"run_id": run_id})
            run = self.history.get_run(run_id)
            log_run_end(run or {"run_id": run_id, "status": CUT_OFF, "error": "cut off by a crash"})

    def join_background(self, timeout: float | None = None) -> None:
        """Wait for background runs (tests and a graceful shutdown)."""
        for thread in list(self._background):
            thread.join(timeout)
        self._background = [t for t in self._background if t.is_alive()]
