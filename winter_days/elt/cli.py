"""`winter-days elt ...`: compile the Dataform project, and run it (the engine's command)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import click

from winter_days.cli import LazyGroup


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


def default_project_dir(settings: object) -> Path:
    """The Dataform project: settings.dataform_dir when set, else ./dataform."""
    configured = getattr(settings, "dataform_dir", None)
    return Path(configured) if configured else Path("dataform")


@click.group(cls=LazyGroup, lazy={"run": "winter_days.elt.engines.duckdb.cli:run_command",
                                   "test": "winter_days.elt.unit_tests:test_command"})
def elt() -> None:
    """ELT: compile the SQLX project and run its actions."""


@elt.command("compile")
@click.option("--json", "as_json", is_flag=True, help="Print the compiled graph as `dataform compile --json` does.")
@click.option("--project", "project", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Dataform project folder (default: ./dataform).")
@click.option("--vars", "vars_", type=str, default=None, help="Override project vars: key=value,key2=value2.")
@click.pass_context
def compile_command(ctx: click.Context, as_json: bool, project: Path | None, vars_: str | None) -> None:
    """Compile the Dataform project into its action graph."""
    from winter_days.elt.sqlx import CompilationError, compile_project

    project_dir = project or default_project_dir(ctx.obj)
    try:
        graph = compile_project(project_dir, _parse_vars(vars_))
    except CompilationError as err:
        for issue in err.issues:
            click.echo(str(issue), err=True)
        ctx.exit(1)
        return
    if as_json:
        click.echo(json.dumps(graph, indent=4))
        return
    counts: Counter[str] = Counter()
    for section in ("tables", "operations", "assertions", "declarations"):
        for action in graph.get(section, []):
            counts[action.get("type", section.rstrip("s"))] += 1
    edges = sum(len(a.get("dependencyTargets", [])) for s in ("tables", "operations", "assertions")
                for a in graph.get(s, []))
    click.echo(f"Compiled {project_dir}: {len(graph['targets'])} actions, {edges} dependency edges")
    for kind, count in sorted(counts.items()):
        click.echo(f"  {kind}: {count}")
    for target in graph["targets"]:
        click.echo(f"  {target.get('database')}.{target['schema']}.{target['name']}")
