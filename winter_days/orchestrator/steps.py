"""The five real steps of a run, and `make_pipeline`, which picks their adapters by profile.

export_sales -> compile -> invoke -> poll -> ml. Steps hand on what the next one needs
(the compilation, the invocation) through `RunContext.handed_on`; the export's watermark is
kept in the run history and advances only with the export step's recorded success.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from winter_days.config import Settings
from winter_days.orchestrator.options import OrchestratorOptions
from winter_days.orchestrator.pipeline import RunContext, RunPipeline, RunStep, StepFailed
from winter_days.orchestrator.warehouse import explain_warehouse_lock

SALES_WATERMARK = "export_sales/winter_sales"
STEP_NAMES = ("export_sales", "compile", "invoke", "poll", "ml")
# Failing actions named in a failed poll's message, at most.
NAMED_FAILURES = 5
CANCEL_GRACE_SECONDS = 60.0


def export_step(context: RunContext) -> dict[str, Any]:
    """Sales documents changed since the watermark -> one bronze Parquet file."""
    from winter_days.export import export_sales
    from winter_days.pseudonyms import pseudonymiser_for
    from winter_days.stores import open_document_store, open_lake

    watermark = context.history.watermark(SALES_WATERMARK)
    pseudonyms = pseudonymiser_for(context.settings)
    store = open_document_store(context.settings)
    try:
        result = export_sales(store, open_lake(context.settings), watermark, context.run_id, pseudonyms=pseudonyms)
    finally:
        close = getattr(store, "close", None)
        if close:
            close()
    if result.new_watermark is not None and result.new_watermark != watermark:
        context.watermarks[SALES_WATERMARK] = result.new_watermark
    return {
        "rows": result.rows,
        "key": result.key,
        "unparseable_timestamps": result.unparseable_timestamps,
        "invalid_rows": result.invalid_rows,
        "watermark_from": watermark,
        "watermark_to": result.new_watermark,
    }


def compile_step(backend_factory: Callable[[Settings], Any]) -> Callable[[RunContext], dict[str, Any]]:
    """Compile the Dataform repository; compilation errors fail the step, each named."""

    def compile_repository(context: RunContext) -> dict[str, Any]:
        backend = backend_factory(context.settings)
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
    options = context.options
    deadline = time.monotonic() + options.poll_timeout_seconds
    polls = 0
    while True:
        status = backend.get(invocation)
        polls += 1
        if status.state.finished:
            break
        if time.monotonic() >= deadline:
            backend.cancel(invocation)
            stopped = _wait_until_stopped(backend, invocation, options.poll_interval_seconds)
            raise StepFailed(
                f"invocation {invocation.name} did not finish within {options.poll_timeout_seconds:g} s "
                "(WINTER_DAYS_POLL_TIMEOUT_SECONDS); it was cancelled"
                + ("" if stopped else f" (still stopping after {CANCEL_GRACE_SECONDS:g} s)")
            )
        _pause(backend, invocation, min(options.poll_interval_seconds, max(0.0, deadline - time.monotonic())))
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


def _pause(backend: Any, invocation: Any, seconds: float) -> None:
    """Wait until the next poll; a backend that can tell when its run ends (the local one) ends the wait early."""
    wait = getattr(backend, "wait", None)
    if wait is None:
        time.sleep(seconds)
    else:
        wait(invocation, timeout=seconds)


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
    """Features, training, gate, registry and predictions: in-process locally, on Vertex AI on gcp."""
    if not context.parameters.ml:
        return {"skipped": "not requested for this run (ml=false)"}
    if context.settings.profile == "gcp":
        from winter_days.ml.vertex import submit_churn_pipeline
        from winter_days.stores import open_lake

        as_of = context.parameters.as_of
        submitted = submit_churn_pipeline(
            context.settings, open_lake(context.settings), context.run_id, {"as_of": as_of.isoformat() if as_of else ""}
        )
        return {"vertex_job_id": submitted.job_id, "vertex_resource": submitted.resource_name, "template": submitted.template_uri}
    from winter_days.ml import run_churn_pipeline

    summary = run_churn_pipeline(context.settings, as_of=context.parameters.as_of, runner="in-process")
    counts: dict[str, Any] = {
        "ml_run_id": summary.get("run_id"),
        "as_of": summary.get("as_of"),
        "model_version": summary.get("version"),
        "champion": summary.get("champion"),
        "promoted": summary.get("promoted"),
        "gate_reason": summary.get("reason"),
        "predictions_written": summary.get("predictions_written"),
    }
    for model in ("candidate", "baseline"):
        for metric, value in ((summary.get("metrics") or {}).get(model) or {}).items():
            if isinstance(value, (int, float)):
                counts[f"{model}_{metric}"] = value
    return counts


def make_elt_backend(settings: Settings) -> Any:
    """The ELT backend of the settings' profile."""
    if settings.profile == "gcp":
        from winter_days.elt.engines.dataform_api.backend import DataformApiBackend

        return DataformApiBackend.from_settings(settings)
    from winter_days.elt.engines.duckdb.backend import DuckDBBackend

    return DuckDBBackend(
        settings.dataform_dir,
        settings.warehouse_path,
        settings.lake_root,
        max_workers=settings.elt_workers,
        memory_limit=settings.elt_memory_limit,
    )


def guarded(action: Callable[[RunContext], Any], settings: Settings) -> Callable[[RunContext], Any]:
    """Turn DuckDB's raw lock error into a message naming the holder and what to do."""

    def run(context: RunContext) -> Any:
        try:
            return action(context)
        except Exception as err:
            explained = explain_warehouse_lock(err, settings.warehouse_path)
            if explained is None:
                raise
            raise StepFailed(explained) from err

    return run


def make_pipeline(
    settings: Settings,
    options: OrchestratorOptions,
    backend_factory: Callable[[Settings], Any] | None = None,
) -> RunPipeline:
    """The real run pipeline for the settings' profile."""
    backend_factory = backend_factory or make_elt_backend
    actions = (export_step, compile_step(backend_factory), invoke_step, poll_step, ml_step)
    return RunPipeline(tuple(RunStep(name, guarded(action, settings)) for name, action in zip(STEP_NAMES, actions)))
