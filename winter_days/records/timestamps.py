"""The robust sale_timestamp parser: every form the sales store has held, to one UTC instant.

The store has lived through schema versions: 2.0.0 writes ISO-8601 strings; older
documents hold native datetimes, epoch numbers (seconds or milliseconds) or other string
forms (with an offset, with Z, date only, a space instead of T, digits only). A value
that denotes no instant is reported as unparseable with its raw text: never guessed,
never dropped.

An epoch number is seconds, milliseconds or microseconds by its magnitude, and is taken as
one only when it then falls on or after records.EARLIEST_PLAUSIBLE: a small number such
as 3.5 or 12345 is no legacy timestamp (it would be the first hours of 1970) and is
'implausible_epoch'. Any other instant in years 0001-9999 is returned; whether it is
plausible for a sale is the contract's rule, applied by staging.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from winter_days.records import EARLIEST_PLAUSIBLE

# Epoch magnitudes: seconds until year 5138, then milliseconds, then microseconds.
_MS_THRESHOLD = 1e11
_US_THRESHOLD = 1e14
_EARLIEST_EPOCH_S = EARLIEST_PLAUSIBLE.timestamp()


@dataclass(frozen=True)
class ParsedTimestamp:
    """`value` is the UTC instant, or None; `form` names what the input was; `raw` its text."""

    value: datetime | None
    form: str
    raw: str | None

    @property
    def ok(self) -> bool:
        return self.value is not None


def _in_range(value: datetime, form: str, raw: str | None) -> ParsedTimestamp:
    try:
        value = value.astimezone(UTC)
    except (OverflowError, ValueError):  # year 1 with a positive offset, year 9999 with a negative one
        return ParsedTimestamp(None, "out_of_range", raw)
    return ParsedTimestamp(value, form, raw)


def _from_epoch(number: float, raw: str | None) -> ParsedTimestamp:
    if not math.isfinite(number):
        return ParsedTimestamp(None, "unparseable", raw)
    magnitude = abs(number)
    divisor, form = (
        (1e6, "epoch_us")
        if magnitude >= _US_THRESHOLD
        else (1e3, "epoch_ms")
        if magnitude >= _MS_THRESHOLD
        else (1.0, "epoch_s")
    )
    if number / divisor < _EARLIEST_EPOCH_S:
        return ParsedTimestamp(None, "implausible_epoch", raw)
    try:
        moment = datetime.fromtimestamp(number / divisor, UTC)
    except (OverflowError, OSError, ValueError):  # beyond the years a datetime can hold
        return ParsedTimestamp(None, "out_of_range", raw)
    return _in_range(moment, form, raw)


def _from_string(text: str) -> ParsedTimestamp:
    raw = text
    text = text.strip()
    if not text:
        return ParsedTimestamp(None, "unparseable", raw)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    # ASCII digits only: '²' is a digit to isdigit() that float() refuses, and float() would
    # read other scripts' digits ('١٢٣') as an epoch.
    if parsed is None and text.isascii() and text.lstrip("-").replace(".", "", 1).isdigit():
        return _from_epoch(float(text), raw)
    if parsed is not None:
        if len(text) <= 10:  # YYYY-MM-DD or YYYYMMDD: the day, at midnight UTC
            return _in_range(parsed.replace(tzinfo=UTC), "date_only", raw)
        if parsed.tzinfo is None:
            # Legacy writers stored naive strings in UTC (the service has always run in UTC).
            return _in_range(parsed.replace(tzinfo=UTC), "iso_naive", raw)
        form = "iso_z" if text.endswith(("Z", "z")) else "iso_offset" if parsed.utcoffset() else "iso_utc"
        return _in_range(parsed, form, raw)
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return ParsedTimestamp(None, "unparseable", raw)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return _in_range(parsed, "rfc2822", raw)


def parse_sale_timestamp(value: Any) -> ParsedTimestamp:
    """Normalise one stored sale_timestamp to UTC; see the module docstring for the forms.
    Never raises: a value beyond what a datetime holds is out of range, like any other."""
    try:
        return _parse(value)
    except (ValueError, OverflowError, OSError):  # an integer beyond float64, text float() refuses
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                return ParsedTimestamp(None, "unparseable", value)
            return ParsedTimestamp(None, "out_of_range", value)
        return ParsedTimestamp(None, "out_of_range", repr(value))


def _parse(value: Any) -> ParsedTimestamp:
    if isinstance(value, bool) or value is None:
        return ParsedTimestamp(
            None, "missing" if value is None else "unparseable", None if value is None else str(value)
        )
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return _in_range(value.replace(tzinfo=UTC), "datetime_naive", value.isoformat())
        return _in_range(value, "datetime", value.isoformat())
    if isinstance(value, date):
        return _in_range(datetime(value.year, value.month, value.day, tzinfo=UTC), "date_only", value.isoformat())
    if isinstance(value, (int, float)):
        return _from_epoch(float(value), repr(value))
    if isinstance(value, str):
        return _from_string(value)
    return ParsedTimestamp(None, "unparseable", repr(value)[:200])
