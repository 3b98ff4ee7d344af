"""Triggering runs: the guard, retried triggers, and running now or in the background.

The service (`POST /run`) and the command line (`winter-days run`) both go through
`RunLauncher`, so they share one guard and one history.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Mapping

from winter_days.platform import Platform
from winter_days.runs import RUNNING, RunStore, StartDecision
from winter_days.orchestrator.pipeline import RunContext, RunParameters, RunPipeline, StepProgress, execute_run

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
        if decision.outcome == "busy":
            return TriggerResult(decision, None)
        if decision.outcome == "duplicate":
            run = self.wait_for(decision.run_id) if wait else self.history.get_run(decision.run_id)
            return TriggerResult(decision, run)
        context = RunContext(decision.run_id, self.platform, parameters, self.history)
        if wait:
            return TriggerResult(decision, execute_run(self.pipeline, context, progress))
        thread = threading.Thread(
            target=self._run_in_background, args=(context,), name=f"run-{decision.run_id}", daemon=False
        )
        self._background.append(thread)
        thread.start()
        return TriggerResult(decision, self.history.get_run(decision.run_id))

    def _run_in_background(self, context: RunContext) -> None:
        try:
            execute_run(self.pipeline, context)
        finally:
            self.history.close()

    def wait_for(self, run_id: str) -> dict[str, Any] | None:
        """The run's record once it is no longer running (or cut off by a crash meanwhile)."""
        while True:
            run = self.history.get_run(run_id)
            if run is None or run["status"] != RUNNING:
                return run
            self.history.reclaim_cut_off_runs()
            time.sleep(DUPLICATE_WAIT_INTERVAL)

    def join_background(self, timeout: float | None = None) -> None:
        """Wait for background runs (tests and a graceful shutdown)."""
        for thread in list(self._background):
            thread.join(timeout)
        self._background = [t for t in self._background if t.is_alive()]
