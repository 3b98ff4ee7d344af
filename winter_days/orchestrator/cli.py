"""`winter-days serve` (the service under gunicorn) and `winter-days run` (one run, no HTTP)."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any, Mapping

import click

from winter_days.config import ConfigError, Settings

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 16))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64), help="Threads per worker.")
@click.pass_obj
def serve(settings: Settings, host: str, port: int, workers: int, threads: int) -> None:
    """Serve the orchestrator (POST /run, GET /runs, /healthz, /metrics) with gunicorn."""
    from winter_days.orchestrator.options import load_options
    from winter_days.orchestrator.server import OrchestratorServer

    try:
        options = load_options(settings)
        # Fail before forking workers when the service could not start or run.
        from winter_days.orchestrator.preflight import check_profile

        check_profile(settings, options, serving=True)
    except ConfigError as err:
        raise click.UsageError(str(err)) from None
    if host not in LOOPBACK and options.auth_disabled:
        raise click.UsageError(f"refusing to listen on {host} with authentication disabled; use 127.0.0.1")
    import logging

    from winter_days.orchestrator.logs import install_json_logging

    install_json_logging()
    logging.getLogger("winter_days.orchestrator").info(
        "orchestrator on http://%s:%s (history: %s)", host, port, options.history_path
    )
    OrchestratorServer(settings, bind=f"{host}:{port}", workers=workers, threads=threads).run()


class ConsoleProgress:
    """Prints each step as it starts and ends."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False)
        self._status: Any = None

    def step_started(self, name: str) -> None:
        self._status = self.console.status(f"[bold]{name}[/] running...")
        self._status.start()

    def step_finished(self, name: str, status: str, seconds: float, counts: Mapping[str, Any], error: str | None) -> None:
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
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON on stdout.")
@click.pass_obj
def run(settings: Settings, as_of: Any, full_refresh: bool, as_json: bool) -> None:
    """Run export -> compile -> invoke -> poll -> ml once, without HTTP (shares the service's guard)."""
    from winter_days.orchestrator.launcher import open_run_store
    from winter_days.runs import FAILED
    from winter_days.orchestrator.logs import install_json_logging
    from winter_days.orchestrator.options import load_options
    from winter_days.orchestrator.pipeline import RunParameters
    from winter_days.orchestrator.launcher import RunLauncher
    from winter_days.orchestrator.steps import make_pipeline

    try:
        options = load_options(settings)
        from winter_days.orchestrator.preflight import check_profile

        check_profile(settings, options, serving=False)
    except ConfigError as err:
        raise click.UsageError(str(err)) from None
    # The terminal shows progress; the JSON log goes beside the history.
    install_json_logging(path=settings.home / "logs" / f"run-{date.today():%Y-%m-%d}.jsonl")
    history = open_run_store(settings, options)
    launcher = RunLauncher(settings, options, history, make_pipeline(settings, options))
    parameters = RunParameters(as_of=as_of.date() if as_of else None, full_refresh=full_refresh)
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
        click.echo(f"run {summary.get('run_id')}: {summary.get('status')} in {summary.get('duration_seconds')} s", err=True)
    if summary.get("status") == FAILED:
        click.echo(f"{summary.get('error')}", err=True)
        sys.exit(1)

