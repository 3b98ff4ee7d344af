"""What `winter-days --profile gcp elt compile|run` do, on the Dataform API.

Functions over an EltBackend (the Dataform API backend on gcp), so the command line only
parses options and picks the exit code: `compile_repository` prints the action counts or
each compilation error with its file (and line, where Dataform reports one);
`run_repository` compiles, starts the selected actions, prints each action as it starts
and ends until the invocation reaches a terminal state, and cancels the invocation on
Ctrl-C (then waits for the cancellation to land, so the command never leaves a graph
running behind it).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import click

from winter_days.elt.backend import (
    ActionState,
    CompilationResult,
    EltBackend,
    InvocationConfig,
    InvocationState,
    InvocationStatus,
    Target,
    WorkflowInvocationAction,
)
from winter_days.elt.engines.dataform_api.wire import action_kinds

Echo = Callable[..., None]
DEFAULT_POLL_SECONDS = 5.0


class TargetNotFound(ValueError):
    """An --actions name that no action of the compiled graph has, or that several have."""


def graph_targets(compilation: CompilationResult) -> list[Target]:
    """Every runnable action's target (tables, operations, assertions) of a compiled graph."""
    return [
        Target.from_api(entry["target"])
        for section in ("tables", "operations", "assertions")
        for entry in compilation.graph.get(section) or ()
    ]


def find_targets(compilation: CompilationResult, names: Iterable[str]) -> tuple[Target, ...]:
    """Targets named `name`, `dataset.name` or `project.dataset.name`; TargetNotFound naming the choices."""
    targets = graph_targets(compilation)
    found = []
    for name in names:
        parts = tuple(name.split("."))
        matches = [t for t in targets if (t.database, t.schema, t.name)[-len(parts) :] == parts]
        if len(matches) != 1:
            known = ", ".join(sorted(f"{t.schema}.{t.name}" for t in targets))
            problem = "matches no action" if not matches else f"matches {len(matches)} actions; name the dataset"
            raise TargetNotFound(f"--actions {name}: {problem} (actions: {known})")
        found.append(matches[0])
    return tuple(found)


def compile_repository(backend: EltBackend, echo: Echo = click.echo) -> CompilationResult:
    """Compile; print the actions by kind, or every compilation error. The caller exits 1 on errors."""
    compilation = backend.compile()
    if compilation.compilation_errors:
        echo(f"{compilation.name}: {len(compilation.compilation_errors)} compilation error(s)", err=True)
        for error in compilation.compilation_errors:
            where = error.path or "(project)"
            if error.action_target is not None:
                where += f" [{error.action_target}]"
            echo(f"  {where}: {error.message}", err=True)
        return compilation
    kinds = Counter(action_kinds(compilation.graph).values())
    echo(f"Compiled {compilation.name}: {sum(kinds.values())} actions")
    config = compilation.code_compilation_config
    if config.get("defaultDatabase"):
        suffix = f", dataset suffix _{config['schemaSuffix']}" if config.get("schemaSuffix") else ""
        echo(f"  project {config['defaultDatabase']}, location {config.get('defaultLocation') or 'US'}{suffix}")
    for kind, count in sorted(kinds.items()):
        echo(f"  {kind}: {count}")
    return compilation


def run_repository(
    backend: EltBackend,
    *,
    tags: tuple[str, ...] = (),
    actions: tuple[str, ...] = (),
    full_refresh: bool = False,
    echo: Echo = click.echo,
    poll_seconds: float = DEFAULT_POLL_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> InvocationStatus | None:
    """Compile and run the selected actions (all without tags/actions, with their dependencies otherwise).

    None when the compilation has errors (printed); else the invocation's final status.
    The caller exits 0 only when the status is SUCCEEDED.
    """
    compilation = compile_repository(backend, echo)
    if compilation.compilation_errors:
        return None
    targets = find_targets(compilation, actions)
    config = InvocationConfig(
        included_targets=targets,
        included_tags=tuple(tags),
        transitive_dependencies_included=bool(targets or tags),
        fully_refresh_incremental_tables_enabled=full_refresh,
    )
    invocation = backend.invoke(compilation, config)
    echo(f"Started {invocation.name}" + (" (full refresh)" if full_refresh else ""))
    try:
        status = follow(backend, invocation, echo, poll_seconds, sleep)
    except KeyboardInterrupt:
        echo(f"Cancelling {invocation.name}: no further action starts", err=True)
        backend.cancel(invocation)
        status = follow(backend, invocation, echo, poll_seconds, sleep)
    counts = Counter(a.state.value for a in status.actions)
    summary = ", ".join(f"{count} {state.lower()}" for state, count in sorted(counts.items()))
    echo(
        f"{status.state.value}: {invocation.name} ({summary or 'no actions'})",
        err=status.state is not InvocationState.SUCCEEDED,
    )
    return status


def follow(
    backend: EltBackend, invocation: Any, echo: Echo, poll_seconds: float, sleep: Callable[[float], None]
) -> InvocationStatus:
    """Poll until the invocation ends, printing each action whose state changed."""
    seen: dict[Target, ActionState] = {}
    while True:
        status = backend.get(invocation)
        for action in status.actions:
            if seen.get(action.target) is action.state or action.state is ActionState.PENDING:
                continue
            seen[action.target] = action.state
            echo(progress_line(action))
        if status.state.finished:
            return status
        sleep(poll_seconds)


def progress_line(action: WorkflowInvocationAction) -> str:
    """`SUCCEEDED table  dataset.name  12.3s`, and the failure reason under a failed action."""
    line = f"{action.state.value:<9} {action.kind:<11} {action.target.schema}.{action.target.name}"
    duration = action.invocation_timing.duration_seconds
    if duration is not None:
        line += f"  {duration:.1f}s"
    if action.failure_reason:
        line += f"\n    {action.failure_reason}"
    return line
