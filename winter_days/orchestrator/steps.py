"""The five real steps of a run, over the platform's ports, and `make_pipeline`.

export_sales -> compile -> invoke -> poll -> ml. Steps hand on what the next one needs
(the compilation, the invocation) through `RunContext.handed_on`; the export's watermark is
kept in the run history and advances only with the export step's recorded success.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from winter_days.config import describe
from winter_days.elt.backend import EltBackend, WaitingBackend
from winter_days.orchestrator.pipeline import RunContext, RunPipeline, RunStep, StepFailed
from winter_days.platform import Platform

SALES_WATERMARK = "export_sales/winter_sales"
STEP_NAMES = ("export_sales", "compile", "invoke", "poll", "ml")
# Failing actions named in a failed poll's message, at most.
NAMED_FAILURES = 5
CANCEL_GRACE_SECONDS = 60.0


def export_step(context: RunContext) -> dict[str, Any]:
    """Sales documents changed since the watermark (every one with `full_export`) -> one bronze Parquet file."""
    from winter_days.export import export_sales

    watermark = None if context.parameters.full_export else context.history.watermark(SALES_WATERMARK)
    store = context.platform.document_store()
    try:
        result = export_sales(
            store, context.platform.lake, watermark, context.run_id, pseudonyms=context.platform.pseudonymiser
        )
    finally:
        store.close()
    if result.new_watermark is not None and result.new_watermark != watermark:
        context.watermarks[SALES_WATERMARK] = result.new_watermark
    return {
        "rows": result.rows,
        "key": result.key,
        "unparseable_timestamps": result.unparseable_timestamps,
        "invalid_rows": result.invalid_rows,
        "watermark_from": watermark,
        "watermark_to": result.new_watermark,
        "full_export": context.parameters.full_export,
    }


def compile_step(backend_factory: Callable[[], EltBackend]) -> Callable[[RunContext], dict[str, Any]]:
    """Compile the Dataform repository; compilation errors fail the step, each named."""

    def compile_repository(context: RunContext) -> dict[str, Any]:
        backend = backend_factory()
        compilation = backend.compile()
        if compilation.compilation_errors:
            listed = "; ".join(
                f"{e.path or '(project)'}: {e.message}" for e in compilation.compilation_errors[:NAMED_FAILURES]
            )
            more = len(compilation.compilation_errors) - NAMED_FAILURES
            raise StepFailed(
                f"{len(compilation.compilation_errors)} compilation error(s): {listed}"
                + (f" (and {more} more)" if more > 0 else "")
            )
        context.handed_on["elt_backend"] = backend
        context.handed_on["compilation"] = compilation
        graph = compilation.graph or {}
        return {
            "compilation": compilation.name,
            "actions": sum(len(graph.get(kind) or ()) for kind in ("tables", "operations", "assertions")),
        }

    return compile_repository


def invoke_step(context: RunContext) -> dict[str, Any]:
    """Start a run of the compiled graph (full refresh when the trigger asks)."""
    from winter_days.elt.backend import InvocationConfig

    backend = context.handed_on["elt_backend"]
    config = InvocationConfig(fully_refresh_incremental_tables_enabled=context.parameters.full_refresh)
    invocation = backend.invoke(context.handed_on["compilation"], config)
    context.handed_on["invocation"] = invocation
    return {"invocation": invocation.name, "full_refresh": context.parameters.full_refresh}


def poll_step(context: RunContext) -> dict[str, Any]:
    """Wait for the invocation to finish; a timeout cancels it, a failure names the actions."""
    from winter_days.elt.backend import ActionState, InvocationState

    backend = context.handed_on["elt_backend"]
    invocation = context.handed_on["invocation"]
    graph = getattr(context.handed_on.get("compilation"), "graph", None) or {}
    timeout = context.platform.settings.orchestrator.poll_timeout_seconds
    interval = context.platform.poll_interval_seconds
    # The poll waits at most what is left of the run's deadline.
    remaining = context.remaining_seconds()
    bounded_by_run = remaining is not None and remaining < timeout
    limit = max(0.0, remaining or 0.0) if bounded_by_run else timeout
    deadline = time.monotonic() + limit
    polls = 0
    while True:
        status = backend.get(invocation)
        polls += 1
        context.lineage.elt_actions(graph, status)
        if status.state.finished:
            break
        if time.monotonic() >= deadline:
            backend.cancel(invocation)
            stopped = _wait_until_stopped(backend, invocation, interval)
            context.lineage.elt_actions(graph, backend.get(invocation))
            run_limit = context.platform.settings.orchestrator.run_deadline_seconds
            within = (
                f"the run's remaining {limit:g} s of its {run_limit:g} s deadline "
                f"({describe('orchestrator.run_deadline_seconds')})"
                if bounded_by_run
                else f"{timeout:g} s ({describe('orchestrator.poll_timeout_seconds')})"
            )
            raise StepFailed(
                f"invocation {invocation.name} did not finish within {within}; it was cancelled"
                + ("" if stopped else f" (still stopping after {CANCEL_GRACE_SECONDS:g} s)")
            )
        _pause(backend, invocation, min(interval, max(0.0, deadline - time.monotonic())))
    by_state: dict[str, int] = {}
    for action in status.actions:
        by_state[action.state.value] = by_state.get(action.state.value, 0) + 1
    if status.state is not InvocationState.SUCCEEDED:
        failed = [a for a in status.actions if a.state is ActionState.FAILED]
        named = "; ".join(f"{a.target}: {a.failure_reason or 'failed'}" for a in failed[:NAMED_FAILURES])
        more = len(failed) - NAMED_FAILURES
        raise StepFailed(
            f"invocation {invocation.name} ended {status.state.value}"
            + (f"; failing action(s): {named}" if named else "")
            + (f" (and {more} more)" if more > 0 else "")
        )
    counts: dict[str, Any] = {"polls": polls, **{f"actions_{k.lower()}": v for k, v in sorted(by_state.items())}}
    counts.update(_quarantine_counts(status.actions))
    return counts


def _pause(backend: EltBackend, invocation: Any, seconds: float) -> None:
    """Wait until the next poll; a backend that can tell when its run ends (the local one) ends the wait early."""
    if isinstance(backend, WaitingBackend):
        backend.wait(invocation, timeout=seconds)
    else:
        time.sleep(seconds)


def _wait_until_stopped(backend: Any, invocation: Any, interval: float) -> bool:
    """After a cancel, wait (bounded) for the invocation to stop, so the next run starts clean."""
    deadline = time.monotonic() + CANCEL_GRACE_SECONDS
    while time.monotonic() < deadline:
        if backend.get(invocation).state.finished:
            return True
        time.sleep(min(interval, 1.0))
    return False


def _quarantine_counts(actions: Any) -> dict[str, int]:
    """Rows in each flow's quarantine table (rebuilt from all of bronze by every run)."""
    counts: dict[str, int] = {}
    for action in actions:
        name = action.target.name
        if name.endswith("_quarantine") and action.rows is not None:
            counts[f"rows_quarantined_{name[: -len('_quarantine')].removeprefix('stg_')}"] = action.rows
    return counts


def ml_step(context: RunContext) -> dict[str, Any]:
    """Score with the churn champion; train, gate and register first when the history
    allows and training is due (the run succeeds, saying so, while it does not)."""
    if not context.parameters.ml:
        return {"skipped": "not requested for this run (ml=false)"}
    summary = context.platform.ml_runner.run(as_of=context.parameters.as_of, mode="auto")
    counts: dict[str, Any] = {
        "ml_run_id": summary.get("run_id"),
        "runner": summary.get("runner"),
        "as_of": summary.get("as_of"),
        "training": summary.get("training"),
        "scoring": summary.get("scoring"),
        "model_version": summary.get("version"),
        "champion": summary.get("champion"),
        "promoted": summary.get("promoted"),
        "gate_reason": summary.get("reason"),
        "predictions_written": summary.get("predictions_written"),
    }
    for extra in ("vertex_job_id", "console_url"):
        if summary.get(extra):
            counts[extra] = summary[extra]
    comparison = summary.get("comparison") or {}
    if comparison:
        counts["auc_difference"] = comparison["difference"]
        counts["auc_difference_interval"] = comparison["interval"]
    for model in ("candidate", "baseline"):
        for metric, value in ((summary.get("metrics") or {}).get(model) or {}).items():
            if isinstance(value, (int, float)):
                counts[f"{model}_{metric}"] = value
    return counts


def guarded(action: Callable[[RunContext], Any]) -> Callable[[RunContext], Any]:
    """A failure the warehouse can explain (DuckDB's raw lock error: who holds the file)
    fails the step with that explanation."""

    def run(context: RunContext) -> Any:
        try:
            return action(context)
        except StepFailed:
            raise
        except Exception as err:
            explained = context.platform.warehouse.explain(err)
            if explained is None:
                raise
            raise StepFailed(explained) from err

    return run


def make_pipeline(platform: Platform, backend_factory: Callable[[], EltBackend] | None = None) -> RunPipeline:
    """The real run pipeline over the platform's ports; the ML step prunes old ML run artefacts after it succeeds."""
    from winter_days.orchestrator.retention import pruning_ml_artefacts
    from winter_days.orchestrator.step_lineage import STEP_DATASETS

    actions = (
        export_step,
        compile_step(backend_factory or platform.elt_backend),
        invoke_step,
        poll_step,
        pruning_ml_artefacts(ml_step),
    )
    return RunPipeline(
        tuple(
            RunStep(name, guarded(action), STEP_DATASETS.get(name))
            for name, action in zip(STEP_NAMES, actions, strict=False)
        )
    )
