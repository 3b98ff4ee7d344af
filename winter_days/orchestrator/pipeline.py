"""A run pipeline: named steps executed in order, each recorded in the run history.

Steps are injected (see `steps.make_pipeline`), so the service, the command line and the
tests drive the same mechanics over whichever steps they are given.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable, Mapping, Protocol

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

    def as_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat() if self.as_of else None, "full_refresh": self.full_refresh, "ml": self.ml}


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

    def logger(self, step: str) -> logging.LoggerAdapter:
        return logging.LoggerAdapter(log, {"run_id": self.run_id, "step": step})


StepAction = Callable[[RunContext], Mapping[str, Any] | None]


@dataclass(frozen=True)
class RunStep:
    """One named step; its action returns counts for the run summary."""

    name: str
    action: StepAction


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

    def step_finished(self, name: str, status: str, seconds: float, counts: Mapping[str, Any], error: str | None) -> None: ...


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

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def execute_run(
    pipeline: RunPipeline, context: RunContext, progress: StepProgress | None = None
) -> dict[str, Any]:
    """Run every step in order, stop at the first failure, and return the run as recorded."""
    history, run_id = context.history, context.run_id
    failed_step: str | None = None
    error: str | None = None
    log.info("run started", extra={"run_id": run_id, "step": None})
    with _Heartbeat(history, run_id, HEARTBEAT_SECONDS):
        for position, step in enumerate(pipeline.steps):
            step_log = context.logger(step.name)
            history.step_started(run_id, position)
            if progress:
                progress.step_started(step.name)
            step_log.info("step started")
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
                raise
            except Exception as err:  # every failure is recorded against its step, never lost
                seconds = time.monotonic() - began
                error = describe_failure(err)
                failed_step = step.name
                step_log.error("step failed: %s", error, exc_info=not isinstance(err, StepFailed))
                history.step_finished(run_id, position, FAILED, seconds, {}, error)
                if progress:
                    progress.step_finished(step.name, FAILED, seconds, {}, error)
                break
            seconds = time.monotonic() - began
            history.step_finished(run_id, position, SUCCEEDED, seconds, counts, watermarks=context.watermarks)
            step_log.info("step succeeded in %.3f s", seconds, extra={"counts": counts})
            if progress:
                progress.step_finished(step.name, SUCCEEDED, seconds, counts, None)
    history.finish_run(run_id, failed_step, f"step {failed_step} failed: {error}" if failed_step else None)
    outcome = FAILED if failed_step else SUCCEEDED
    log.info("run %s", outcome, extra={"run_id": run_id, "step": failed_step})
    run = history.get_run(run_id)
    assert run is not None
    return run
