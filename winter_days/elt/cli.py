"""`winter-days elt ...`: compile and run the Dataform project, or rebuild the warehouse, on the profile's engine.

Locally the engine is our SQLX compiler and the DuckDB executor; with `--profile gcp` the
same commands drive the Dataform API (compile a compilation result, invoke it, follow it).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from winter_days.elt.backend import (
    ActionState,
    CompilationResult,
    EltBackend,
    InvocationConfig,
    InvocationState,
    InvocationStatus,
    PublishingBackend,
    Target,
    WaitingBackend,
    WorkflowInvocationAction,
)
from winter_days.platform import Platform, build_platform
from winter_days.warehouse import WarehouseUnavailable

_STYLE = {
    ActionState.SUCCEEDED: "green",
    ActionState.FAILED: "bold red",
    ActionState.SKIPPED: "yellow",
    ActionState.CANCELLED: "yellow",
    ActionState.DISABLED: "dim",
    ActionState.RUNNING: "cyan",
    ActionState.PENDING: "dim",
}
FOLLOW_INTERVAL_SECONDS = 0.1


def _parse_vars(raw: str | None) -> dict[str, str]:
    if not raw:
        return {}
    out = {}
    for item in raw.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected key=value, got {item!r}", param_hint="--vars")
        out[key.strip()] = value
    return out


def _split(raw: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (raw or "").split(",") if part.strip())


def _platform(ctx: click.Context, project: Path | None = None, workers: int | None = None) -> Platform:
    """The command's platform, with the options that override settings applied."""
    platform: Platform = ctx.obj
    settings = platform.settings
    if project is not None:
        settings = replace(settings, dataform_dir=project.resolve())
    if workers is not None:
        settings = replace(settings, elt=replace(settings.elt, workers=workers))
    return platform if settings is platform.settings else build_platform(settings)


def _compile(ctx: click.Context, backend: EltBackend, console: Any) -> CompilationResult:
    compilation = backend.compile()
    if compilation.compilation_errors:
        for error in compilation.compilation_errors:
            console.print(f"[bold red]compile error[/] {error.path or '(project)'}: {error.message}", highlight=False)
        ctx.exit(1)
    return compilation


@click.group()
def elt() -> None:
    """ELT: compile the Dataform project and run its actions on the profile's engine."""


# Options `elt run` and `elt rebuild` share.
_project_option = click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Dataform project folder (local engine).",
)
_workers_option = click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Independent actions run at once (local engine; default: the elt.workers setting).",
)


@elt.command("compile")
@click.option("--json", "as_json", is_flag=True, help="Print the compiled graph as `dataform compile --json` does.")
@click.option(
    "--project",
    "project",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Dataform project folder (default: the dataform_dir setting; the local engine's).",
)
@click.option("--vars", "vars_", type=str, default=None, help="Override project vars: key=value,key2=value2.")
@click.pass_context
def compile_command(ctx: click.Context, as_json: bool, project: Path | None, vars_: str | None) -> None:
    """Compile the Dataform project into its action graph."""
    from rich.console import Console

    console = Console(stderr=True, highlight=False)
    platform = _platform(ctx, project)
    compilation = _compile(ctx, platform.elt_backend(_parse_vars(vars_)), console)
    graph = compilation.graph
    if as_json:
        click.echo(json.dumps(graph or compilation.to_api(), indent=4))
        return
    if not graph:
        click.echo(f"compiled: {compilation.name} (core {compilation.dataform_core_version or 'unknown'})")
        return
    counts: Counter[str] = Counter()
    for section in ("tables", "operations", "assertions", "declarations"):
        for action in graph.get(section, []):
            counts[action.get("type", section.rstrip("s"))] += 1
    edges = sum(
        len(a.get("dependencyTargets", [])) for s in ("tables", "operations", "assertions") for a in graph.get(s, [])
    )
    click.echo(f"Compiled {compilation.name}: {len(graph['targets'])} actions, {edges} dependency edges")
    for kind, count in sorted(counts.items()):
        click.echo(f"  {kind}: {count}")
    for target in graph["targets"]:
        click.echo(f"  {target.get('database')}.{target['schema']}.{target['name']}")


def _targets(compilation: CompilationResult, names: tuple[str, ...]) -> tuple[Target, ...]:
    """The actions named NAME, SCHEMA.NAME or DATABASE.SCHEMA.NAME in the compiled graph."""
    if not names:
        return ()
    from winter_days.elt.engines.duckdb.graph import GraphError, build_graph, find_target

    if not compilation.graph:
        # A remote compilation keeps its graph server-side: the names go as given.
        targets = []
        for name in names:
            parts = name.split(".")
            if len(parts) < 2:
                raise click.BadParameter(f"{name!r}: give SCHEMA.NAME for the remote engine", param_hint="--actions")
            targets.append(Target(database=".".join(parts[:-2]), schema=parts[-2], name=parts[-1]))
        return tuple(targets)
    try:
        graph = build_graph(compilation.graph)
        return tuple(find_target(graph, name) for name in names)
    except GraphError as err:
        raise click.BadParameter(str(err), param_hint="--actions") from None


@elt.command("run")
@click.option(
    "--tags",
    type=str,
    default=None,
    help="Run actions with any of these tags (comma-separated), and their dependencies.",
)
@click.option(
    "--actions",
    type=str,
    default=None,
    help="Run these actions (name or schema.name, comma-separated), and their dependencies.",
)
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental tables from scratch.")
@_project_option
@_workers_option
@click.pass_context
def run_command(
    ctx: click.Context,
    tags: str | None,
    actions: str | None,
    full_refresh: bool,
    project: Path | None,
    workers: int | None,
) -> None:
    """Compile the project and run it; locally the warehouse is published only if everything succeeded."""
    from rich.console import Console

    console = Console(highlight=False)
    platform = _platform(ctx, project, workers)
    backend = platform.elt_backend()
    compilation = _compile(ctx, backend, console)
    targets = _targets(compilation, _split(actions))
    config = InvocationConfig(
        included_targets=targets,
        included_tags=_split(tags),
        transitive_dependencies_included=bool(targets or tags),
        fully_refresh_incremental_tables_enabled=full_refresh,
    )
    _invoke_and_follow(ctx, platform, backend, compilation, config, console)


@elt.command("rebuild")
@_project_option
@_workers_option
@click.pass_context
def rebuild_command(ctx: click.Context, project: Path | None, workers: int | None) -> None:
    """Rebuild every table from the bronze lake (a full refresh of every action) and publish it.

    The way out of a damaged warehouse: locally, a published file DuckDB cannot open is moved
    aside as <name>.unreadable-<time> and the warehouse is built from an empty file; the ML
    step's predictions come back with the next `winter-days run`. On gcp it is a
    full-refresh invocation through the Dataform API.
    """
    from rich.console import Console

    console = Console(highlight=False)
    platform = _platform(ctx, project, workers)
    backend = platform.elt_backend()
    compilation = _compile(ctx, backend, console)
    config = InvocationConfig(fully_refresh_incremental_tables_enabled=True)
    _invoke_and_follow(ctx, platform, backend, compilation, config, console)


@elt.command("test")
@click.option(
    "--project",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Dataform project folder (default: the dataform_dir setting).",
)
@click.option("--vars", "vars_", type=str, default=None, help="Override project vars: key=value,key2=value2.")
@click.option("--tests", type=str, default=None, help="Run only these tests (names, comma-separated).")
@click.pass_context
def test_command(ctx: click.Context, project: Path | None, vars_: str | None, tests: str | None) -> None:
    """Run the project's unit tests (type: "test") on DuckDB; exit non-zero when one fails."""
    from winter_days.elt.sqlx import CompilationError
    from winter_days.elt.unit_tests import report, run_unit_tests

    project_dir = project or ctx.obj.settings.dataform_dir
    try:
        results = run_unit_tests(project_dir, _parse_vars(vars_), _split(tests))
    except CompilationError as err:
        for issue in err.issues:
            click.echo(f"compile error {issue}", err=True)
        ctx.exit(1)
        return
    ctx.exit(report(results, click.echo))


def _invoke_and_follow(
    ctx: click.Context,
    platform: Platform,
    backend: EltBackend,
    compilation: CompilationResult,
    config: InvocationConfig,
    console: Any,
) -> None:
    """Start the invocation, print its actions as they go and a summary; exit 1 unless it succeeded."""
    try:
        invocation = backend.invoke(compilation, config)
    except WarehouseUnavailable as err:
        raise click.ClickException(str(err)) from None
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    console.print(f"invocation {invocation.name} started")
    seen: dict[str, ActionState] = {}
    try:
        status = _follow(backend, invocation, console, seen, platform.poll_interval_seconds)
    except KeyboardInterrupt:
        console.print("[yellow]cancelling: the running statement is interrupted, nothing more starts[/]")
        backend.cancel(invocation)
        status = _until_finished(backend, invocation, platform.poll_interval_seconds)
    _summary(console, status.actions)
    state = status.state
    colour = "green" if state is InvocationState.SUCCEEDED else "bold red"
    where = platform.warehouse.describe() if state is InvocationState.SUCCEEDED else "the warehouse"
    if isinstance(backend, PublishingBackend):
        outcome = f"published {where}" if backend.published(invocation) else "published warehouse left unchanged"
    else:
        outcome = f"tables written to {where}"
    console.print(f"[{colour}]{state.value}[/]: {outcome}")
    if state is not InvocationState.SUCCEEDED:
        ctx.exit(1)


def _until_finished(backend: EltBackend, invocation: Any, interval: float) -> InvocationStatus:
    while True:
        if isinstance(backend, WaitingBackend):
            status = backend.wait(invocation, timeout=interval)
        else:
            status = backend.get(invocation)
        if status.state.finished:
            return status
        if not isinstance(backend, WaitingBackend):
            time.sleep(interval)


def _follow(
    backend: EltBackend, invocation: Any, console: Any, seen: dict[str, ActionState], interval: float
) -> InvocationStatus:
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
        if isinstance(backend, WaitingBackend):
            backend.wait(invocation, timeout=FOLLOW_INTERVAL_SECONDS)
        else:
            time.sleep(interval)


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
    for row in action.failing_rows_sample:
        line += f"\n    [dim]{json.dumps(row, default=str)}[/]"
    return line


def _summary(console: Any, actions: tuple[WorkflowInvocationAction, ...]) -> None:
    from rich.table import Table

    table = Table(title="ELT run")
    for column, justify in (
        ("action", "left"),
        ("type", "left"),
        ("state", "left"),
        ("duration", "right"),
        ("rows", "right"),
    ):
        table.add_column(column, justify=justify, overflow="fold")  # type: ignore[arg-type]
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
