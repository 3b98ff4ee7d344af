"""`winter-days run`: one orchestrator run without HTTP (it shares the service's guard)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import date
from typing import Any

import click

from winter_days.config import ConfigError
from winter_days.platform import Platform


class ConsoleProgress:
    """Prints each step as it starts and ends."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False)
        self._status: Any = None

    def step_started(self, name: str) -> None:
        self._status = self.console.status(f"[bold]{name}[/] running...")
        self._status.start()

    def step_finished(
        self, name: str, status: str, seconds: float, counts: Mapping[str, Any], error: str | None
    ) -> None:
        if self._status is not None:
            self._status.stop()
        shown = ", ".join(f"{k}={v}" for k, v in counts.items() if v is not None and not isinstance(v, dict))
        mark = "[green]ok[/]" if status == "succeeded" else "[red]FAILED[/]"
        self.console.print(f"{mark} {name} ({seconds:.2f} s){': ' + shown if shown else ''}")
        if error:
            self.console.print(f"   [red]{error}[/]", markup=True)


@click.command()
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="As-of date for the ML step.")
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental tables from scratch.")
@click.option(
    "--full-export",
    is_flag=True,
    help="Export every sales document, not only those changed since the last export "
    "(after a pseudonym key rotation; staging keeps one row per sale).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON on stdout.")
@click.pass_obj
def run(platform: Platform, as_of: Any, full_refresh: bool, full_export: bool, as_json: bool) -> None:
    """Run export -> compile -> invoke -> poll -> ml once, without HTTP (shares the service's guard)."""
    from winter_days.orchestrator.launcher import RunLauncher
    from winter_days.orchestrator.logs import install_json_logging
    from winter_days.orchestrator.pipeline import RunParameters
    from winter_days.runs import FAILED

    try:
        platform.check(serving=False)
    except ConfigError as err:
        raise click.UsageError(str(err)) from None
    # The terminal shows progress; the JSON log goes to the log folder of a single-machine
    # platform, to stderr (Cloud Logging) otherwise.
    if platform.single_machine:
        install_json_logging(path=platform.settings.home / "logs" / f"run-{date.today():%Y-%m-%d}.jsonl")
    else:
        install_json_logging()
    launcher = RunLauncher(platform)
    parameters = RunParameters(
        as_of=as_of.date() if as_of else None, full_refresh=full_refresh, full_export=full_export
    )
    result = launcher.trigger({"source": "cli"}, parameters, progress=ConsoleProgress())
    if result.outcome == "busy":
        holder = result.decision.owner.describe() if result.decision.owner else "another process"
        click.echo(
            f"Another run is active: run {result.run_id}, started {result.decision.started_at} by {holder}.\n"
            "One run at a time shares the warehouse. Wait for it to finish (winter-days serve: GET /runs/"
            f"{result.run_id}), then run again.",
            err=True,
        )
        sys.exit(3)
    summary = result.run or {}
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(
            f"run {summary.get('run_id')}: {summary.get('status')} in {summary.get('duration_seconds')} s", err=True
        )
    if summary.get("status") == FAILED:
        click.echo(f"{summary.get('error')}", err=True)
        sys.exit(1)
