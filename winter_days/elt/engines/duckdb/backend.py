"""The local ELT backend: our SQLX compiler + the DuckDB executor behind `EltBackend`.

`invoke` returns at once and runs the graph in a background thread, so that `get` (poll)
and `cancel` behave as they do against the Dataform API.

A compilation is reused while the project's files and vars are unchanged (compared by
content), so a process that runs the pipeline every simulated day compiles once.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from winter_days.elt.backend import (
    ActionState,
    CompilationErrorEntry,
    CompilationResult,
    InvocationConfig,
    InvocationState,
    InvocationStatus,
    InvocationTiming,
    Target,
    WorkflowInvocation,
    WorkflowInvocationAction,
)
from winter_days.elt.engines.duckdb.executor import DuckDBExecutor, RunResult, rebuilds_everything
from winter_days.elt.engines.duckdb.graph import GraphError, build_graph, select

_ids = itertools.count(1)
# Folders of a project the compiler never reads.
_NOT_SOURCES = {"node_modules", ".git", ".venv"}
# (project folder, vars) -> (fingerprint of its files, compiled graph as JSON text).
_compiled_cache: dict[tuple[str, str], tuple[str, str]] = {}
_cache_lock = threading.Lock()


class InvocationError(ValueError):
    """An invocation that cannot start (compilation with errors, unknown target)."""


@dataclass
class _Tracked:
    invocation: WorkflowInvocation
    actions: list[WorkflowInvocationAction]
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    result: RunResult | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def project_fingerprint(project_dir: Path) -> str:
    """A digest of every source file of the project (path and content)."""
    digest = hashlib.sha256()
    root = Path(project_dir)
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if _NOT_SOURCES.intersection(relative.parts) or not path.is_file():
            continue
        digest.update(relative.as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


class DuckDBBackend:
    """EltBackend over a local Dataform project, lake folder and DuckDB warehouse file."""

    def __init__(
        self,
        project_dir: Path,
        warehouse_path: Path,
        lake_root: Path,
        vars: Mapping[str, str] | None = None,
        max_workers: int = 1,
        compiled: Mapping[str, Any] | None = None,
        memory_limit: str = "",
    ):
        self.project_dir = Path(project_dir)
        self.vars = dict(vars or {})
        self.executor = DuckDBExecutor(warehouse_path, lake_root, max_workers=max_workers, memory_limit=memory_limit)
        self._precompiled = compiled
        self._invocations: dict[str, _Tracked] = {}

    def compile(self) -> CompilationResult:
        """Compile the project (or take the graph given at construction)."""
        name = f"compilationResults/local-{next(_ids)}"
        now = datetime.now(UTC)
        config = {"vars": dict(self.vars)}
        if self._precompiled is not None:
            graph = self._precompiled
        else:
            from winter_days.elt.sqlx import CompilationError as SqlxCompilationError
            from winter_days.elt.sqlx import compile_project

            key = (str(self.project_dir.resolve()), json.dumps(self.vars, sort_keys=True))
            fingerprint = project_fingerprint(self.project_dir)
            with _cache_lock:
                cached = _compiled_cache.get(key)
            if cached is not None and cached[0] == fingerprint:
                graph = json.loads(cached[1])
            else:
                try:
                    graph = compile_project(self.project_dir, self.vars or None)
                except SqlxCompilationError as err:
                    errors = tuple(
                        CompilationErrorEntry(message=i.message, path=f"{i.file}:{i.line}") for i in err.issues
                    )
                    return CompilationResult(name, now, compilation_errors=errors, code_compilation_config=config)
                with _cache_lock:
                    _compiled_cache[key] = (fingerprint, json.dumps(graph))
        errors = tuple(
            CompilationErrorEntry(
                message=str(e.get("message", "")),
                path=str(e.get("fileName", "")),
                action_target=Target.from_api(e["actionTarget"]) if e.get("actionTarget") else None,
            )
            for e in (graph.get("graphErrors") or {}).get("compilationErrors", []) or []
        )
        return CompilationResult(
            name,
            now,
            dataform_core_version=str(graph.get("dataformCoreVersion", "")),
            compilation_errors=errors,
            graph=graph,
            code_compilation_config=config,
        )

    def invoke(self, compilation: CompilationResult, config: InvocationConfig) -> WorkflowInvocation:
        """Start a run in a background thread; raise InvocationError if it cannot start, and
        WarehouseUnreadable if the published warehouse is damaged and the run would not rebuild it."""
        if compilation.compilation_errors:
            raise InvocationError(
                "compilation has errors: " + "; ".join(f"{e.path}: {e.message}" for e in compilation.compilation_errors)
            )
        try:
            graph = build_graph(compilation.graph)
            selected = select(graph, config)
        except GraphError as err:
            raise InvocationError(str(err)) from None
        self.executor.check_published(rebuilds_everything(graph, selected, config))
        invocation = WorkflowInvocation(
            name=f"workflowInvocations/local-{next(_ids)}",
            compilation_result=compilation.name,
            invocation_config=config,
            state=InvocationState.RUNNING,
            invocation_timing=InvocationTiming(datetime.now(UTC)),
        )
        tracked = _Tracked(
            invocation,
            [
                WorkflowInvocationAction(target=t, kind=graph.actions[t].kind, state=ActionState.PENDING)
                for t in selected
            ],
        )
        self._invocations[invocation.name] = tracked

        def on_update(actions: list[WorkflowInvocationAction]) -> None:
            with tracked.lock:
                tracked.actions = list(actions)

        def run() -> None:
            try:
                result = self.executor.run(graph, config, cancel=tracked.cancel, on_update=on_update)
            except Exception as err:
                failed = InvocationTiming(invocation.invocation_timing.start_time, datetime.now(UTC))
                with tracked.lock:
                    tracked.actions = [
                        a
                        if a.state.finished
                        else replace(a, state=ActionState.FAILED, failure_reason=f"run failed: {err}")
                        for a in tracked.actions
                    ]
                    tracked.invocation = replace(
                        tracked.invocation, state=InvocationState.FAILED, invocation_timing=failed
                    )
                return
            with tracked.lock:
                tracked.result = result
                tracked.actions = list(result.actions)
                tracked.invocation = replace(
                    tracked.invocation,
                    state=result.state,
                    invocation_timing=InvocationTiming(invocation.invocation_timing.start_time, result.timing.end_time),
                )

        tracked.thread = threading.Thread(target=run, name=invocation.name, daemon=True)
        tracked.thread.start()
        return invocation

    def get(self, invocation: WorkflowInvocation | str) -> InvocationStatus:
        """Current state of the invocation and its actions."""
        tracked = self._tracked(invocation)
        with tracked.lock:
            return InvocationStatus(tracked.invocation, tuple(tracked.actions))

    def cancel(self, invocation: WorkflowInvocation | str) -> None:
        """Stop the run: the running statement is interrupted, nothing else starts, nothing publishes."""
        tracked = self._tracked(invocation)
        with tracked.lock:
            if tracked.invocation.state.finished:
                return
            tracked.invocation = replace(tracked.invocation, state=InvocationState.CANCELING)
        tracked.cancel.set()

    def wait(self, invocation: WorkflowInvocation | str, timeout: float | None = None) -> InvocationStatus:
        """Block until the invocation finishes (or timeout), then return its status."""
        tracked = self._tracked(invocation)
        if tracked.thread is not None:
            tracked.thread.join(timeout)
        return self.get(invocation)

    def result(self, invocation: WorkflowInvocation | str) -> RunResult | None:
        """The finished run (whether it published), or None while running."""
        return self._tracked(invocation).result

    def published(self, invocation: WorkflowInvocation | str) -> bool:
        result = self.result(invocation)
        return result is not None and result.published

    def _tracked(self, invocation: WorkflowInvocation | str) -> _Tracked:
        name = invocation if isinstance(invocation, str) else invocation.name
        try:
            return self._invocations[name]
        except KeyError:
            raise InvocationError(f"unknown invocation {name}") from None
