"""One simulated day of all three flows (what the scheduled generator jobs do each night)."""

from __future__ import annotations

from winter_days.simulation.day import CONCURRENT_MIN_CLICKS, DailyVolumes, DaySimulator, DayWritten, FlowError

__all__ = ["CONCURRENT_MIN_CLICKS", "DailyVolumes", "DaySimulator", "DayWritten", "FlowError"]
