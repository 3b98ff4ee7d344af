"""`winter-days schedule`: run the platform's cron in this process until stopped."""

from __future__ import annotations

import logging
import signal
from datetime import date, datetime, timedelta

import click

from winter_days.config import ConfigError, Settings
from winter_days.schedule import (
    ORCHESTRATOR_JOB,
    OrchestratorTrigger,
    ScheduledJob,
    Scheduler,
    ScheduleState,
    rfc3339,
)


def generated_day(fire_time: datetime) -> date:
    """Generators firing at 01:00 land the day that has just ended."""
    return (fire_time - timedelta(days=1)).date()


def make_jobs(settings: Settings, token: str | None, attempts: int = 5) -> list[ScheduledJob]:
    """The platform's four jobs, from the settings' cron expressions."""
    from winter_days.generators.customers import pool_from_settings
    from winter_days.generators.jobs import write_clickstream, write_sales, write_startups
    from winter_days.pseudonyms import pseudonymiser_for
    from winter_days.stores import open_document_store, open_lake

    lake = open_lake(settings)

    def sales(when: datetime) -> object:
        return write_sales(
            open_document_store(settings),
            lake,
            pool_from_settings(settings),
            generated_day(when),
            legacy_share=settings.legacy_timestamp_share,
            horizon_days=settings.churn_horizon_days,
        )

    def clickstream(when: datetime) -> object:
        return write_clickstream(lake, pool_from_settings(settings), generated_day(when))

    def startups(when: datetime) -> object:
        return write_startups(lake, settings.seed, settings.population_start, generated_day(when),
                              pseudonyms=pseudonymiser_for(settings))

    trigger = OrchestratorTrigger(settings.orchestrator_url, token, ORCHESTRATOR_JOB, attempts=attempts)
    return [
        ScheduledJob("sales", settings.schedule_sales, sales),
        ScheduledJob("clickstream", settings.schedule_clickstream, clickstream),
        ScheduledJob("startups", settings.schedule_startups, startups),
        ScheduledJob(ORCHESTRATOR_JOB, settings.schedule_orchestrator, trigger),
    ]


@click.command("schedule")
@click.option("--show", is_flag=True, help="Print the next fire time of each job and exit.")
@click.option("--attempts", type=click.IntRange(1, 20), default=5, show_default=True, help="Trigger attempts per run.")
@click.pass_obj
def schedule_command(settings: Settings, show: bool, attempts: int) -> None:
    """Run the schedule: generators daily at 01:00 UTC (startups on Fridays), the orchestrator at 02:00."""
    from winter_days.orchestrator.options import load_options

    try:
        token = load_options(settings).auth_token
    except ConfigError as err:
        raise click.UsageError(str(err)) from None
    scheduler = Scheduler(
        make_jobs(settings, token, attempts), ScheduleState(settings.home / "schedule.json"), settings.schedule_missed_runs
    )
    if show:
        from winter_days.schedule import next_fire_time

        now = scheduler.now()
        for job in scheduler.jobs:
            click.echo(f"{job.name:<12} {job.cron:<12} next {rfc3339(next_fire_time(job.cron, now))}")
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def on_signal(signum: int, frame: object) -> None:
        click.echo(f"received {signal.Signals(signum).name}", err=True)
        scheduler.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    click.echo(f"schedule running (missed runs: {settings.schedule_missed_runs}); orchestrator at {settings.orchestrator_url}")
    fired = scheduler.run()
    click.echo(f"schedule stopped after {fired} job(s)")
