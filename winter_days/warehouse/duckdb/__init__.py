"""The warehouse in one DuckDB file (local profile).

Readers open the published file read-only, one connection per reader: a run publishes by
replacing the file atomically, so a connection opened before the replace keeps reading the
old, complete file, and every query of one reader sees one published state. Queries are
BigQuery SQL, translated with BigQuery's semantics (as the ELT's models are) and cached.

A write (the ML step's predictions) is made as an ELT run's is: on a copy of the file (the
standby copy when it is fresh), renamed over the published file under the warehouse lock.
Opening the published file itself for writing would need every reader gone: DuckDB lets no
process write a file another process reads, and the dashboards of another service worker
read it all the time. A concurrent ELT run either builds on a copy with the write or
publishes before it; then the standby copy is made again (`files.py`).
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from winter_days.stores.locking import exclusive_lock
from winter_days.warehouse import (
    Params,
    WarehouseBusy,
    WarehouseError,
    WarehouseMissing,
    WarehouseUnavailable,
    WarehouseUnreadable,
    conform,
)
from winter_days.warehouse.duckdb.files import (
    build_copy,
    publish,
    remove_build,
    start_after_write,
    warehouse_lock_path,
)
from winter_days.warehouse.duckdb.lock_holder import explain_warehouse_lock
from winter_days.warehouse.duckdb.unreadable import refusal, unreadable_message
from winter_days.warehouse.tables import TableName, WrittenTable

# A writer (the ML step writing predictions) holds the file for a few seconds at most;
# waiting this long before answering "busy" hides most of those moments from a reader.
BUSY_RETRY_SECONDS = 3.0
BUSY_RETRY_INTERVAL = 0.2
_DUCKDB_TYPES = {
    pa.string(): "VARCHAR",
    pa.float64(): "DOUBLE",
    pa.int64(): "BIGINT",
    pa.bool_(): "BOOLEAN",
    pa.date32(): "DATE",
    pa.timestamp("us", tz="UTC"): "TIMESTAMPTZ",
}


@functools.lru_cache(maxsize=512)
def duckdb_sql(sql: str) -> str:
    """One BigQuery query as DuckDB SQL with BigQuery's semantics (cached: pages repeat theirs)."""
    from winter_days.warehouse.duckdb.dialect.transpile import UnsupportedSqlError, to_duckdb_query

    try:
        return to_duckdb_query(sql)
    except UnsupportedSqlError as err:
        raise WarehouseError(f"the local warehouse cannot run this query: {err}") from None


class DuckDBReader:
    """Queries over one read-only connection."""

    def __init__(self, connection: duckdb.DuckDBPyConnection):
        self._connection = connection
        self._tables: frozenset[TableName] | None = None

    def tables(self) -> frozenset[TableName]:
        if self._tables is None:
            rows = self._connection.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
            self._tables = frozenset(TableName(schema, name) for schema, name in rows)
        return self._tables

    def query(self, sql: str, params: Params | None = None) -> pa.Table:
        bound = (dict(params) if isinstance(params, Mapping) else list(params)) if params else []
        return self._connection.sql(duckdb_sql(sql), params=bound).to_arrow_table()


class DuckDBWarehouse:
    """The published warehouse file and the lock its writers share."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def describe(self) -> str:
        return f"DuckDB file {self.path}"

    @property
    def lock_path(self) -> Path:
        return warehouse_lock_path(self.path)

    def lock(self) -> Any:
        """The single-writer lock (the ELT's publish lock)."""
        return exclusive_lock(self.lock_path)

    def published_version(self) -> str | None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        return f"{stat.st_ino}-{stat.st_size}-{stat.st_ctime_ns}"

    @contextmanager
    def reader(self) -> Iterator[DuckDBReader]:
        if not self.path.is_file():
            raise WarehouseMissing(
                f"no warehouse has been published yet at {self.path}: run the pipeline (winter-days run, or POST /run)"
            )
        connection = self._connect_read_only()
        try:
            yield DuckDBReader(connection)
        finally:
            connection.close()

    def read(self, sql: str, params: Params | None = None) -> pa.Table:
        with self.reader() as reader:
            return reader.query(sql, params)

    def replace_partition(self, table: WrittenTable, rows: pa.Table, value: Any) -> int:
        if not self.path.is_file():
            raise WarehouseMissing(f"warehouse {self.path} does not exist; run the ELT first")
        rows = conform(table, rows)
        with self.lock():
            build, _ = build_copy(self.path)
            try:
                written = self._replace(build, table, rows, value)
                retired = publish(build, self.path)
            finally:
                remove_build(build)
        # The next ELT run's standby copy, made again with the write.
        start_after_write(self.path, retired)
        return written

    def explain(self, error: BaseException) -> str | None:
        if isinstance(error, WarehouseUnavailable):  # met by another component (the ELT engine)
            return str(error)
        return explain_warehouse_lock(error, self.path)

    def _connect_read_only(self) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + BUSY_RETRY_SECONDS
        while True:
            try:
                connection = duckdb.connect(str(self.path), read_only=True)
                # Queries reach it through the transpiler (duckdb_sql), whose SQL calls functions
                # the BigQuery session defines.
                from winter_days.warehouse.duckdb.dialect.transpile import bigquery_session

                bigquery_session(connection)
                return connection
            except duckdb.Error as err:
                self._raise_if_unreadable(err)
                if not isinstance(err, (duckdb.IOException, duckdb.ConnectionException)):
                    raise
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"the warehouse {self.path} is being written by another process "
                        f"({str(err).splitlines()[0]}); try again in a few seconds"
                    ) from None
                time.sleep(BUSY_RETRY_INTERVAL)

    def _raise_if_unreadable(self, err: duckdb.Error) -> None:
        """WarehouseUnreadable when DuckDB refused the file itself rather than another holder's lock."""
        reason = refusal(self.path, err)
        if reason is not None:
            raise WarehouseUnreadable(unreadable_message(self.path, reason)) from None

    def _replace(self, build: Path, table: WrittenTable, rows: pa.Table, value: Any) -> int:
        """Write the partition into `build`, a private copy of the published file."""
        try:
            con = duckdb.connect(str(build))
        except duckdb.Error as err:
            reason = refusal(build, err, self.path)
            if reason is None:
                raise
            raise WarehouseUnreadable(unreadable_message(self.path, reason)) from None
        name = str(table.name)
        columns = ", ".join(
            f"{f.name} {_DUCKDB_TYPES[f.type]}{'' if f.nullable else ' NOT NULL'}" for f in table.schema
        )
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.execute("BEGIN TRANSACTION")
            try:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {table.name.dataset}")
                con.execute(f"CREATE TABLE IF NOT EXISTS {name} ({columns})")
                con.execute(f"DELETE FROM {name} WHERE {table.partition_column} = ?", [value])
                con.register("new_rows", rows)
                con.execute(f"INSERT INTO {name} SELECT {', '.join(table.schema.names)} FROM new_rows")
                con.execute("COMMIT")
                con.execute("CHECKPOINT")  # into the file itself: its WAL is not published with it
            except duckdb.Error as err:
                con.execute("ROLLBACK")
                raise WarehouseError(f"{name} in {self.path}: the write was refused and rolled back: {err}") from err
            except BaseException:
                con.execute("ROLLBACK")
                raise
            return rows.num_rows
        finally:
            con.close()
