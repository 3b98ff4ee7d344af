"""The warehouse port: the published tables that the ML step, the dashboards and the demo
report read, and that the ML step writes its predictions to.

Queries are BigQuery SQL naming tables by their logical names (`tables.py`); an adapter
runs them where the warehouse lives (`warehouse.duckdb` locally, translating the SQL;
`warehouse.bigquery` on gcp). Reads return Arrow tables. A write replaces one partition of
a table atomically, so a rerun never duplicates and a reader never sees half a write.
The platform module picks the adapter per profile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa

from winter_days.warehouse.tables import TableName, WrittenTable

# Named parameters (@name) as a mapping, or positional ones (?) as a sequence.
Params = Mapping[str, Any] | Sequence[Any]


class WarehouseError(RuntimeError):
    """A query or write the warehouse refused; the message names it and what to do."""


class WarehouseUnavailable(WarehouseError):
    """The published warehouse cannot be read now; the message says why and what to do."""


class WarehouseMissing(WarehouseUnavailable):
    """Nothing has been published yet."""


class WarehouseBusy(WarehouseUnavailable):
    """Another process holds the warehouse for writing."""


class WarehouseUnreadable(WarehouseUnavailable):
    """The published warehouse is damaged (empty, not a database, refused by its engine);
    the message names it and the command that rebuilds it from the bronze lake."""


def conform(table: WrittenTable, rows: pa.Table) -> pa.Table:
    """`rows` as exactly the table's columns and types; WarehouseError naming the table when
    they do not fit (a missing column, a null where none is allowed, a value of another type)."""
    try:
        return rows.select(table.schema.names).cast(table.schema)
    except (KeyError, ValueError, TypeError, pa.ArrowException) as err:
        raise WarehouseError(f"rows for {table.name} do not fit its columns: {err}") from None


@runtime_checkable
class WarehouseReader(Protocol):
    """Several queries over one published state (a dashboard page, a feature build)."""

    def tables(self) -> frozenset[TableName]:
        """The tables the published state holds."""
        ...

    def query(self, sql: str, params: Params | None = None) -> pa.Table:
        """Rows of one BigQuery SQL query; `@name` parameters are bound from a mapping,
        `?` ones from a sequence."""
        ...


@runtime_checkable
class Warehouse(Protocol):
    """Read the published warehouse, write the platform's own tables."""

    def reader(self) -> AbstractContextManager[WarehouseReader]:
        """A reader over one published state, released on exit. WarehouseMissing when
        nothing is published, WarehouseBusy when a writer holds it too long,
        WarehouseUnreadable when the published state is damaged."""
        ...

    def read(self, sql: str, params: Params | None = None) -> pa.Table:
        """One query on its own reader."""
        ...

    def replace_partition(self, table: WrittenTable, rows: pa.Table, value: Any) -> int:
        """Make the rows of `table` whose partition column equals `value` exactly `rows`,
        atomically (creating the table when absent); returns the rows written."""
        ...

    def published_version(self) -> str | None:
        """An id of the published state that changes with every publish and write (for
        caches); None when nothing is published."""
        ...

    def explain(self, error: BaseException) -> str | None:
        """A message a user can act on for an error this warehouse raised in another
        component's hands (a lock held by another process, a job that failed), else None."""
        ...

    def describe(self) -> str:
        """Where the warehouse is, for messages and summaries."""
        ...


__all__ = [
    "Params",
    "TableName",
    "Warehouse",
    "WarehouseBusy",
    "WarehouseError",
    "WarehouseMissing",
    "WarehouseReader",
    "WarehouseUnavailable",
    "WarehouseUnreadable",
    "WrittenTable",
    "conform",
]
