"""Time partitioning: PARTITION BY clauses, and `table$YYYYMMDD` decorators as row filters.

A write to `t$20240131` (a query's destination table or a load job's) touches only that
partition: WRITE_TRUNCATE replaces it, WRITE_APPEND adds to it, and every written row must
belong to it, as in BigQuery. Only column-partitioned tables (DAY, HOUR, MONTH, YEAR on a
DATE, DATETIME or TIMESTAMP column) take decorators here; ingestion-time and integer-range
partitioning are kept as table metadata only.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlglot import exp

from .errors import invalid
from .schema import Field, literal, quote

_ID_FORMATS = {"DAY": ("%Y%m%d", 8), "HOUR": ("%Y%m%d%H", 10), "MONTH": ("%Y%m", 6), "YEAR": ("%Y", 4)}
_TRUNC_UNITS = {"DAY", "HOUR", "MONTH", "YEAR"}


def split_decorator(table_id: str) -> tuple[str, str | None]:
    """`t$20240131` -> ("t", "20240131"); `t` -> ("t", None)."""
    name, sep, partition = table_id.partition("$")
    return name, (partition if sep else None)


def from_ddl(expression: exp.Expression) -> dict[str, Any]:
    """The table resource fields a DDL `PARTITION BY <expression>` stands for."""
    if isinstance(expression, exp.Identifier):
        expression = exp.column(expression.copy())
    if isinstance(expression, exp.Column):
        if expression.name.upper() in ("_PARTITIONDATE", "_PARTITIONTIME"):
            return {"timePartitioning": {"type": "DAY"}}
        return {"timePartitioning": {"type": "DAY", "field": expression.name}}
    if isinstance(expression, (exp.Date, exp.TsOrDsToDate)) or (
        isinstance(expression, exp.Cast) and expression.to.this == exp.DataType.Type.DATE
    ):
        column = expression.this
        if isinstance(column, exp.Column):
            if column.name.upper() == "_PARTITIONTIME":
                return {"timePartitioning": {"type": "DAY"}}
            return {"timePartitioning": {"type": "DAY", "field": column.name}}
    if isinstance(expression, (exp.TimestampTrunc, exp.DatetimeTrunc, exp.DateTrunc)):
        column = expression.this
        unit = (expression.args["unit"].name if expression.args.get("unit") else "").upper()
        if isinstance(column, exp.Column) and unit in _TRUNC_UNITS:
            resource: dict[str, Any] = {"type": unit}
            if column.name.upper() != "_PARTITIONTIME":
                resource["field"] = column.name
            return {"timePartitioning": resource}
    if isinstance(expression, exp.RangeBucket):
        column, bounds = expression.this, expression.expression
        values = [int(v.name) for v in bounds.find_all(exp.Literal)]
        if len(values) == 3 and isinstance(column, exp.Column):
            start, end, interval = values
            return {
                "rangePartitioning": {
                    "field": column.name,
                    "range": {"start": str(start), "end": str(end), "interval": str(interval)},
                }
            }
    raise invalid(
        f"PARTITION BY expression must be a DATE column, DATE(<timestamp>), a *_TRUNC of a column or RANGE_BUCKET; got {expression.sql(dialect='bigquery')}"
    )


def check_partitioning(resource: dict[str, Any] | None, fields: list[Field]) -> None:
    """BigQuery's rules for timePartitioning.field: it exists, is top-level and of a time type."""
    column = (resource or {}).get("field")
    if not column:
        return
    kind = (resource or {}).get("type", "DAY")
    if kind not in _ID_FORMATS:
        raise invalid(f"Invalid time partitioning type {kind}; expected DAY, HOUR, MONTH or YEAR")
    match = next((f for f in fields if f.name.lower() == column.lower()), None)
    if match is None:
        raise invalid(
            f"The field specified for time partitioning can only be a top-level field. Field {column} not found in the schema"
        )
    if match.type not in ("DATE", "DATETIME", "TIMESTAMP") or match.repeated:
        raise invalid(f"Partitioning field {column} must be of type DATE, DATETIME or TIMESTAMP, not {match.type}")
    if match.type == "DATE" and kind == "HOUR":
        raise invalid(f"Partitioning field {column} is a DATE; HOUR partitioning needs a DATETIME or TIMESTAMP")


def partition_filter(
    time_partitioning: dict[str, Any] | None, fields: list[Field], partition_id: str, table: str
) -> str:
    """A DuckDB condition that holds for exactly the rows of one partition."""
    column = (time_partitioning or {}).get("field")
    if not time_partitioning or not column:
        what = (
            "not partitioned"
            if not time_partitioning
            else "partitioned by ingestion time, which the fake does not write to"
        )
        raise invalid(f"Cannot write to partition {partition_id} of {table}: the table is {what}")
    kind = time_partitioning.get("type", "DAY")
    field = next(f for f in fields if f.name.lower() == column.lower())
    ref = quote(field.name)
    if partition_id == "__NULL__":
        return f"{ref} IS NULL"
    fmt, width = _ID_FORMATS[kind]
    try:
        if len(partition_id) != width or not partition_id.isdigit():
            raise ValueError(partition_id)
        start = dt.datetime.strptime(partition_id, fmt)
    except ValueError:
        raise invalid(
            f"Invalid partition decorator {table}${partition_id}: a {kind} partition id has the form {fmt.replace('%', '')}"
        ) from None
    end = _next(start, kind)
    cast = {"DATE": "DATE", "DATETIME": "TIMESTAMP", "TIMESTAMP": "TIMESTAMPTZ"}[field.type]
    suffix = "+00" if field.type == "TIMESTAMP" else ""
    shape = "%Y-%m-%d" if field.type == "DATE" else "%Y-%m-%d %H:%M:%S"
    low, high = (literal(t.strftime(shape) + suffix) for t in (start, end))
    return f"({ref} >= CAST({low} AS {cast}) AND {ref} < CAST({high} AS {cast}))"


def _next(start: dt.datetime, kind: str) -> dt.datetime:
    if kind == "HOUR":
        return start + dt.timedelta(hours=1)
    if kind == "DAY":
        return start + dt.timedelta(days=1)
    if kind == "MONTH":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start.replace(year=start.year + 1)


def clustering_from_ddl(columns: list[exp.Expression]) -> dict[str, Any]:
    return {"clustering": {"fields": [c.name for c in columns]}}


def check_clustering(resource: dict[str, Any] | None, fields: list[Field]) -> None:
    names = list((resource or {}).get("fields") or ())
    if len(names) > 4:
        raise invalid(f"Too many clustering fields: {len(names)}; at most 4 are allowed")
    known = {f.name.lower(): f for f in fields}
    for name in names:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name.lower() not in known:
            raise invalid(f"The field specified for clustering cannot be found in the schema. Invalid field: {name}")
        if known[name.lower()].repeated or known[name.lower()].type in ("RECORD", "JSON", "FLOAT"):
            raise invalid(f"Field {name} is of type {known[name.lower()].type}, which is not supported for clustering")
