"""BigQuery table schemas and their DuckDB and Arrow counterparts.

A dataset is a DuckDB schema and a table a DuckDB table, so DuckDB's column types are the
stored truth: a BigQuery schema is read back from them (INTEGER <- BIGINT, NUMERIC <-
DECIMAL(38, 9), TIMESTAMP <- TIMESTAMPTZ, DATETIME <- TIMESTAMP, RECORD <- STRUCT,
REPEATED <- LIST, REQUIRED <- NOT NULL). Descriptions live beside them in the catalog.
Schemas come back with BigQuery's legacy type names (INTEGER, FLOAT, BOOLEAN, RECORD), as
tables.get returns them.

The logical size of a value (what on-demand queries are billed by) follows BigQuery's data
type sizes: 8 bytes for INT64/FLOAT64/DATE/DATETIME/TIME/TIMESTAMP, 16 for NUMERIC and
INTERVAL, 1 for BOOL, 2 + UTF-8 length for STRING and JSON, 2 + length for BYTES, the sum of
the parts for STRUCT and ARRAY, and 0 for NULL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from .errors import BigQueryError, invalid

ALIASES = {"INT64": "INTEGER", "FLOAT64": "FLOAT", "BOOL": "BOOLEAN", "STRUCT": "RECORD"}
SCALAR_DUCKDB = {
    "STRING": "VARCHAR",
    "BYTES": "BLOB",
    "INTEGER": "BIGINT",
    "FLOAT": "DOUBLE",
    "NUMERIC": "DECIMAL(38, 9)",
    "BOOLEAN": "BOOLEAN",
    "TIMESTAMP": "TIMESTAMPTZ",
    "DATETIME": "TIMESTAMP",
    "DATE": "DATE",
    "TIME": "TIME",
    "JSON": "JSON",
    "INTERVAL": "INTERVAL",
}
SCALAR_ARROW = {
    "STRING": pa.string(),
    "BYTES": pa.binary(),
    "INTEGER": pa.int64(),
    "FLOAT": pa.float64(),
    "NUMERIC": pa.decimal128(38, 9),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP": pa.timestamp("us", tz="UTC"),
    "DATETIME": pa.timestamp("us"),
    "DATE": pa.date32(),
    "TIME": pa.time64("us"),
    "JSON": pa.string(),
    "INTERVAL": pa.month_day_nano_interval(),
}
FIXED_SIZE = {
    "INTEGER": 8,
    "FLOAT": 8,
    "NUMERIC": 16,
    "BOOLEAN": 1,
    "TIMESTAMP": 8,
    "DATETIME": 8,
    "DATE": 8,
    "TIME": 8,
    "INTERVAL": 16,
}
UNSUPPORTED_TYPES = ("BIGNUMERIC", "BIGDECIMAL", "GEOGRAPHY", "RANGE")
MODES = ("NULLABLE", "REQUIRED", "REPEATED")
_DUCKDB_INTEGERS = {
    "tinyint",
    "smallint",
    "integer",
    "bigint",
    "hugeint",
    "utinyint",
    "usmallint",
    "uinteger",
    "ubigint",
    "uhugeint",
}
_DUCKDB_SCALARS = {
    "double": "FLOAT",
    "float": "FLOAT",
    "decimal": "NUMERIC",
    "varchar": "STRING",
    "uuid": "STRING",
    "enum": "STRING",
    "blob": "BYTES",
    "boolean": "BOOLEAN",
    "timestamp with time zone": "TIMESTAMP",
    "timestamp": "DATETIME",
    "timestamp_ms": "DATETIME",
    "timestamp_ns": "DATETIME",
    "timestamp_s": "DATETIME",
    "date": "DATE",
    "time": "TIME",
    "interval": "INTERVAL",
    "null": "INTEGER",  # BigQuery types a bare NULL as INT64
}
_FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,299}$")


@dataclass(frozen=True)
class Field:
    """One column (or nested field) of a BigQuery schema."""

    name: str
    type: str
    mode: str = "NULLABLE"
    fields: tuple[Field, ...] = ()
    description: str | None = field(default=None, compare=False)

    @classmethod
    def from_api(cls, resource: dict[str, Any], where: str = "") -> Field:
        name = resource.get("name") or ""
        path = f"{where}{name}"
        if not _FIELD_NAME.match(name):
            raise invalid(
                f'Invalid field name "{name}". Fields must contain only letters, numbers, and underscores, '
                "start with a letter or underscore, and be at most 300 characters long."
            )
        kind = ALIASES.get(str(resource.get("type", "")).upper(), str(resource.get("type", "")).upper())
        if kind in UNSUPPORTED_TYPES:
            raise invalid(f"Field {path}: type {kind} is not supported by the BigQuery fake")
        if kind not in SCALAR_DUCKDB and kind != "RECORD":
            raise invalid(f"Invalid value for type: {resource.get('type')} is not a valid value (field {path})")
        mode = str(resource.get("mode") or "NULLABLE").upper()
        if mode not in MODES:
            raise invalid(f"Invalid value for mode: {resource.get('mode')} is not a valid value (field {path})")
        children = tuple(cls.from_api(f, f"{path}.") for f in resource.get("fields") or ())
        if kind == "RECORD" and not children:
            raise invalid(f"Field {path} is type RECORD but has no schema")
        check_unique(children, f"{path}.")
        return cls(name, kind, mode, children, resource.get("description"))

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type, "mode": self.mode}
        if self.fields:
            out["fields"] = [f.to_api() for f in self.fields]
        if self.description:
            out["description"] = self.description
        return out

    @property
    def repeated(self) -> bool:
        return self.mode == "REPEATED"

    def element(self) -> Field:
        """The field of one item of a REPEATED field."""
        return replace(self, mode="NULLABLE")

    def duckdb_type(self) -> str:
        if self.type == "RECORD":
            inner = ", ".join(f"{quote(f.name)} {f.duckdb_type()}" for f in self.fields)
            base = f"STRUCT({inner})"
        else:
            base = SCALAR_DUCKDB[self.type]
        return f"{base}[]" if self.repeated else base

    def arrow_type(self) -> pa.DataType:
        if self.type == "RECORD":
            base = pa.struct([pa.field(f.name, f.arrow_type()) for f in self.fields])
        else:
            base = SCALAR_ARROW[self.type]
        return pa.list_(base) if self.repeated else base

    def size_sql(self, ref: str, depth: int = 0) -> str:
        """A DuckDB expression for the logical bytes of this field's value in `ref`."""
        if self.repeated:
            var = f"__x{depth}"
            inner = self.element().size_sql(var, depth + 1)
            return f"COALESCE(list_sum(list_transform({ref}, lambda {var}: {inner})), 0)"
        if self.type == "RECORD":
            parts = " + ".join(f.size_sql(f"struct_extract({ref}, {literal(f.name)})", depth) for f in self.fields)
            return f"(CASE WHEN {ref} IS NULL THEN 0 ELSE {parts} END)"
        if self.type in ("STRING", "JSON"):
            return f"COALESCE(2 + strlen(CAST({ref} AS VARCHAR)), 0)"
        if self.type == "BYTES":
            return f"COALESCE(2 + octet_length({ref}), 0)"
        return f"(CASE WHEN {ref} IS NULL THEN 0 ELSE {FIXED_SIZE[self.type]} END)"


def check_unique(fields: tuple[Field, ...] | list[Field], where: str = "") -> None:
    seen: set[str] = set()
    for f in fields:
        if f.name.lower() in seen:
            raise invalid(f"Duplicate column names in the schema: {where}{f.name}")
        seen.add(f.name.lower())


def fields_from_api(resource: dict[str, Any] | None) -> list[Field]:
    fields = [Field.from_api(f) for f in (resource or {}).get("fields") or ()]
    check_unique(fields)
    return fields


def schema_api(fields: list[Field]) -> dict[str, Any]:
    return {"fields": [f.to_api() for f in fields]}


def from_duckdb(name: str, duck: Any, required: bool = False) -> Field:
    """The BigQuery field for a DuckDB column type (a DuckDBPyType)."""
    kind = duck.id
    if kind in ("list", "array"):
        element = from_duckdb(name, dict(duck.children)["child"])
        if element.repeated:
            raise BigQueryError(
                "invalidQuery", f"Cannot return an array of arrays (column {name}); BigQuery has no ARRAY<ARRAY>"
            )
        return replace(element, mode="REPEATED")
    mode = "REQUIRED" if required else "NULLABLE"
    if kind == "struct":
        return Field(name, "RECORD", mode, tuple(from_duckdb(n, t) for n, t in duck.children))
    if str(duck) == "JSON":
        return Field(name, "JSON", mode)
    if kind in _DUCKDB_INTEGERS:
        return Field(name, "INTEGER", mode)
    if kind in _DUCKDB_SCALARS:
        return Field(name, _DUCKDB_SCALARS[kind], mode)
    raise BigQueryError("invalidQuery", f"Column {name} has DuckDB type {duck}, which has no BigQuery equivalent")


def from_arrow(name: str, kind: pa.DataType, list_inference: bool = True) -> Field:
    """The BigQuery field a Parquet/Arrow column loads as (BigQuery's Parquet conversions)."""
    if pa.types.is_dictionary(kind):
        return from_arrow(name, kind.value_type, list_inference)
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        element = from_arrow(name, kind.value_type, list_inference)
        if not list_inference:
            # Without parquetOptions.enableListInference a Parquet LIST keeps its
            # three-level shape: RECORD<list REPEATED RECORD<element ...>>.
            item = Field("element", element.type, element.mode, element.fields)
            return Field(name, "RECORD", "NULLABLE", (Field("list", "RECORD", "REPEATED", (item,)),))
        if element.repeated:
            raise invalid(f"Column {name}: BigQuery has no ARRAY<ARRAY>")
        return replace(element, mode="REPEATED")
    if pa.types.is_struct(kind):
        return Field(name, "RECORD", "NULLABLE", tuple(from_arrow(f.name, f.type, list_inference) for f in kind))
    if pa.types.is_integer(kind):
        return Field(name, "INTEGER")
    if pa.types.is_floating(kind):
        return Field(name, "FLOAT")
    if pa.types.is_decimal(kind):
        if kind.scale > 9 or kind.precision - kind.scale > 29:
            raise invalid(f"Column {name}: {kind} needs BIGNUMERIC, which the BigQuery fake does not support")
        return Field(name, "NUMERIC")
    if pa.types.is_boolean(kind):
        return Field(name, "BOOLEAN")
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind):
        return Field(name, "STRING")
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        return Field(name, "BYTES")
    if pa.types.is_timestamp(kind):
        return Field(name, "TIMESTAMP" if kind.tz else "DATETIME")
    if pa.types.is_date(kind):
        return Field(name, "DATE")
    if pa.types.is_time(kind):
        return Field(name, "TIME")
    raise invalid(f"Column {name} has type {kind}, which BigQuery cannot load")


def quote(identifier: str) -> str:
    """A DuckDB identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A DuckDB string literal."""
    return "'" + text.replace("'", "''") + "'"


def compatible(old: Field, new: Field) -> str | None:
    """Why `new` cannot take `old`'s place in a table schema (None when it can)."""
    if old.type != new.type:
        return f"Field {old.name} has changed type from {old.type} to {new.type}"
    if old.mode != new.mode and not (old.mode == "REQUIRED" and new.mode == "NULLABLE"):
        return f"Field {old.name} has changed mode from {old.mode} to {new.mode}"
    if old.type == "RECORD":
        by_name = {f.name.lower(): f for f in new.fields}
        for child in old.fields:
            if child.name.lower() not in by_name:
                return f"Field {old.name}.{child.name} is missing in new schema"
            reason = compatible(child, by_name[child.name.lower()])
            if reason:
                return reason
        added = [f for f in new.fields if f.name.lower() not in {c.name.lower() for c in old.fields}]
        if any(f.mode == "REQUIRED" for f in added):
            return f"Cannot add required fields to an existing schema (field {old.name})"
    return None
