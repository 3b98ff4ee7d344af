"""`winter-days schedule`: run the platform's cron in this process until stopped."""

from __future__ import annotations

import logging
import signal
from datetime import date, datetime, timedelta

import click

from winter_days.platform import Platform
from winter_days.schedule.cron import (
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


def make_jobs(platform: Platform, attempts: int = 5) -> list[ScheduledJob]:
    """The platform's four jobs, from the settings' cron expressions."""
    from winter_days.generators.customers import pool_from_settings
    from winter_days.generators.jobs import write_clickstream, write_sales, write_startups

    settings, lake = platform.settings, platform.lake

    def sales(when: datetime) -> object:
        store = platform.document_store()
        try:
            return write_sales(
                store,
                lake,
                pool_from_settings(settings, platform.pseudonymiser),
                generated_day(when),
                legacy_share=settings.legacy_timestamp_share,
                horizon_days=settings.churn_horizon_days,
            )
        finally:
            store.close()

    def clickstream(when: datetime) -> object:
        return write_clickstream(lake, pool_from_settings(settings, platform.pseudonymiser), generated_day(when))

    def startups(when: datetime) -> object:
        return write_startups(
            lake, settings.seed, settings.population_start, generated_day(when), pseudonyms=platform.pseudonymiser
        )

    token = settings.auth.token or None
    trigger = OrchestratorTrigger(settings.orchestrator.url, token, ORCHESTRATOR_JOB, attempts=attempts)
    return [
        ScheduledJob("sales", settings.schedule.sales, sales),
        ScheduledJob("clickstream", settings.schedule.clickstream, clickstream),
        ScheduledJob("startups", settings.schedule.startups, startups),
        ScheduledJob(ORCHESTRATOR_JOB, settings.schedule.orchestrator, trigger),
    ]


@click.command("schedule")
@click.option("--show", is_flag=True, help="Print the next fire time of each job and exit.")
@click.option("--attempts", type=click.IntRange(1, 20), default=5, show_default=True, help="Trigger attempts per run.")
@click.pass_obj
def schedule_command(platform: Platform, show: bool, attempts: int) -> None:
    """Run the schedule: generators daily at 01:00 UTC (startups on Fridays), the orchestrator at 02:00."""
    settings = platform.settings
    scheduler = Scheduler(
        make_jobs(platform, attempts), ScheduleState(settings.home / "schedule.json"), settings.schedule.missed_runs
    )
    if show:
        from winter_days.schedule.cron import next_fire_time

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
    click.echo(
        f"schedule running (missed runs: {settings.schedule.missed_runs}); orchestrator at {settings.orchestrator.url}"
    )
    fired = scheduler.run()
    click.echo(f"schedule stopped after {fired} job(s)")
