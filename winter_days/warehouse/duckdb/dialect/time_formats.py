"""BigQuery's date and time format elements, for FORMAT_* and PARSE_* (format-elements page).

DuckDB's strftime/strptime spell several elements differently (%e, %c, %k, %Q, %Ez, %E*S,
...) and treat white space and defaults differently; these functions follow BigQuery's
table of elements, and run as DuckDB functions (udfs.py). An element this module does not
know is an error naming it, never a different answer.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_COMPOSITE = {
    "c": "%a %b %e %H:%M:%S %Y",
    "D": "%m/%d/%y",
    "F": "%Y-%m-%d",
    "R": "%H:%M",
    "T": "%H:%M:%S",
    "x": "%m/%d/%y",
    "X": "%H:%M:%S",
}
_ELEMENT = re.compile(r"%(E(?:z|\*S|[0-9]S|4Y)|[A-Za-z%])")
_OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{1,2})(?::?(\d{2}))?$")


class FormatError(ValueError):
    """A format string or value BigQuery rejects, or an element this engine cannot honour."""


def zone_info(name: str) -> dt.tzinfo:
    """A BigQuery time zone: an IANA name, or an offset such as -05:00, +5, UTC+3."""
    name = name.strip()
    match = _OFFSET.match(name)
    if match:
        sign, hours, minutes = match.groups()
        delta = dt.timedelta(hours=int(hours), minutes=int(minutes or 0))
        return dt.timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        raise FormatError(f"Invalid time zone: {name}") from None


def _offset(value: dt.datetime, compact: bool, rfc: bool = False) -> str:
    delta = value.utcoffset() or dt.timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    if rfc:
        return f"{sign}{hours:02d}:{minutes:02d}"
    return f"{sign}{hours:02d}{minutes:02d}" if compact else f"{sign}{hours:02d}"


def offset_suffix(value: dt.datetime) -> str:
    """BigQuery's zone suffix of a timestamp string: +00, -08, +05:30."""
    delta = value.utcoffset() or dt.timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    hours, minutes = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}" + (f":{minutes:02d}" if minutes else "")


def _fraction(value: dt.datetime | dt.time, digits: int | None) -> str:
    micros = value.microsecond
    if digits is None:  # %E*S: as many digits as the value needs
        text = f"{micros:06d}".rstrip("0")
        return f"{value.second:02d}" + (f".{text}" if text else "")
    if digits == 0:
        return f"{value.second:02d}"
    return f"{value.second:02d}." + f"{micros:06d}{'0' * 3}"[:digits]


def format_value(fmt: str, value: dt.date | dt.datetime, kind: str) -> str:
    """BigQuery's FORMAT_DATE/FORMAT_DATETIME/FORMAT_TIMESTAMP of `value` (a timestamp already
    in the zone it is shown in)."""
    out = []
    position = 0
    for match in _ELEMENT.finditer(fmt):
        out.append(fmt[position : match.start()])
        position = match.end()
        out.append(_element(match.group(1), value, kind))
    out.append(fmt[position:])
    return "".join(out)


def _week_of_year(day: dt.date, first_weekday: int) -> int:
    """%U (weeks start on Sunday: 6) and %W (on Monday: 0): days before the first such day are week 0."""
    shift = (day.weekday() - first_weekday) % 7
    return (day.timetuple().tm_yday + 6 - shift) // 7


# Elements of a date, from the date and its ISO (year, week, weekday).
_DATE_ELEMENTS = {
    "%": lambda d, iso: "%",
    "n": lambda d, iso: "\n",
    "t": lambda d, iso: "\t",
    "A": lambda d, iso: _DAYS[d.weekday()],
    "a": lambda d, iso: _DAYS[d.weekday()][:3],
    "B": lambda d, iso: _MONTHS[d.month - 1],
    "b": lambda d, iso: _MONTHS[d.month - 1][:3],
    "h": lambda d, iso: _MONTHS[d.month - 1][:3],
    "C": lambda d, iso: f"{d.year // 100:02d}",
    "d": lambda d, iso: f"{d.day:02d}",
    "e": lambda d, iso: f"{d.day:2d}",
    "G": lambda d, iso: str(iso[0]),
    "g": lambda d, iso: f"{iso[0] % 100:02d}",
    "j": lambda d, iso: f"{d.timetuple().tm_yday:03d}",
    "J": lambda d, iso: f"{(iso[1] - 1) * 7 + iso[2]:03d}",
    "m": lambda d, iso: f"{d.month:02d}",
    "Q": lambda d, iso: str((d.month - 1) // 3 + 1),
    "U": lambda d, iso: f"{_week_of_year(d, 6):02d}",
    "W": lambda d, iso: f"{_week_of_year(d, 0):02d}",
    "u": lambda d, iso: str(iso[2]),
    "V": lambda d, iso: f"{iso[1]:02d}",
    "w": lambda d, iso: str((d.weekday() + 1) % 7),
    "Y": lambda d, iso: str(d.year),
    "E4Y": lambda d, iso: f"{d.year:04d}",
    "y": lambda d, iso: f"{d.year % 100:02d}",
}
# Elements of a time of day.
_TIME_ELEMENTS: dict[str, Callable[[Any], str]] = {
    "H": lambda v: f"{v.hour:02d}",
    "I": lambda v: f"{(v.hour % 12) or 12:02d}",
    "k": lambda v: f"{v.hour:2d}",
    "l": lambda v: f"{(v.hour % 12) or 12:2d}",
    "M": lambda v: f"{v.minute:02d}",
    "S": lambda v: f"{v.second:02d}",
    "p": lambda v: "AM" if v.hour < 12 else "PM",
    "P": lambda v: "am" if v.hour < 12 else "pm",
    "E*S": lambda v: _fraction(v, None),
    **{f"E{n}S": partial(_fraction, digits=n) for n in range(10)},
}


def _element(code: str, value: dt.date | dt.datetime, kind: str) -> str:
    if code in _COMPOSITE:
        return format_value(_COMPOSITE[code], value, kind)
    timed = isinstance(value, dt.datetime)
    day = value.date() if isinstance(value, dt.datetime) else value
    if code in _DATE_ELEMENTS:
        return _DATE_ELEMENTS[code](day, day.isocalendar())
    if not timed:
        raise FormatError(f"format element %{code} needs a time; a {kind} has none")
    assert isinstance(value, dt.datetime)
    if code in _TIME_ELEMENTS:
        return _TIME_ELEMENTS[code](value)
    if code == "s":
        since = value - (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) if value.tzinfo else dt.datetime(1970, 1, 1))
        return str(since // dt.timedelta(seconds=1))
    if kind != "TIMESTAMP":
        raise FormatError(f"format element %{code} is only valid for a TIMESTAMP")
    if code == "z":
        return _offset(value, compact=True)
    if code == "Ez":
        return _offset(value, compact=True, rfc=True)
    if code == "Z":
        suffix = offset_suffix(value)
        if suffix == "+00":
            return "UTC"
        hours, _, minutes = suffix[1:].partition(":")
        return f"UTC{suffix[0]}{int(hours)}" + (f":{minutes}" if minutes else "")
    raise FormatError(f"format element %{code} is not supported")


# -- parsing -------------------------------------------------------------------------------
_NUMBER = {
    "d": (1, 2),
    "e": (1, 2),
    "m": (1, 2),
    "H": (1, 2),
    "I": (1, 2),
    "k": (1, 2),
    "l": (1, 2),
    "M": (1, 2),
    "S": (1, 2),
    "j": (1, 3),
    "y": (1, 2),
    "C": (1, 2),
    "Y": (1, 4),
    "E4Y": (4, 4),
    "s": (1, 19),
}


def _parse_pattern(fmt: str) -> tuple[re.Pattern[str], list[str]]:
    parts: list[str] = [r"\s*"]
    fields: list[str] = []
    position = 0
    expanded = fmt
    for _ in range(3):  # composite elements expand into plain ones (%c holds %e)
        expanded = re.sub(r"%([cDFRTxX])", lambda m: _COMPOSITE[m.group(1)], expanded)
    for match in _ELEMENT.finditer(expanded):
        literal = expanded[position : match.start()]
        parts.append(_literal(literal))
        position = match.end()
        code = match.group(1)
        group = f"f{len(fields)}"
        fields.append(code)
        if code in _NUMBER:
            low, high = _NUMBER[code]
            sign = "[+-]?" if code == "s" else ""
            lead = r" ?" if code in ("e", "k", "l") else ""
            parts.append(f"{lead}(?P<{group}>{sign}\\d{{{low},{high}}})")
        elif code in ("a", "A"):
            parts.append(f"(?P<{group}>(?:{'|'.join(d for d in _DAYS)}|{'|'.join(d[:3] for d in _DAYS)}))")
        elif code in ("b", "B", "h"):
            parts.append(f"(?P<{group}>(?:{'|'.join(_MONTHS)}|{'|'.join(m[:3] for m in _MONTHS)}))")
        elif code in ("p", "P"):
            parts.append(f"(?P<{group}>[AaPp][Mm])")
        elif code == "E*S":
            parts.append(f"(?P<{group}>\\d{{1,2}}(?:\\.\\d{{1,9}})?)")
        elif code.startswith("E") and code.endswith("S"):
            digits = int(code[1])
            parts.append(f"(?P<{group}>\\d{{1,2}}" + (f"\\.\\d{{{digits}}})" if digits else ")"))
        elif code in ("z", "Ez"):
            parts.append(f"(?P<{group}>Z|[+-]\\d{{2}}:?\\d{{2}}|[+-]\\d{{1,2}})")
        elif code == "Z":
            parts.append(f"(?P<{group}>[A-Za-z_/+\\-0-9:]+)")
        elif code == "%":
            parts.append("%")
        elif code in ("n", "t"):
            parts.append(r"\s*")
        else:
            raise FormatError(f"format element %{code} is not supported for parsing by the local engine")
    parts.append(_literal(expanded[position:]))
    parts.append(r"\s*")
    return re.compile("".join(parts), re.IGNORECASE), fields


def _literal(text: str) -> str:
    # A space of the format matches any run of white space (none included).
    return "".join(r"\s*" if ch.isspace() else re.escape(ch) for ch in text)


def parse_value(fmt: str, text: str, kind: str, zone: str | None = None) -> dt.date | dt.datetime:
    """BigQuery's PARSE_DATE/PARSE_DATETIME/PARSE_TIMESTAMP. Unset fields default to
    1970-01-01 00:00:00; a timestamp without a zone element is read in `zone` (UTC)."""
    pattern, fields = _parse_pattern(fmt)
    match = pattern.fullmatch(text)
    if match is None:
        raise FormatError(f"Failed to parse input string {text!r} with format {fmt!r}")
    year, month, day, hour, minute, second, micros = 1970, 1, 1, 0, 0, 0, 0
    century = yy = None
    pm = None
    twelve = False
    day_of_year = None
    offset = None
    named_zone = None
    epoch = None
    for index, code in enumerate(fields):
        value = match.group(f"f{index}")
        if value is None:
            continue
        if code in ("Y", "E4Y"):
            year = int(value)
        elif code == "y":
            yy = int(value)
        elif code == "C":
            century = int(value)
        elif code == "m":
            month = int(value)
        elif code in ("b", "B", "h"):
            month = [m[:3].lower() for m in _MONTHS].index(value[:3].lower()) + 1
        elif code in ("d", "e"):
            day = int(value)
        elif code == "j":
            day_of_year = int(value)
        elif code in ("H", "k"):
            hour = int(value)
        elif code in ("I", "l"):
            hour, twelve = int(value), True
        elif code == "M":
            minute = int(value)
        elif code == "S":
            second = int(value)
        elif code.startswith("E") and code.endswith("S"):
            whole, _, fraction = value.partition(".")
            second = int(whole)
            micros = int((fraction + "000000")[:6]) if fraction else 0
        elif code in ("p", "P"):
            pm = value.lower() == "pm"
        elif code in ("z", "Ez"):
            offset = _parsed_offset(value)
        elif code == "Z":
            named_zone = value
        elif code == "s":
            epoch = int(value)
    if yy is not None:
        year = (century if century is not None else (20 if yy < 69 else 19)) * 100 + yy
    elif century is not None:
        year = century * 100 + year % 100
    if twelve or pm is not None:
        if twelve and not 1 <= hour <= 12:
            raise FormatError(f"Failed to parse input string {text!r}: hour {hour} is not on a 12-hour clock")
        hour = hour % 12 + (12 if pm else 0)
    try:
        if day_of_year is not None:
            date = dt.date(year, 1, 1) + dt.timedelta(days=day_of_year - 1)
            if date.year != year:
                raise ValueError("day of year out of range")
        else:
            date = dt.date(year, month, day)
        if second == 60:
            raise ValueError("leap second")
        moment = dt.datetime.combine(date, dt.time(hour, minute, second, micros))
    except ValueError as err:
        raise FormatError(f"Failed to parse input string {text!r}: {err}") from None
    if kind == "DATE":
        if any(code in fields for code in ("H", "I", "k", "l", "M", "S", "p", "P", "z", "Ez", "Z", "s")):
            raise FormatError("PARSE_DATE format elements must be date elements")
        return moment.date()
    if kind == "DATETIME":
        return moment
    if epoch is not None:
        return dt.datetime.fromtimestamp(epoch, dt.UTC)
    zone_of = offset if offset is not None else zone_info(named_zone or zone or "UTC")
    return (
        moment.replace(tzinfo=zone_of, fold=0).astimezone(dt.UTC)
        if not isinstance(zone_of, ZoneInfo)
        else moment.replace(tzinfo=zone_of).astimezone(dt.UTC)
    )


def _parsed_offset(value: str) -> dt.tzinfo:
    if value.upper() == "Z":
        return dt.UTC
    sign = -1 if value[0] == "-" else 1
    digits = value[1:].replace(":", "")
    hours, minutes = (int(digits[:2]), int(digits[2:] or 0)) if len(digits) > 2 else (int(digits), 0)
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
