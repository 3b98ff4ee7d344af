"""One simulated day of all three flows: what the scheduled generator jobs do each night.

The demo, the backfill tests, the browser tests and the benchmarks call this rather than
each looping over the generators in their own way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from winter_days.config import Settings
from winter_days.generators.customers import CustomerPool, pool_from_settings
from winter_days.generators.jobs import write_clickstream, write_sales, write_startups
from winter_days.stores import DocumentStore, Lake, open_document_store, open_lake

FRIDAY = 4  # date.weekday(): the startup load is weekly, on Fridays, as the schedule says


@dataclass(frozen=True)
class DailyVolumes:
    """Records per simulated day; None keeps a generator's own default (5-20 sales, ...)."""

    sales: int | None = None
    clicks: int = 1000
    startups: int = 100
    startup_weekday: int = FRIDAY

    def as_dict(self) -> dict[str, Any]:
        return {"sales": self.sales, "clicks": self.clicks, "startups": self.startups, "startup_weekday": self.startup_weekday}


@dataclass(frozen=True)
class DayWritten:
    day: date
    sales: int
    clicks: int
    startups: int


class DaySimulator:
    """Writes simulated days into one installation's stores."""

    def __init__(self, settings: Settings, volumes: DailyVolumes, store: DocumentStore | None = None, lake: Lake | None = None):
        self.settings = settings
        self.volumes = volumes
        self.store = store or open_document_store(settings)
        self.lake = lake or open_lake(settings)
        self.pool: CustomerPool = pool_from_settings(settings)

    def write_day(self, day: date) -> DayWritten:
        """The day's sales and click events, and the startup load when the day is a load day."""
        sales = write_sales(
            self.store,
            self.lake,
            self.pool,
            day,
            count=self.volumes.sales,
            legacy_share=self.settings.legacy_timestamp_share,
            horizon_days=self.settings.churn_horizon_days,
        )
        clicks = write_clickstream(self.lake, self.pool, day, count=self.volumes.clicks)
        startups = 0
        if day.weekday() == self.volumes.startup_weekday:
            startups = write_startups(
                self.lake, self.settings.seed, self.settings.population_start, day, count=self.volumes.startups
            ).records
        return DayWritten(day, sales.documents, clicks.records, startups)

    def write_days(self, first: date, days: int) -> list[DayWritten]:
        return [self.write_day(first + timedelta(days=offset)) for offset in range(days)]
