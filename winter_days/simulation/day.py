"""One simulated day of all three flows: what the scheduled generator jobs do each night.

The demo, the backfill tests, the browser tests and the benchmarks call this rather than
each looping over the generators in their own way.

The flows are independent (sales go to the document store, click events and startups to
their own lake files) and each is a pure function of the seed and the day, so a large day
writes its lake flows in a second process while this one writes the sales: on a 2-core
machine that overlaps the two longest flows. The stored data is the same either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from winter_days.generators.customers import CustomerPool, pool_from_settings
from winter_days.generators.jobs import SalesRun, write_sales
from winter_days.generators.lake_flows import FlowError, LakeFlowsJob, LakeFlowsProcess, run_flow, write_lake_flows
from winter_days.platform import Platform

FRIDAY = 4  # date.weekday(): the startup load is weekly, on Fridays, as the schedule says
# Below this many click events a day, starting a process (about a second of imports)
# costs more than overlapping the flows saves.
CONCURRENT_MIN_CLICKS = 200_000

__all__ = ["CONCURRENT_MIN_CLICKS", "DailyVolumes", "DaySimulator", "DayWritten", "FlowError"]


@dataclass(frozen=True)
class DailyVolumes:
    """Records per simulated day; None keeps a generator's own default (5-20 sales, ...)."""

    sales: int | None = None
    clicks: int = 1000
    startups: int = 100
    startup_weekday: int = FRIDAY

    def as_dict(self) -> dict[str, Any]:
        return {
            "sales": self.sales,
            "clicks": self.clicks,
            "startups": self.startups,
            "startup_weekday": self.startup_weekday,
        }


@dataclass(frozen=True)
class DayWritten:
    day: date
    sales: int
    clicks: int
    startups: int


class DaySimulator:
    """Writes simulated days into one installation's document store and lake.

    `concurrent`: True writes the lake flows in a second process (which builds the same
    platform's lake from the settings), False in this one after the sales, None (default)
    decides per day: a second process for days of at least CONCURRENT_MIN_CLICKS click events.
    """

    def __init__(self, platform: Platform, volumes: DailyVolumes, concurrent: bool | None = None):
        self.settings = platform.settings
        self.volumes = volumes
        self.store = platform.document_store()
        self.lake = platform.lake
        self.pool: CustomerPool = pool_from_settings(self.settings, platform.pseudonymiser)
        self.concurrent = concurrent

    def write_day(self, day: date) -> DayWritten:
        """The day's sales and click events, and the startup load when the day is a load day.

        A failed flow raises FlowError naming it. With two processes both flows are waited
        for before anything is raised or returned, so no flow is still writing afterwards.
        """
        second_process = self._use_second_process()
        job = LakeFlowsJob(
            settings=self.settings,
            lake=None if second_process else self.lake,
            pool=self.pool,
            day=day,
            clicks=self.volumes.clicks,
            startups=self.volumes.startups if day.weekday() == self.volumes.startup_weekday else None,
        )
        if not second_process:
            sales = self._write_sales(day)
            clicks, startups = write_lake_flows(job)
            return DayWritten(day, sales.documents, clicks, startups)
        lake_flows = LakeFlowsProcess(job)
        try:
            sales = self._write_sales(day)
        except BaseException as sales_error:
            try:
                lake_flows.result()
            except FlowError as lake_error:
                raise FlowError(f"{sales_error}; and {lake_error}") from sales_error
            raise
        clicks, startups = lake_flows.result()
        return DayWritten(day, sales.documents, clicks, startups)

    def close(self) -> None:
        self.store.close()

    def write_days(self, first: date, days: int) -> list[DayWritten]:
        return [self.write_day(first + timedelta(days=offset)) for offset in range(days)]

    def _use_second_process(self) -> bool:
        if self.concurrent is not None:
            return self.concurrent
        return self.volumes.clicks >= CONCURRENT_MIN_CLICKS

    def _write_sales(self, day: date) -> SalesRun:
        return run_flow(
            "sales",
            day,
            lambda: write_sales(
                self.store,
                self.lake,
                self.pool,
                day,
                count=self.volumes.sales,
                legacy_share=self.settings.legacy_timestamp_share,
                horizon_days=self.settings.churn_horizon_days,
            ),
        )
