"""The fake's warehouse: one DuckDB database where each dataset is a schema.

Table data and column types live in DuckDB; what BigQuery keeps beside them (creation and
modification times, descriptions, labels, partitioning, clustering, a view's BigQuery SQL)
lives in the catalog here. Writes are serialised by `writes` (a re-entrant lock every
writer holds); reads run on their own cursors, concurrently.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from winter_days.warehouse.duckdb.dialect.udfs import bigquery_session

from .errors import BigQueryError, duplicate, invalid, not_found
from .schema import Field, from_duckdb, quote

CATALOG = "bqfake_warehouse"


def now_ms() -> int:
    return int(time.time() * 1000)


def new_etag() -> str:
    return uuid.uuid4().hex[:22]


@dataclass
class TableMeta:
    """What BigQuery keeps about a table besides its rows and column types."""

    kind: str  # TABLE, VIEW or EXTERNAL
    created_ms: int = field(default_factory=now_ms)
    modified_ms: int = field(default_factory=now_ms)
    resource: dict[str, Any] = field(default_factory=dict)  # description, labels, timePartitioning, view, ...
    descriptions: dict[str, str] = field(default_factory=dict)  # lower-case field path -> description
    etag: str = field(default_factory=new_etag)

    def touch(self) -> None:
        self.modified_ms = now_ms()
        self.etag = new_etag()


class Store:
    """Datasets and tables of one project, on one DuckDB database (a file or in memory)."""

    def __init__(self, project: str, location: str, path: Path | None = None) -> None:
        self.project, self.location = project, location
        self._conn = duckdb.connect()
        target = str(path).replace("'", "''") if path else ":memory:"
        self._conn.execute(f"ATTACH '{target}' AS {CATALOG}")
        self.datasets: dict[str, dict[str, Any]] = {}
        self.tables: dict[tuple[str, str], TableMeta] = {}
        self.writes = threading.RLock()
        self._meta = threading.RLock()
        # Table statistics are cached until their table is written (its version moves) or
        # a write whose tables are not known happens (the generation moves).
        self.generation = 0
        self._versions: dict[tuple[str, str], int] = {}
        self._stats: dict[tuple[str, str], tuple[tuple[int, int], int, dict[str, int]]] = {}
        self._adopt_existing()

    def _adopt_existing(self) -> None:
        """A database file from an earlier fake: its schemas and tables become datasets and
        tables again (what only the catalog knew, such as descriptions, is gone)."""
        with self.cursor() as cur:
            schemas = cur.execute(
                "SELECT schema_name FROM duckdb_schemas() WHERE database_name = ? AND NOT internal AND schema_name <> 'main'",
                [CATALOG],
            ).fetchall()
            objects = cur.execute(
                "SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE table_catalog = ?",
                [CATALOG],
            ).fetchall()
        stamp = str(now_ms())
        for (schema,) in schemas:
            reference = {"projectId": self.project, "datasetId": schema}
            self.datasets[schema] = {
                "datasetReference": reference,
                "location": self.location,
                "creationTime": stamp,
                "lastModifiedTime": stamp,
                "etag": new_etag(),
            }
        for schema, name, kind in objects:
            if schema in self.datasets:
                self.tables[(schema, name)] = TableMeta("TABLE" if kind == "BASE TABLE" else "VIEW")

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self._conn.cursor()
        try:
            cur.execute(f"USE {CATALOG}")
            bigquery_session(cur)  # the transpiler's SQL calls the functions it defines
            yield cur
        finally:
            cur.close()

    def changed(self, dataset: str | None = None, table: str | None = None) -> None:
        """Record a write to a table (or to tables unknown): its statistics are recomputed and
        its modification time moves."""
        with self._meta:
            if dataset and table:
                self._versions[(dataset, table)] = self._versions.get((dataset, table), 0) + 1
                meta = self.tables.get((dataset, table))
                if meta is not None:
                    meta.touch()
            else:
                self.generation += 1

    def _version(self, dataset: str, table: str) -> tuple[int, int]:
        return self.generation, self._versions.get((dataset, table), 0)

    # -- names --------------------------------------------------------------------

    def dataset_name(self, dataset: str) -> str:
        return f"{self.project}:{dataset}"

    def table_name(self, dataset: str, table: str) -> str:
        return f"{self.project}:{dataset}.{table}"

    @staticmethod
    def sql_name(dataset: str, table: str) -> str:
        return f"{quote(dataset)}.{quote(table)}"

    def require_dataset(self, dataset: str) -> dict[str, Any]:
        found = self.datasets.get(dataset)
        if found is None:
            raise not_found(f"Dataset {self.dataset_name(dataset)} was not found in location {self.location}")
        return found

    def require_table(self, dataset: str, table: str) -> TableMeta:
        self.require_dataset(dataset)
        meta = self.tables.get((dataset, table))
        if meta is None:
            raise not_found(f"Table {self.table_name(dataset, table)} was not found in location {self.location}")
        return meta

    # -- datasets -----------------------------------------------------------------

    def create_dataset(self, dataset: str, resource: dict[str, Any], if_missing: bool = False) -> dict[str, Any]:
        with self.writes:
            if dataset in self.datasets:
                if if_missing:
                    return self.datasets[dataset]
                raise duplicate(f"Dataset {self.dataset_name(dataset)}")
            with self.cursor() as cur:
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(dataset)}")
            stamp = str(now_ms())
            stored = {
                k: v
                for k, v in resource.items()
                if k not in ("kind", "id", "selfLink", "etag", "creationTime", "lastModifiedTime")
            }
            stored.update(
                datasetReference={"projectId": self.project, "datasetId": dataset},
                creationTime=stamp,
                lastModifiedTime=stamp,
                etag=new_etag(),
            )
            stored.setdefault("location", self.location)
            with self._meta:
                self.datasets[dataset] = stored
            return stored

    def delete_dataset(self, dataset: str, contents: bool, if_exists: bool = False) -> None:
        with self.writes:
            if dataset not in self.datasets:
                if if_exists:
                    return
                self.require_dataset(dataset)
            owned = [key for key in self.tables if key[0] == dataset]
            if owned and not contents:
                raise BigQueryError("resourceInUse", f"Dataset {self.dataset_name(dataset)} is still in use")
            with self.cursor() as cur:
                cur.execute(f"DROP SCHEMA IF EXISTS {quote(dataset)} CASCADE")
            with self._meta:
                for key in owned:
                    del self.tables[key]
                del self.datasets[dataset]
                self.generation += 1

    # -- tables -------------------------------------------------------------------

    def columns(self, dataset: str, table: str, cur: duckdb.DuckDBPyConnection | None = None) -> list[Field]:
        """The table's BigQuery schema, read from DuckDB's column types (with descriptions)."""
        if cur is None:
            with self.cursor() as own:
                return self.columns(dataset, table, own)
        relation = cur.sql(f"SELECT * FROM {self.sql_name(dataset, table)} LIMIT 0")
        required = {
            name
            for (name,) in cur.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = ? AND schema_name = ? AND table_name = ? AND NOT is_nullable",
                [CATALOG, dataset, table],
            ).fetchall()
        }
        fields = [
            from_duckdb(name, kind, name in required)
            for name, kind in zip(relation.columns, relation.types, strict=False)
        ]
        meta = self.tables.get((dataset, table))
        return _describe(fields, meta.descriptions if meta else {}, "")

    def create_table(
        self,
        dataset: str,
        table: str,
        fields: list[Field],
        meta: TableMeta,
        cur: duckdb.DuckDBPyConnection,
        replace: bool = False,
    ) -> None:
        """A new TABLE with the given schema (the caller holds `writes`)."""
        columns = ", ".join(
            f"{quote(f.name)} {f.duckdb_type()}{' NOT NULL' if f.mode == 'REQUIRED' else ''}" for f in fields
        )
        verb = "CREATE OR REPLACE TABLE" if replace else "CREATE TABLE"
        cur.execute(f"{verb} {self.sql_name(dataset, table)} ({columns})")
        meta.descriptions = _descriptions(fields, "")
        self.register(dataset, table, meta)

    def register(self, dataset: str, table: str, meta: TableMeta) -> None:
        with self._meta:
            self.tables[(dataset, table)] = meta
        self.changed(dataset, table)

    def forget(self, dataset: str, table: str) -> None:
        with self._meta:
            self.tables.pop((dataset, table), None)
        self.changed(dataset, table)

    def drop_table(self, dataset: str, table: str) -> None:
        with self.writes:
            meta = self.require_table(dataset, table)
            kind = "TABLE" if meta.kind == "TABLE" else "VIEW"
            with self.cursor() as cur:
                cur.execute(f"DROP {kind} IF EXISTS {self.sql_name(dataset, table)}")
            self.forget(dataset, table)

    def set_descriptions(self, dataset: str, table: str, fields: list[Field]) -> None:
        meta = self.require_table(dataset, table)
        meta.descriptions = _descriptions(fields, "")

    def canonicalise(self, dataset: str, table: str, cur: duckdb.DuckDBPyConnection) -> None:
        """Give a table made by CREATE TABLE AS SELECT BigQuery's column types (INT64 as BIGINT,
        NUMERIC as DECIMAL(38, 9), ...): DuckDB keeps a query's own (INTEGER, DECIMAL(2,1))."""
        relation = cur.sql(f"SELECT * FROM {self.sql_name(dataset, table)} LIMIT 0")
        for name, kind in zip(relation.columns, relation.types, strict=False):
            wanted = from_duckdb(name, kind).duckdb_type()
            if str(cur.type(wanted)) != str(kind):
                cur.execute(
                    f"ALTER TABLE {self.sql_name(dataset, table)} ALTER COLUMN {quote(name)} SET DATA TYPE {wanted}"
                )

    # -- statistics and reads -----------------------------------------------------

    def stats(
        self, dataset: str, table: str, cur: duckdb.DuckDBPyConnection | None = None
    ) -> tuple[int, dict[str, int]]:
        """(rows, logical bytes per top-level column by lower-case name) of a table or view.

        With `cur` (a cursor that may be inside a transaction) the figures are that
        cursor's view and are not cached.
        """
        meta = self.tables.get((dataset, table))
        if cur is None and meta is not None and meta.kind == "EXTERNAL":
            with self.cursor() as own:  # files may land under an external table at any time
                return self._measure(dataset, table, own)
        if cur is None:
            cached = self._stats.get((dataset, table))
            version = self._version(dataset, table)
            if cached and cached[0] == version:
                return cached[1], cached[2]
            with self.cursor() as own:
                result = self._measure(dataset, table, own)
            self._stats[(dataset, table)] = (version, *result)
            return result
        return self._measure(dataset, table, cur)

    def _measure(self, dataset: str, table: str, cur: duckdb.DuckDBPyConnection) -> tuple[int, dict[str, int]]:
        fields = self.columns(dataset, table, cur)
        sizes = ", ".join(f"SUM({f.size_sql(quote(f.name))})::BIGINT" for f in fields)
        row = cur.execute(
            f"SELECT COUNT(*){', ' + sizes if sizes else ''} FROM {self.sql_name(dataset, table)}"
        ).fetchone()
        assert row is not None
        return int(row[0]), {f.name.lower(): int(v or 0) for f, v in zip(fields, row[1:], strict=False)}

    def read(
        self, dataset: str, table: str, start: int, count: int, selected: list[str] | None
    ) -> tuple[list[Field], pa.Table]:
        with self.cursor() as cur:
            fields = self.columns(dataset, table, cur)
            if selected:
                by_name = {f.name.lower(): f for f in fields}
                missing = [s for s in selected if s.lower() not in by_name]
                if missing:
                    raise invalid(
                        f"The field {missing[0]} in selectedFields was not found in the schema of {self.table_name(dataset, table)}"
                    )
                fields = [by_name[s.lower()] for s in selected]
            columns = ", ".join(quote(f.name) for f in fields) or "*"
            data = cur.sql(
                f"SELECT {columns} FROM {self.sql_name(dataset, table)} LIMIT {int(count)} OFFSET {int(start)}"
            ).to_arrow_table()
        return fields, data


def _descriptions(fields: list[Field] | tuple[Field, ...], prefix: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for f in fields:
        path = f"{prefix}{f.name.lower()}"
        if f.description:
            out[path] = f.description
        out.update(_descriptions(f.fields, f"{path}."))
    return out


def _describe(fields: list[Field], descriptions: dict[str, str], prefix: str) -> list[Field]:
    out = []
    for f in fields:
        path = f"{prefix}{f.name.lower()}"
        children = tuple(_describe(list(f.fields), descriptions, f"{path}.")) if f.fields else ()
        out.append(Field(f.name, f.type, f.mode, children, descriptions.get(path)))
    return out
