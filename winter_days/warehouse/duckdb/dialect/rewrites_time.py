"""BigQuery's answers for dates, times and their strings where DuckDB's differ.

FORMAT_* and PARSE_* follow BigQuery's format elements (time_formats.py, run as DuckDB
functions: udfs.py) and FORMAT_TIMESTAMP honours its time zone; STRING(timestamp, zone)
writes the zone's offset; the TIMESTAMP_SECONDS family makes absolute timestamps and the
UNIX_SECONDS family rounds down as BigQuery does.
"""

from __future__ import annotations

from sqlglot import exp

from winter_days.warehouse.duckdb.dialect.rewriting import call, cast, handles, operands_first, template

_TIME_WRAPPERS = (exp.TsOrDsToTimestamp, exp.TsOrDsToDate, exp.TsOrDsToDatetime)


def _unwrap(value: exp.Expr) -> exp.Expr:
    return value.this if isinstance(value, _TIME_WRAPPERS) else value


def _bigquery_format(fmt: exp.Expr) -> exp.Expr:
    """The format as BigQuery wrote it: sqlglot spells a literal format's %e as %-d and %E6S
    as %S.%f when it parses it (its other spellings mean the same in BigQuery)."""
    if isinstance(fmt, exp.Literal) and fmt.is_string:
        return exp.Literal.string(fmt.this.replace("%-d", "%e").replace("%S.%f", "%E6S"))
    return fmt


@handles(exp.TimeToStr)
def _format(node: exp.TimeToStr) -> exp.Expr:
    operands_first(node)
    name = str(node.meta.get("bigquery_name") or "FORMAT_TIMESTAMP").upper()
    value = _unwrap(node.this)
    fmt = _bigquery_format(node.args["format"])
    if name == "FORMAT_DATE":
        return call("winter_days_format_date", fmt, cast(value, "DATE"))
    if name == "FORMAT_DATETIME":
        return call("winter_days_format_datetime", fmt, cast(value, "TIMESTAMP"))
    zone = node.args.get("zone") or exp.Literal.string("UTC")
    return call("winter_days_format_timestamp", fmt, cast(value, "TIMESTAMPTZ"), zone)


def parse(node: exp.Expr, safe: bool) -> exp.Expr:
    """PARSE_TIMESTAMP / PARSE_DATETIME / PARSE_DATE (SAFE.: NULL instead of an error)."""
    operands_first(node)
    functions: dict[type[exp.Expr], str] = {
        exp.StrToDate: "winter_days_parse_date",
        exp.ParseDatetime: "winter_days_parse_datetime",
    }
    function = functions.get(type(node), "winter_days_parse_timestamp")
    zone = node.args.get("zone") or exp.Literal.string("UTC")
    return call(function, _bigquery_format(node.args["format"]), node.this, zone, exp.Boolean(this=safe))


@handles(exp.StrToTime, exp.StrToDate, exp.ParseDatetime)
def _parse(node: exp.Expr) -> exp.Expr:
    return parse(node, safe=False)


@handles(exp.String)
def _string(node: exp.String) -> exp.Expr:
    zone = node.args.get("zone")
    if zone is None:
        return node
    operands_first(node)
    return call("winter_days_timestamp_string", cast(node.this, "TIMESTAMPTZ"), zone)


@handles(exp.UnixToTime)
def _from_unix(node: exp.UnixToTime) -> exp.Expr:
    operands_first(node)
    scale = node.args.get("scale")
    factor = {None: 1_000_000, "3": 1_000, "6": 1}.get(scale.name if isinstance(scale, exp.Literal) else None)
    if factor is None:
        return node
    return template(f"CAST(MAKE_TIMESTAMP(CAST(_a AS BIGINT) * {factor}) AS TIMESTAMPTZ)", a=node.this)


@handles(exp.UnixSeconds, exp.UnixMillis)
def _unix_time(node: exp.Expr) -> exp.Expr:
    operands_first(node)
    # BigQuery rounds down to the second (millisecond); DuckDB's epoch() keeps the fraction.
    per_unit = 1_000_000 if isinstance(node, exp.UnixSeconds) else 1_000
    return template(f"CAST(FLOOR(EPOCH_US(CAST(_a AS TIMESTAMPTZ)) / {per_unit}) AS BIGINT)", a=node.this)


@handles(exp.DateFromUnixDate)
def _date_from_unix(node: exp.DateFromUnixDate) -> exp.Expr:
    operands_first(node)
    return template("CAST(DATE '1970-01-01' + CAST(_a AS INTEGER) AS DATE)", a=node.this)


@handles(exp.CurrentDatetime)
def _current_datetime(node: exp.CurrentDatetime) -> exp.Expr:
    zone = node.this if isinstance(node.this, exp.Expr) else exp.Literal.string("UTC")
    return template("TIMEZONE(_z, CAST(NOW() AS TIMESTAMPTZ))", z=zone)
