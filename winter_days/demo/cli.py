"""`winter-days demo` (the main job) and `winter-days backfill`."""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

import click

from winter_days.config import ConfigError
from winter_days.demo.run import DEMO_VOLUMES
from winter_days.platform import Platform, build_platform

DEMO_TOKEN_FILE = "api-token"


def with_demo_token(platform: Platform) -> Platform:
    """The platform, with a bearer token for its service when none is configured: a token
    file made once per installation under the home (mode 0600), which the demo prints."""
    from dataclasses import replace

    settings = platform.settings
    if settings.auth.token or settings.auth.disabled:
        return platform
    token_file = settings.home / DEMO_TOKEN_FILE
    if not token_file.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        token_file.touch(mode=0o600)
        token_file.write_text(secrets.token_urlsafe(32))
    auth = replace(settings.auth, token_file=token_file, token=token_file.read_text().strip())
    return build_platform(replace(settings, auth=auth))


class DemoProgress:
    """A progress bar over the simulated days, with the current step and rows written."""

    def __init__(self, total_days: int):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True, highlight=False)
        self.bar = Progress(
            TextColumn("[bold]days"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[detail]}"),
            console=self.console,
            transient=False,
        )
        self.task = self.bar.add_task("days", total=total_days, detail="")
        self.day = ""
        self.rows = 0

    def __enter__(self) -> DemoProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def step_started(self, name: str) -> None:
        self.bar.update(self.task, detail=f"{self.day} {name}...  rows exported so far {self.rows:,}")

    def step_finished(
        self, name: str, status: str, seconds: float, counts: Mapping[str, Any], error: str | None
    ) -> None:
        if name == "export_sales" and isinstance(counts.get("rows"), int):
            self.rows += counts["rows"]
        if name == "ml" and status == "succeeded" and counts.get("model_version"):
            auc = counts.get("candidate_roc_auc")
            self.bar.console.print(
                f"{self.day}: churn model {counts['model_version']} trained"
                + (f", ROC AUC {auc:.3f}" if isinstance(auc, float) else "")
                + (", champion" if counts.get("promoted") else f", challenger ({counts.get('gate_reason')})")
            )

    def day_done(self, report: Any) -> None:
        self.bar.advance(self.task)
        self.day = (report.day + timedelta(days=1)).isoformat()


@click.command("demo")
@click.option("--days", type=click.IntRange(1, 3650), default=120, show_default=True, help="Simulated days to add.")
@click.option("--fresh", is_flag=True, help="Start over: remove this installation's data first.")
@click.option("--no-serve", is_flag=True, help="Exit after the summary instead of serving the dashboards.")
@click.option(
    "--train-every",
    type=click.IntRange(1, 365),
    default=None,
    help="Train the churn model every N simulated days once the history allows (default: the "
    "churn_train_every_days setting, 7); it scores every day.",
)
@click.option("--sales-per-day", type=click.IntRange(1, 10_000_000), default=DEMO_VOLUMES.sales, show_default=True)
@click.option("--clicks-per-day", type=click.IntRange(0, 100_000_000), default=DEMO_VOLUMES.clicks, show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True)
@click.pass_obj
def demo_command(
    platform: Platform,
    days: int,
    fresh: bool,
    no_serve: bool,
    train_every: int | None,
    sales_per_day: int,
    clicks_per_day: int,
    port: int,
) -> None:
    """Simulate days of all three flows end to end, print a summary, then serve the dashboards."""
    from dataclasses import replace

    from winter_days.demo.report import collect_summary, render_summary
    from winter_days.demo.run import DemoError, clear_installation, run_demo
    from winter_days.orchestrator.launcher import RunLauncher

    if not platform.single_machine:
        raise click.UsageError(
            f"the demo simulates days on one machine: run it with --profile local, not {platform.profile}"
        )
    started = time.monotonic()
    settings = platform.settings
    if fresh:
        removed = clear_installation(settings.home)
        click.echo(f"--fresh: removed {', '.join(removed) or 'nothing'} from {settings.home}", err=True)
    try:
        platform.check()
        if train_every is not None:
            platform = build_platform(replace(settings, churn_train_every_days=train_every))
        platform = with_demo_token(platform)
        launcher = RunLauncher(platform)
    except ConfigError as err:
        raise click.UsageError(str(err)) from None
    click.echo(
        f"Simulating {days} day(s) at demo scale ({settings.customers:,} customers); the ML step scores every day "
        f"and trains every {platform.settings.churn_train_every_days} simulated days once there is enough history.",
        err=True,
    )
    try:
        with DemoProgress(days) as progress:
            state = run_demo(
                platform,
                days,
                volumes=replace(DEMO_VOLUMES, sales=sales_per_day, clicks=clicks_per_day),
                launcher=launcher,
                on_day=progress.day_done,
                progress=progress,
            )
    except DemoError as err:
        click.echo(f"demo stopped: {err}", err=True)
        sys.exit(1)
    simulated = time.monotonic() - started
    runs = launcher.history.list_runs(limit=50)
    summary = collect_summary(platform, runs)
    from rich.console import Console

    console = Console()
    console.print(
        f"Simulated {state.first_day} .. {state.next_day - timedelta(days=1)} ({state.days_done} days in all)."
    )
    per_day = simulated / days
    render_summary(summary, console, {"simulation": simulated, "per simulated day": per_day})
    if no_serve:
        return
    _serve(platform, port)


def _serve(platform: Platform, port: int) -> None:
    from winter_days.orchestrator.logs import install_json_logging
    from winter_days.service.server import ServiceServer

    token_from = platform.settings.auth.token_file or "WINTER_DAYS_AUTH_TOKEN"
    click.echo(
        f"\nDashboards: http://127.0.0.1:{port}/  (POST /run needs the bearer token in {token_from}; Ctrl-C stops)"
    )
    install_json_logging(path=platform.settings.home / "logs" / "service.jsonl")
    ServiceServer(platform.settings, bind=f"127.0.0.1:{port}", workers=1, threads=8).run()


@click.command("backfill")
@click.option(
    "--from", "first", type=click.DateTime(formats=["%Y-%m-%d"]), required=True, help="First day, YYYY-MM-DD."
)
@click.option("--to", "last", type=click.DateTime(formats=["%Y-%m-%d"]), required=True, help="Last day, YYYY-MM-DD.")
@click.option("--no-ml", is_flag=True, help="Leave out the ML step.")
@click.pass_obj
def backfill_command(platform: Platform, first: Any, last: Any, no_ml: bool) -> None:
    """Run the pipeline for each day in the range, in order; a day already run is not run again."""
    from winter_days.orchestrator.launcher import RunLauncher

    first_day, last_day = first.date(), last.date()
    if last_day < first_day:
        raise click.BadParameter(f"--to {last_day} is before --from {first_day}", param_hint="--to")
    try:
        platform.check()
        launcher = RunLauncher(platform)
    except ConfigError as err:
        raise click.UsageError(str(err)) from None
    day = first_day
    while day <= last_day:
        result = backfill_day(launcher, day, ml=not no_ml)
        run = result.run or {}
        joined = " (already run: kept)" if result.outcome == "duplicate" else ""
        click.echo(f"{day}: run {result.run_id} {run.get('status', result.outcome)}{joined}")
        if result.outcome == "busy":
            click.echo(f"another run ({result.run_id}) is active; run the backfill again when it ends", err=True)
            sys.exit(3)
        if run.get("status") != "succeeded":
            click.echo(f"stopped at {day}: {run.get('error')}", err=True)
            sys.exit(1)
        day += timedelta(days=1)


def backfill_day(launcher: Any, day: date, ml: bool = True) -> Any:
    """One backfilled day: idempotent through its trigger key."""
    from winter_days.orchestrator.pipeline import RunParameters

    return launcher.trigger(
        {"source": "backfill", "day": day.isoformat()},
        RunParameters(as_of=day, ml=ml),
        trigger_key=f"backfill:{day.isoformat()}",
        retry_failed=True,
    )
