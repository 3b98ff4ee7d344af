"""Writing rows into a table as jobs do: dispositions, partition decorators, schema updates.

One path for every writer (a query's destination table, load jobs, copy jobs,
tabledata.insertAll), so each obeys the same rules:
- createDisposition CREATE_IF_NEEDED makes a missing table (with the job's partitioning
  and clustering), CREATE_NEVER fails with notFound.
- writeDisposition WRITE_EMPTY fails with duplicate when the table (or the decorated
  partition) holds rows; WRITE_TRUNCATE replaces the table's rows and schema, or only the
  decorated partition's rows; WRITE_APPEND adds rows.
- New columns need schemaUpdateOptions ALLOW_FIELD_ADDITION and REQUIRED -> NULLABLE needs
  ALLOW_FIELD_RELAXATION; a query may not change a column's type (loads cast).
- With a `$partition` decorator every row must belong to that partition.
A write is one DuckDB transaction: it lands whole or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import duckdb
import pyarrow as pa

from .errors import BigQueryError, duplicate, from_duckdb, invalid, not_found
from .partitions import check_clustering, check_partitioning, partition_filter, split_decorator
from .schema import Field, compatible, quote
from .store import Store, TableMeta

_SOURCE = "__bqfake_rows"
_WHOLE_TABLE = 1 << 62
_TABLE_FIELDS = (
    "description",
    "friendlyName",
    "labels",
    "timePartitioning",
    "rangePartitioning",
    "clustering",
    "expirationTime",
    "requirePartitionFilter",
)


@dataclass
class Write:
    """Where and how a job writes."""

    dataset: str
    table: str
    partition: str | None = None
    disposition: str = "WRITE_APPEND"
    create: str = "CREATE_IF_NEEDED"
    schema_updates: tuple[str, ...] = ()
    table_resource: dict[str, Any] = field(default_factory=dict)  # partitioning etc. of a table this write creates
    strict_types: bool = True  # queries keep types; loads cast to the table's

    @property
    def label(self) -> str:
        return f"{self.dataset}.{self.table}" + (f"${self.partition}" if self.partition else "")


def write_rows(store: Store, target: Write, fields: list[Field], data: pa.Table) -> int:
    """Write `data` (columns named as `fields`) into the target; the number of rows written."""
    if target.disposition not in ("WRITE_APPEND", "WRITE_TRUNCATE", "WRITE_EMPTY"):
        raise invalid(f"Invalid value for writeDisposition: {target.disposition}")
    if target.create not in ("CREATE_IF_NEEDED", "CREATE_NEVER"):
        raise invalid(f"Invalid value for createDisposition: {target.create}")
    with store.writes, store.cursor() as cur:
        store.require_dataset(target.dataset)
        meta = store.tables.get((target.dataset, target.table))
        if meta is not None and meta.kind != "TABLE":
            raise invalid(
                f"Cannot write to {store.table_name(target.dataset, target.table)}: it is a {meta.kind}, not a table"
            )
        cur.register(_SOURCE, data)
        try:
            cur.begin()
            try:
                written = _write(store, cur, target, meta, fields)
                cur.commit()
            except BaseException:
                cur.rollback()
                raise
        except duckdb.Error as err:
            raise from_duckdb(err) from None
        finally:
            cur.unregister(_SOURCE)
        store.changed(target.dataset, target.table)
        return written


def _write(
    store: Store, cur: duckdb.DuckDBPyConnection, target: Write, meta: TableMeta | None, fields: list[Field]
) -> int:
    name = store.sql_name(target.dataset, target.table)
    full_name = store.table_name(target.dataset, target.table)
    if meta is None:
        if target.create == "CREATE_NEVER":
            raise not_found(f"Table {full_name} was not found in location {store.location}")
        resource = {k: v for k, v in target.table_resource.items() if k in _TABLE_FIELDS}
        check_partitioning(resource.get("timePartitioning"), fields)
        check_clustering(resource.get("clustering"), fields)
        meta = TableMeta("TABLE", resource=resource)
        if target.partition:
            _check_rows_in_partition(cur, meta, fields, target, full_name)
        store.create_table(target.dataset, target.table, fields, meta, cur)
        return _insert(cur, name, fields, fields)
    if target.disposition == "WRITE_TRUNCATE" and not target.partition:
        check_partitioning(meta.resource.get("timePartitioning"), fields)
        check_clustering(meta.resource.get("clustering"), fields)
        old = {k: v for k, v in meta.descriptions.items()}
        kept = [replace(f, description=f.description or old.get(f.name.lower())) for f in fields]
        store.create_table(target.dataset, target.table, kept, meta, cur, replace=True)
        meta.touch()
        return _insert(cur, name, fields, fields)
    table_fields = _reconcile(store, cur, target, fields)
    condition = None
    if target.partition:
        condition = partition_filter(meta.resource.get("timePartitioning"), table_fields, target.partition, full_name)
        _check_rows_in_partition(cur, meta, table_fields, target, full_name, fields)
    if target.disposition == "WRITE_EMPTY":
        found = cur.execute(f"SELECT COUNT(*) FROM {name}{' WHERE ' + condition if condition else ''}").fetchone()
        if found and found[0]:
            raise duplicate(f"Table {full_name}{'$' + target.partition if target.partition else ''}")
    if target.disposition == "WRITE_TRUNCATE" and condition:
        cur.execute(f"DELETE FROM {name} WHERE {condition}")
    return _insert(cur, name, fields, table_fields)


def _reconcile(store: Store, cur: duckdb.DuckDBPyConnection, target: Write, fields: list[Field]) -> list[Field]:
    """Check the written schema against the table's and apply allowed schema updates."""
    name = store.sql_name(target.dataset, target.table)
    full_name = store.table_name(target.dataset, target.table)
    table_fields = store.columns(target.dataset, target.table, cur)
    by_name = {f.name.lower(): f for f in table_fields}
    adding = "ALLOW_FIELD_ADDITION" in target.schema_updates
    relaxing = "ALLOW_FIELD_RELAXATION" in target.schema_updates
    for new in fields:
        old = by_name.get(new.name.lower())
        if old is None:
            if not adding:
                raise invalid(
                    f"Provided Schema does not match Table {full_name}. Cannot add fields (field: {new.name})"
                )
            if new.mode == "REQUIRED":
                raise invalid(
                    f"Provided Schema does not match Table {full_name}. Cannot add required fields (field: {new.name})"
                )
            cur.execute(f"ALTER TABLE {name} ADD COLUMN {quote(new.name)} {new.duckdb_type()}")
            continue
        reason = compatible(old, new)
        reshaped = old.repeated != new.repeated or (old.type == "RECORD") != (new.type == "RECORD")
        if reason and (target.strict_types or reshaped):
            raise invalid(f"Invalid schema update. {reason}")
        if old.mode == "REQUIRED" and new.mode != "REQUIRED" and relaxing:
            cur.execute(f"ALTER TABLE {name} ALTER COLUMN {quote(old.name)} DROP NOT NULL")
        grown = grow_field(old, new)
        if grown is not None:
            if not adding:
                raise invalid(
                    f"Provided Schema does not match Table {full_name}. Cannot add fields (field: {old.name})"
                )
            cur.execute(f"ALTER TABLE {name} ALTER COLUMN {quote(old.name)} SET DATA TYPE {grown.duckdb_type()}")
    return store.columns(target.dataset, target.table, cur)


def grow_field(old: Field, new: Field) -> Field | None:
    """`old` with the subfields `new` adds (None when it adds none)."""
    if old.type != "RECORD" or new.type != "RECORD":
        return None
    known = {f.name.lower(): f for f in old.fields}
    children, grew = [], False
    for child in old.fields:
        match = next((f for f in new.fields if f.name.lower() == child.name.lower()), None)
        bigger = grow_field(child, match) if match is not None else None
        grew = grew or bigger is not None
        children.append(bigger or child)
    for extra in new.fields:
        if extra.name.lower() not in known:
            children.append(replace(extra, mode="NULLABLE" if extra.mode == "REQUIRED" else extra.mode))
            grew = True
    return replace(old, fields=tuple(children)) if grew else None


def _cast_columns(source_fields: list[Field], table_fields: list[Field]) -> str:
    by_name = {f.name.lower(): f for f in table_fields}
    return ", ".join(
        f"CAST({quote(f.name)} AS {by_name[f.name.lower()].duckdb_type()}) AS {quote(by_name[f.name.lower()].name)}"
        for f in source_fields
    )


def _insert(cur: duckdb.DuckDBPyConnection, name: str, fields: list[Field], table_fields: list[Field]) -> int:
    if not fields:
        return 0
    by_name = {f.name.lower(): f for f in table_fields}
    columns = ", ".join(quote(by_name[f.name.lower()].name) for f in fields)
    result = cur.execute(
        f"INSERT INTO {name} ({columns}) SELECT {_cast_columns(fields, table_fields)} FROM {_SOURCE}"
    ).fetchone()
    return int(result[0]) if result else 0


def _check_rows_in_partition(
    cur: duckdb.DuckDBPyConnection,
    meta: TableMeta,
    table_fields: list[Field],
    target: Write,
    full_name: str,
    source_fields: list[Field] | None = None,
) -> None:
    assert target.partition is not None
    condition = partition_filter(meta.resource.get("timePartitioning"), table_fields, target.partition, full_name)
    source = source_fields or table_fields
    rows = f"SELECT {_cast_columns(source, table_fields)} FROM {_SOURCE}"
    column = meta.resource["timePartitioning"]["field"]
    if column.lower() not in {f.name.lower() for f in source}:
        raise invalid(
            f"The partitioning column {column} is missing from the rows written to {full_name}${target.partition}"
        )
    outside = cur.execute(f"SELECT COUNT(*) FROM ({rows}) WHERE NOT COALESCE({condition}, FALSE)").fetchone()
    if outside and outside[0]:
        raise BigQueryError(
            "invalid", f"Some rows belong to different partitions rather than destination partition {target.partition}"
        )


def copy_tables(store: Store, config: dict[str, Any]) -> dict[str, str]:
    """Carry out a copy job (sources appended in order); its statistics.copy."""
    sources = list(config.get("sourceTables") or ([config["sourceTable"]] if config.get("sourceTable") else []))
    if not sources:
        raise invalid("Copy job has no sourceTable")
    parts, fields = [], None
    resource: dict[str, Any] = {}
    for source in sources:
        if source.get("projectId") not in (None, store.project):
            raise not_found(f"Project {source['projectId']} (the BigQuery fake serves project {store.project} only)")
        meta = store.require_table(source["datasetId"], source["tableId"])
        if meta.kind != "TABLE":
            raise invalid(
                f"Cannot copy {store.table_name(source['datasetId'], source['tableId'])}: it is a {meta.kind}"
            )
        fields, data = store.read(source["datasetId"], source["tableId"], 0, _WHOLE_TABLE, None)
        parts.append(data)
        resource = {
            k: v for k, v in meta.resource.items() if k in ("timePartitioning", "rangePartitioning", "clustering")
        }
    assert fields is not None
    destination = config.get("destinationTable") or {}
    table, partition = split_decorator(str(destination.get("tableId") or ""))
    target = Write(
        str(destination.get("datasetId") or ""),
        table,
        partition,
        disposition=str(config.get("writeDisposition") or "WRITE_EMPTY"),
        create=str(config.get("createDisposition") or "CREATE_IF_NEEDED"),
        table_resource=resource,
    )
    data = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
    rows = write_rows(store, target, fields, data)
    return {"copiedRows": str(rows), "copiedLogicalBytes": str(data.nbytes)}
