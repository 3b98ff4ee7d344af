"""Read-only access to the published warehouse, one connection per page request.

Every query of one page runs on one read-only connection opened for that request and
closed before the page is rendered. A run publishes by replacing the warehouse file
atomically, so a connection opened before the replace keeps reading the old, complete
file: all numbers on one page come from one published state, never from a half-written one.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator, Sequence

import duckdb

# A writer (the ML step writing predictions) holds the file for a few seconds at most;
# waiting this long before answering "busy" hides most of those moments from the reader.
BUSY_RETRY_SECONDS = 3.0
BUSY_RETRY_INTERVAL = 0.2


class WarehouseUnavailable(Exception):
    """The published warehouse cannot be read now; the message says why and what to do."""


class WarehouseMissing(WarehouseUnavailable):
    """No warehouse has been published yet."""


class WarehouseBusy(WarehouseUnavailable):
    """Another process holds the warehouse for writing."""


@dataclass(frozen=True)
class QueryResult:
    """Columns and rows of one query, values made JSON- and CSV-friendly."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    def column(self, name: str) -> list[Any]:
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row)) for row in self.rows]

    def __len__(self) -> int:
        return len(self.rows)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


class WarehouseReader:
    """Queries over one read-only connection; tells which tables the published file has."""

    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self._connection = connection
        rows = connection.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables"
        ).fetchall()
        self.tables = frozenset(name for (name,) in rows)

    def has(self, *tables: str) -> bool:
        """Whether every named table (schema.name) exists in the published warehouse."""
        return all(table in self.tables for table in tables)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> QueryResult:
        cursor = self._connection.execute(sql, params or [])
        columns = tuple(d[0] for d in cursor.description)
        rows = tuple(tuple(_plain(v) for v in row) for row in cursor.fetchall())
        return QueryResult(columns, rows)


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + BUSY_RETRY_SECONDS
    while True:
        try:
            connection = duckdb.connect(str(path), read_only=True)
            connection.execute("SET TimeZone = 'UTC'")
            return connection
        except (duckdb.IOException, duckdb.ConnectionException) as err:
            if time.monotonic() >= deadline:
                raise WarehouseBusy(
                    f"the warehouse {path} is being written by another process ({str(err).splitlines()[0]}); "
                    "reload this page in a few seconds"
                ) from None
            time.sleep(BUSY_RETRY_INTERVAL)


@contextmanager
def open_published_warehouse(path: Path | None) -> Iterator[WarehouseReader]:
    """A read-only reader over the published warehouse file, closed on exit."""
    if path is None or not Path(path).is_file():
        raise WarehouseMissing(
            f"no warehouse has been published yet at {path}: run the pipeline (winter-days run, or POST /run)"
        )
    connection = _connect(Path(path))
    try:
        yield WarehouseReader(connection)
    finally:
        connection.close()
