"""BigQuery's value encodings on the wire, both ways.

Out (tabledata.list, jobs.query, jobs.getQueryResults): rows are `{"f": [{"v": ...}]}`;
every scalar is a string: INT64 and NUMERIC as decimal text, BYTES as base64, DATE/TIME/
DATETIME in ISO form, TIMESTAMP as epoch seconds written like a Java double
("1.7040672E9"), or as epoch microseconds when the client asks for
formatOptions.useInt64Timestamp (the Python client always does), or as ISO 8601 text.
A RECORD is a nested `{"f": [...]}`, a REPEATED field a list of `{"v": ...}`.

In (tabledata.insertAll, NEWLINE_DELIMITED_JSON loads, query parameters): JSON values are
checked against the field's type and turned into Python values for Arrow.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import BigQueryError, invalid, invalid_query
from .schema import Field

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
TS_FLOAT, TS_INT64, TS_ISO = "FLOAT64", "INT64", "ISO8601_STRING"
NUMERIC_QUANTUM = Decimal("1e-9")
_TIMESTAMP_TEXT = re.compile(
    r"^(\d{4}-\d{1,2}-\d{1,2})(?:[Tt ](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,9}))?)?)?"
    r"\s*(Z|z|UTC|[+-]\d{1,2}(?::?\d{2})?)?$"
)


def timestamp_format(query: dict[str, list[str]], body: dict[str, Any] | None = None) -> str:
    """The TIMESTAMP encoding a request asks for (query string or a jobs.query body)."""
    options = dict((body or {}).get("formatOptions") or {})
    for key in ("useInt64Timestamp", "timestampOutputFormat"):
        if f"formatOptions.{key}" in query:
            options[key] = query[f"formatOptions.{key}"][0]
    chosen = str(options.get("timestampOutputFormat") or "")
    if chosen in (TS_INT64, TS_ISO, TS_FLOAT):
        return chosen
    return TS_INT64 if str(options.get("useInt64Timestamp", "")).lower() == "true" else TS_FLOAT


# -- out ------------------------------------------------------------------------------


def encode_rows(rows: list[tuple], fields: list[Field], ts_format: str) -> list[dict[str, Any]]:
    return [
        {"f": [{"v": encode_cell(value, f, ts_format)} for value, f in zip(row, fields, strict=False)]} for row in rows
    ]


def encode_cell(value: Any, field: Field, ts_format: str) -> Any:
    if field.repeated:
        item = field.element()
        return [{"v": encode_value(v, item, ts_format)} for v in value or ()]
    return encode_value(value, field, ts_format)


def encode_value(value: Any, field: Field, ts_format: str) -> Any:
    if value is None:
        return None
    kind = field.type
    if kind == "RECORD":
        return {"f": [{"v": encode_cell(value.get(f.name), f, ts_format)} for f in field.fields]}
    if kind == "INTEGER":
        return str(int(value))
    if kind == "FLOAT":
        return _float_text(float(value))
    if kind == "NUMERIC":
        return _decimal_text(Decimal(value))
    if kind == "BOOLEAN":
        return "true" if value else "false"
    if kind == "BYTES":
        return base64.b64encode(value).decode("ascii")
    if kind == "TIMESTAMP":
        return _timestamp_text(value, ts_format)
    if kind in ("DATE", "TIME", "DATETIME"):
        return value.isoformat()
    if kind == "INTERVAL":
        return _interval_text(value)
    return str(value)


def _float_text(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def java_double(value: float) -> str:
    """A double as Java's Double.toString writes it (BigQuery's float TIMESTAMP form)."""
    if value == 0:
        return "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    power = exponent + len(digits) - 1
    fraction = "".join(map(str, digits[1:])) or "0"
    return f"{'-' if sign else ''}{digits[0]}.{fraction}E{power}"


def _timestamp_text(value: dt.datetime, ts_format: str) -> str:
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    delta = value - EPOCH
    micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if ts_format == TS_INT64:
        return str(micros)
    if ts_format == TS_ISO:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return java_double(micros / 1_000_000)


def _interval_text(value: Any) -> str:
    """BigQuery's canonical INTERVAL text, `Y-M D H:M:S[.F]`."""
    months, days, nanos = value.months, value.days, value.nanoseconds
    years, months_left = divmod(abs(months), 12)
    sign = "-" if months < 0 else ""
    micros = abs(nanos) // 1000
    hours, rest = divmod(micros, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds, fraction = divmod(rest, 1_000_000)
    clock = f"{'-' if nanos < 0 else ''}{hours}:{minutes}:{seconds}" + (
        f".{fraction:06d}".rstrip("0") if fraction else ""
    )
    return f"{sign}{years}-{months_left} {days} {clock}"


# -- in -------------------------------------------------------------------------------


def decode_row(row: Any, fields: list[Field], ignore_unknown: bool, where: str = "") -> dict[str, Any]:
    """A JSON object checked against a schema, as Python values keyed by field name."""
    if not isinstance(row, dict):
        raise invalid(f"{where or 'Row'} is not a JSON object", location=where or None)
    by_name = {f.name.lower(): f for f in fields}
    unknown = [k for k in row if k.lower() not in by_name]
    if unknown and not ignore_unknown:
        raise invalid(f"no such field: {where}{unknown[0]}.", location=f"{where}{unknown[0]}")
    given = {k.lower(): v for k, v in row.items()}
    out: dict[str, Any] = {}
    for f in fields:
        out[f.name] = decode_cell(given.get(f.name.lower()), f, ignore_unknown, f"{where}{f.name}")
    return out


def decode_cell(value: Any, field: Field, ignore_unknown: bool, path: str) -> Any:
    if field.repeated:
        if value is None:
            return []
        if not isinstance(value, list):
            raise invalid(f"Field {path} is REPEATED; expected a JSON array", location=path)
        item = field.element()
        if any(v is None for v in value):
            raise invalid(f"Field {path}: an ARRAY cannot hold NULL values", location=path)
        return [decode_value(v, item, ignore_unknown, path) for v in value]
    if isinstance(value, list):
        raise invalid(f"Array specified for non-repeated field: {path}.", location=path)
    if value is None:
        if field.mode == "REQUIRED":
            raise invalid(f"Missing required field: {path}.", location=path)
        return None
    return decode_value(value, field, ignore_unknown, path)


def decode_value(value: Any, field: Field, ignore_unknown: bool, path: str) -> Any:
    try:
        return _decode(value, field, ignore_unknown, path)
    except BigQueryError:
        raise
    except (ValueError, TypeError, InvalidOperation, binascii.Error, OverflowError):
        raise invalid(
            f"Cannot convert value to {field.type.lower()} at {path}: {json.dumps(value)[:80]}", location=path
        ) from None


def _decode(value: Any, field: Field, ignore_unknown: bool, path: str) -> Any:
    kind = field.type
    if kind == "RECORD":
        if not isinstance(value, dict):
            raise invalid(f"This field: {path} is not a record.", location=path)
        return decode_row(value, list(field.fields), ignore_unknown, f"{path}.")
    if kind == "INTEGER":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        return (
            int(value)
            if not isinstance(value, str)
            else int(value.strip(), 0 if value.strip().lower().startswith(("0x", "-0x")) else 10)
        )
    if kind == "FLOAT":
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if kind == "NUMERIC":
        if isinstance(value, bool):
            raise ValueError(value)
        number = Decimal(str(value))
        if number != number.quantize(NUMERIC_QUANTUM) or abs(number) >= Decimal(10) ** 29:
            raise invalid(
                f"Invalid NUMERIC value: {value} (field {path}); NUMERIC holds 29 integer and 9 fraction digits",
                location=path,
            )
        return number
    if kind == "BOOLEAN":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValueError(value)
    if kind == "STRING":
        return value if isinstance(value, str) else json.dumps(value) if isinstance(value, bool) else str(value)
    if kind == "BYTES":
        return base64.b64decode(value, validate=True)
    if kind == "TIMESTAMP":
        return parse_timestamp(value)
    if kind == "DATETIME":
        return dt.datetime.fromisoformat(str(value).replace(" ", "T", 1))
    if kind == "DATE":
        return dt.date.fromisoformat(str(value))
    if kind == "TIME":
        return dt.time.fromisoformat(str(value))
    if kind == "JSON":
        if isinstance(value, str):
            json.loads(value)
            return value
        return json.dumps(value)
    raise invalid(f"Field {path}: type {kind} cannot be written through this API of the fake", location=path)


def parse_timestamp(value: Any) -> dt.datetime:
    """A TIMESTAMP from JSON: epoch seconds, or text in BigQuery's canonical forms."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return EPOCH + dt.timedelta(microseconds=round(value * 1_000_000))
    match = _TIMESTAMP_TEXT.match(str(value).strip())
    if match is None:
        raise ValueError(value)
    day, hour, minute, second, fraction, zone = match.groups()
    moment = dt.datetime.combine(
        dt.date.fromisoformat("-".join(p.zfill(2) for p in day.split("-"))),
        dt.time(int(hour or 0), int(minute or 0), int(second or 0), int((fraction or "0")[:6].ljust(6, "0"))),
    )
    offset = dt.timedelta(0)
    if zone and zone not in ("Z", "z", "UTC"):
        digits = zone[1:].replace(":", "")
        hours, minutes = (int(digits[:-2]), int(digits[-2:])) if len(digits) > 2 else (int(digits), 0)
        offset = dt.timedelta(hours=hours, minutes=minutes) * (-1 if zone[0] == "-" else 1)
    return (moment - offset).replace(tzinfo=UTC)


# -- query parameters -----------------------------------------------------------------

_PARAM_TYPES = {"INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN", "STRUCT": "RECORD", "BIGNUMERIC": "NUMERIC"}


def parameter_field(kind: dict[str, Any], name: str) -> Field:
    """The schema field a QueryParameterType describes (ARRAY -> REPEATED)."""
    type_name = str(kind.get("type", "")).upper()
    if type_name == "ARRAY":
        element = parameter_field(kind.get("arrayType") or {}, name)
        if element.repeated:
            raise invalid_query(f"Query parameter {name}: BigQuery has no ARRAY<ARRAY>")
        return Field(name, element.type, "REPEATED", element.fields)
    if type_name in ("STRUCT", "RECORD"):
        children = tuple(
            parameter_field(t.get("type") or {}, t.get("name") or f"_field_{i + 1}")
            for i, t in enumerate(kind.get("structTypes") or ())
        )
        return Field(name, "RECORD", "NULLABLE", children)
    resource = {"name": "p", "type": _PARAM_TYPES.get(type_name, type_name)}
    try:
        field = Field.from_api(resource)
    except BigQueryError as err:
        raise invalid_query(f"Query parameter {name}: {err.message}") from None
    return Field(name, field.type)


def parameter_value(value: dict[str, Any] | None, field: Field) -> Any:
    """A QueryParameterValue as the Python value DuckDB binds."""
    value = value or {}
    if field.repeated:
        item = field.element()
        return [parameter_value(v, item) for v in value.get("arrayValues") or ()]
    if field.type == "RECORD":
        given = value.get("structValues") or {}
        if not given and "value" not in value:
            return None
        return {f.name: parameter_value(given.get(f.name), f) for f in field.fields}
    raw = value.get("value")
    if raw is None:
        return None
    try:
        if field.type == "TIMESTAMP":
            return parse_timestamp(raw)
        return _decode(raw, field, False, field.name)
    except (ValueError, TypeError, InvalidOperation, binascii.Error) as err:
        raise invalid_query(
            f"Invalid value for query parameter {field.name} of type {field.type}: {raw!r} ({err})"
        ) from None
