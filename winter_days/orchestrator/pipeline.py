"""A run pipeline: named steps executed in order, each recorded in the run history.

Steps are injected (see `steps.make_pipeline`), so the service, the command line and the
tests drive the same mechanics over whichever steps they are given.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from winter_days.config import describe
from winter_days.lineage import LineageDataset, RunLineage
from winter_days.platform import Platform
from winter_days.runs import FAILED, SUCCEEDED, RunStore

log = logging.getLogger("winter_days.orchestrator")

HEARTBEAT_SECONDS = 15.0


class StepFailed(Exception):
    """A step could not do its work; the message tells the user why and what to do."""


@dataclass(frozen=True)
class RunParameters:
    """What a trigger may ask of a run."""

    as_of: date | None = None
    full_refresh: bool = False
    ml: bool = True
    # Export every sales document, not only those changed since the watermark (after a
    # pseudonym key rotation, to carry every customer's new pseudonym at once).
    full_export: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "full_refresh": self.full_refresh,
            "ml": self.ml,
            "full_export": self.full_export,
        }


@dataclass
class RunContext:
    """What a step sees: the run, the platform, and what earlier steps handed on."""

    run_id: str
    platform: Platform
    parameters: RunParameters
    history: RunStore
    handed_on: dict[str, Any] = field(default_factory=dict)
    # Watermarks a step wants advanced; committed with the step's success, never before.
    watermarks: dict[str, int] = field(default_factory=dict)
    # time.monotonic() past which no further step starts (orchestrator.run_deadline_seconds).
    deadline: float | None = None
    # Set when this process stops: the run was recorded cut off, so no further step starts.
    cut_off: threading.Event = field(default_factory=threading.Event)
    lineage: RunLineage = field(default_factory=RunLineage.disabled)

    def logger(self, step: str) -> logging.LoggerAdapter:
        return logging.LoggerAdapter(log, {"run_id": self.run_id, "step": step})

    def remaining_seconds(self) -> float | None:
        """Seconds left before the run's deadline (None: no deadline)."""
        return None if self.deadline is None else self.deadline - time.monotonic()


StepAction = Callable[[RunContext], Mapping[str, Any] | None]
# A step's lineage: (inputs, outputs) from the context and the counts it returned.
StepDatasets = Callable[[RunContext, Mapping[str, Any]], tuple[list[LineageDataset], list[LineageDataset]]]


@dataclass(frozen=True)
class RunStep:
    """One named step; its action returns counts for the run summary, `datasets` names what it read and wrote."""

    name: str
    action: StepAction
    datasets: StepDatasets | None = None


@dataclass(frozen=True)
class RunPipeline:
    """The ordered steps of one run."""

    steps: tuple[RunStep, ...]

    def __post_init__(self) -> None:
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise ValueError(f"step names must be unique, got {names}")

    @property
    def step_names(self) -> list[str]:
        return [step.name for step in self.steps]


class StepProgress(Protocol):
    """Told as steps start and end (the command line's display)."""

    def step_started(self, name: str) -> None: ...

    def step_finished(
        self, name: str, status: str, seconds: float, counts: Mapping[str, Any], error: str | None
    ) -> None: ...


def describe_failure(err: BaseException) -> str:
    """One line for the user: a StepFailed's own words, else the error's type and text."""
    if isinstance(err, StepFailed):
        return str(err)
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class _Heartbeat:
    """Keeps the run's heartbeat fresh while a long step (poll, ml) works."""

    def __init__(self, history: RunStore, run_id: str, every: float):
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(history, run_id, every), daemon=True)

    def _beat(self, history: RunStore, run_id: str, every: float) -> None:
        while not self._stop.wait(every):
            try:
                history.heartbeat(run_id)
            except Exception:  # a missed beat only delays crash detection on another host
                log.warning("heartbeat for run %s not recorded", run_id, extra={"run_id": run_id})
        history.close()

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def deadline_message(context: RunContext, step: str) -> str:
    limit = context.platform.settings.orchestrator.run_deadline_seconds
    return (
        f"the run passed its deadline of {limit:g} s ({describe('orchestrator.run_deadline_seconds')}) before step "
        f"{step} could start; it stopped there. Raise the setting, or shorten the slow steps (their durations are "
        "in the run's record)"
    )


def _step_datasets(step: RunStep, context: RunContext, counts: Mapping[str, Any]) -> tuple[list, list]:
    if step.datasets is None:
        return [], []
    try:
        return step.datasets(context, counts)
    except Exception as err:  # lineage observes; it never fails a step
        log.warning(
            "datasets of step %s not named for lineage: %s: %s",
            step.name,
            type(err).__name__,
            err,
            extra={"run_id": context.run_id, "step": step.name},
        )
        return [], []


def log_run_end(run: Mapping[str, Any]) -> None:
    """The one line per finished run that alerts count: ERROR event=run_failed (with the step) or
    INFO event=run_succeeded (deploy/terraform/monitoring.tf filters on exactly these)."""
    run_id, status = run["run_id"], run["status"]
    if status == SUCCEEDED:
        log.info("run succeeded", extra={"run_id": run_id, "step": None, "event": "run_succeeded", "status": status})
    else:
        log.error(
            "run failed: %s",
            run.get("error") or status,
            extra={"run_id": run_id, "step": run.get("failed_step"), "event": "run_failed", "status": status},
        )


def execute_run(pipeline: RunPipeline, context: RunContext, progress: StepProgress | None = None) -> dict[str, Any]:
    """Run every step in order, stop at the first failure (or at the run's deadline, or when
    this process stops), and return the run as recorded."""
    history, run_id, lineage = context.history, context.run_id, context.lineage
    failed_step: str | None = None
    error: str | None = None
    log.info("run started", extra={"run_id": run_id, "step": None})
    lineage.run_started()
    with _Heartbeat(history, run_id, HEARTBEAT_SECONDS):
        for position, step in enumerate(pipeline.steps):
            if context.cut_off.is_set():
                break
            step_log = context.logger(step.name)
            history.step_started(run_id, position)
            remaining = context.remaining_seconds()
            if remaining is not None and remaining <= 0:
                failed_step, error = step.name, deadline_message(context, step.name)
                step_log.error("step not started: %s", error)
                history.step_finished(run_id, position, FAILED, 0.0, {}, error)
                if progress:
                    progress.step_finished(step.name, FAILED, 0.0, {}, error)
                break
            if progress:
                progress.step_started(step.name)
            step_log.info("step started")
            lineage.step_started(step.name)
            context.watermarks = {}
            began = time.monotonic()
            try:
                counts = dict(step.action(context) or {})
            except (KeyboardInterrupt, SystemExit) as err:
                # Ctrl-C on `winter-days run` or a worker told to exit: record it, then stop.
                seconds = time.monotonic() - began
                reason = f"interrupted ({type(err).__name__})"
                history.step_finished(run_id, position, FAILED, seconds, {}, reason)
                history.finish_run(run_id, step.name, f"step {step.name} failed: {reason}")
                lineage.step_finished(step.name, False, reason)
                lineage.run_finished(FAILED, reason)
                raise
            except Exception as err:  # every failure is recorded against its step, never lost
                seconds = time.monotonic() - began
                error = describe_failure(err)
                failed_step = step.name
                step_log.error("step failed: %s", error, exc_info=not isinstance(err, StepFailed))
                history.step_finished(run_id, position, FAILED, seconds, {}, error)
                lineage.step_finished(step.name, False, error)
                if progress:
                    progress.step_finished(step.name, FAILED, seconds, {}, error)
                break
            seconds = time.monotonic() - began
            history.step_finished(run_id, position, SUCCEEDED, seconds, counts, watermarks=context.watermarks)
            step_log.info("step succeeded in %.3f s", seconds, extra={"counts": counts})
            lineage.step_finished(step.name, True, None, *_step_datasets(step, context, counts))
            if progress:
                progress.step_finished(step.name, SUCCEEDED, seconds, counts, None)
    history.finish_run(run_id, failed_step, f"step {failed_step} failed: {error}" if failed_step else None)
    run = history.get_run(run_id)
    assert run is not None
    if not context.cut_off.is_set():
        # A cut-off run was logged by whoever cut it off.
        log_run_end(run)
        lineage.run_finished(run["status"], run.get("error"))
    return run
