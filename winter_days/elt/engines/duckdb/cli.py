"""`winter-days elt run`: compile the Dataform project and run it on the local warehouse."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from winter_days.elt.backend import ActionState, InvocationConfig, InvocationState, WorkflowInvocationAction

_STYLE = {
    ActionState.SUCCEEDED: "green",
    ActionState.FAILED: "bold red",
    ActionState.SKIPPED: "yellow",
    ActionState.CANCELLED: "yellow",
    ActionState.DISABLED: "dim",
    ActionState.RUNNING: "cyan",
    ActionState.PENDING: "dim",
}


def _split(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


@click.command("run")
@click.option("--tags", type=str, default=None, help="Run actions with any of these tags (comma-separated), and their dependencies.")
@click.option("--actions", type=str, default=None, help="Run these actions (name or schema.name, comma-separated), and their dependencies.")
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental tables from scratch.")
@click.option("--project", type=click.Path(file_okay=False, path_type=Path), default=None, help="Dataform project folder.")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Independent actions run at once (default: the elt_workers setting, 2).")
@click.pass_context
def run_command(
    ctx: click.Context, tags: str | None, actions: str | None, full_refresh: bool, project: Path | None, workers: int | None
) -> None:
    """Compile the project and run it on DuckDB; publish the warehouse only if everything succeeded."""
    from rich.console import Console

    from winter_days.elt.cli import default_project_dir
    from winter_days.elt.compilation_config import code_compilation_config
    from winter_days.elt.engines.duckdb.backend import DuckDBBackend, InvocationError
    from winter_days.elt.engines.duckdb.graph import GraphError, build_graph, find_target

    settings = ctx.obj
    console = Console(highlight=False)
    project_dir = project or default_project_dir(settings)
    backend = DuckDBBackend(
        project_dir,
        settings.warehouse_path,
        settings.lake_root,
        vars=code_compilation_config(settings)["vars"],
        max_workers=workers or settings.elt_workers,
        memory_limit=settings.elt_memory_limit,
    )
    compilation = backend.compile()
    if compilation.compilation_errors:
        for error in compilation.compilation_errors:
            console.print(f"[bold red]compile error[/] {error.path}: {error.message}")
        ctx.exit(1)
    try:
        graph = build_graph(compilation.graph)
        targets = tuple(find_target(graph, name) for name in _split(actions))
    except GraphError as err:
        raise click.UsageError(str(err)) from None
    config = InvocationConfig(
        included_targets=targets,
        included_tags=_split(tags),
        transitive_dependencies_included=bool(targets or tags),
        fully_refresh_incremental_tables_enabled=full_refresh,
    )
    try:
        invocation = backend.invoke(compilation, config)
    except InvocationError as err:
        raise click.UsageError(str(err)) from None
    seen: dict[str, ActionState] = {}
    try:
        status = _follow(backend, invocation, console, seen)
    except KeyboardInterrupt:
        console.print("[yellow]cancelling: the running statement is interrupted, nothing is published[/]")
        backend.cancel(invocation)
        status = backend.wait(invocation)
    _summary(console, status.actions)
    result = backend.result(invocation)
    published = result is not None and result.published
    state = status.state
    colour = "green" if state is InvocationState.SUCCEEDED else "bold red"
    where = f"published {settings.warehouse_path}" if published else "published warehouse left unchanged"
    console.print(f"[{colour}]{state.value}[/]: {where}")
    if state is not InvocationState.SUCCEEDED:
        ctx.exit(1)


def _follow(backend, invocation, console, seen: dict[str, ActionState]):
    """Print each action as it starts and finishes, until the invocation ends."""
    while True:
        status = backend.get(invocation)
        for action in status.actions:
            key = str(action.target)
            if seen.get(key) is action.state or action.state is ActionState.PENDING:
                continue
            seen[key] = action.state
            console.print(_progress_line(action))
        if status.state.finished:
            return status
        time.sleep(0.1)


def _progress_line(action: WorkflowInvocationAction) -> str:
    name = f"{action.target.schema}.{action.target.name}"
    line = f"[{_STYLE[action.state]}]{action.state.value:<9}[/] {action.kind:<11} {name}"
    duration = action.invocation_timing.duration_seconds
    if duration is not None:
        line += f"  {duration:.2f}s"
    if action.rows is not None and action.kind != "assertion":
        line += f"  {action.rows:,} rows"
    if action.failure_reason:
        line += f"\n    [red]{action.failure_reason}[/]"
    if action.failing_rows_sample:
        for row in action.failing_rows_sample:
            line += f"\n    [dim]{json.dumps(row, default=str)}[/]"
    return line


def _summary(console, actions: tuple[WorkflowInvocationAction, ...]) -> None:
    from rich.table import Table

    table = Table(title="ELT run")
    for column, justify in (("action", "left"), ("type", "left"), ("state", "left"), ("duration", "right"), ("rows", "right")):
        table.add_column(column, justify=justify, overflow="fold")
    for action in actions:
        duration = action.invocation_timing.duration_seconds
        table.add_row(
            f"{action.target.schema}.{action.target.name}",
            action.kind,
            f"[{_STYLE[action.state]}]{action.state.value}[/]",
            "" if duration is None else f"{duration:.2f}s",
            "" if action.rows is None else f"{action.rows:,}",
        )
    console.print(table)
