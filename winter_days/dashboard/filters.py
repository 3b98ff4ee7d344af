"""The filters a dashboard page takes from its query string, validated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from winter_days.records import REGIONS

RISK_TIERS = ("high", "medium", "low")
DEFAULT_TOP_N = 10
MAX_TOP_N = 500


class FilterError(ValueError):
    """A query-string value the dashboard cannot use; the message names the parameter."""


@dataclass(frozen=True)
class DashboardFilters:
    """Date range (inclusive), region, risk tier and list length; None means 'all'."""

    start: date | None = None
    end: date | None = None
    region: str | None = None
    risk_tier: str | None = None
    top_n: int = DEFAULT_TOP_N

    def query_string(self, **changes: object) -> str:
        """This filter set as a query string, with some values changed (None drops one)."""
        values: dict[str, object] = {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "region": self.region,
            "risk_tier": self.risk_tier,
            "top_n": self.top_n if self.top_n != DEFAULT_TOP_N else None,
        }
        values.update(changes)
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def _date(args: Mapping[str, str], name: str) -> date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FilterError(f"{name}: expected a date YYYY-MM-DD, got {raw!r}") from None


def _choice(args: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    raw = (args.get(name) or "").strip()
    if not raw or raw == "all":
        return None
    if raw not in allowed:
        raise FilterError(f"{name}: {raw!r} is not one of {', '.join(allowed)}")
    return raw


def parse_filters(args: Mapping[str, str]) -> DashboardFilters:
    """Read start, end, region, risk_tier and top_n; FilterError names a bad one."""
    start, end = _date(args, "start"), _date(args, "end")
    if start and end and start > end:
        raise FilterError(f"start {start} is after end {end}")
    raw_top = (args.get("top_n") or "").strip()
    top_n = DEFAULT_TOP_N
    if raw_top:
        if not raw_top.isdigit() or not 1 <= int(raw_top) <= MAX_TOP_N:
            raise FilterError(f"top_n: expected a whole number 1..{MAX_TOP_N}, got {raw_top!r}")
        top_n = int(raw_top)
    return DashboardFilters(
        start=start,
        end=end,
        region=_choice(args, "region", tuple(REGIONS)),
        risk_tier=_choice(args, "risk_tier", RISK_TIERS),
        top_n=top_n,
    )
