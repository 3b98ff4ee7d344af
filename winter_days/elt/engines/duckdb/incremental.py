"""The incremental write of an incremental table that exists, as Dataform does it on BigQuery.

The table's schema is first reconciled with the incremental query's by `onSchemaChange`:
IGNORE leaves it (new columns of the query are not written); FAIL raises when a column was
added or removed; EXTEND adds the new columns and raises on a removed one; SYNCHRONIZE adds
the new ones and drops the removed ones, unless one is part of the unique key. The rows are
then written by the incremental strategy: MERGE on the unique key (the default with one),
INSERT OVERWRITE of the partitions the new rows fall in, or an append. A MERGE matches only
the target rows that `updatePartitionFilter` and `incrementalPredicates` allow, as
Dataform's MERGE statement does. The new columns are written from this run on.
"""

from __future__ import annotations

from typing import Protocol

import duckdb

from winter_days.elt.engines.duckdb.graph import Action
from winter_days.warehouse.duckdb.dialect.transpile import (
    UnsupportedSqlError,
    to_duckdb_condition,
    to_duckdb_expression,
)

DELTA = "winter_days_incremental_delta"
DESTINATION, SOURCE = "DATAFORM_DEST", "DATAFORM_SOURCE"


class SchemaChangeError(UnsupportedSqlError):
    """The incremental query's columns changed in a way the table's onSchemaChange refuses."""


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _listed(names: list[str]) -> str:
    return "[" + ", ".join(names) + "]"


class StatementRunner(Protocol):
    """What a write needs of the action runner (actions.ActionRunner): its statements."""

    def relation(self, action: Action) -> str: ...

    def execute(self, statement: str) -> duckdb.DuckDBPyConnection: ...

    def execute_incremental(self, statement: str, action: Action, columns: list[str]) -> duckdb.DuckDBPyConnection: ...

    def check_one_source_row_per_target(self, action: Action, relation: str, staged: str) -> None: ...


class IncrementalWrite:
    """One incremental write of `action` through `runner` (its connection and statements)."""

    def __init__(self, runner: StatementRunner, action: Action, query: str):
        self.runner = runner
        self.action = action
        self.query = query
        self.relation = runner.relation(action)

    def columns(self) -> list[tuple[str, str]]:
        return [(row[0], row[1]) for row in self.runner.execute(f"DESCRIBE {self.relation}").fetchall()]

    def run(self) -> int | None:
        existing = self.columns()
        columns = self._reconcile(existing)
        names = [name for name, _ in columns]
        listed = ", ".join(quoted(n) for n in names)
        strategy = self.action.incremental_strategy
        source = f"SELECT {listed} FROM ({self.query})"
        if strategy == "INSERT_OVERWRITE":
            return self._insert_overwrite(source, listed, names)
        if self.action.unique_key and strategy in ("MERGE", "INCREMENTAL_STRATEGY_UNSPECIFIED", ""):
            return self._merge(source, listed, names)
        return self._affected(
            self.runner.execute_incremental(f"INSERT INTO {self.relation} ({listed}) {source}", self.action, names)
        )

    # -- onSchemaChange ---------------------------------------------------------------------------
    def _reconcile(self, existing: list[tuple[str, str]]) -> list[tuple[str, str]]:
        policy = self.action.on_schema_change or "IGNORE"
        if policy == "IGNORE":
            return existing
        try:
            wanted = [
                (row[0], row[1]) for row in self.runner.execute(f"DESCRIBE SELECT * FROM ({self.query})").fetchall()
            ]
        except duckdb.Error as err:
            raise SchemaChangeError(
                f"cannot read the columns of the incremental query of {self.relation}: {err}"
            ) from None
        have = {name for name, _ in existing}
        added = [(name, kind) for name, kind in wanted if name not in have]
        removed = [name for name, _ in existing if name not in {n for n, _ in wanted}]
        added_names = [name for name, _ in added]
        if policy == "FAIL" and (added or removed):
            raise SchemaChangeError(
                f"Schema mismatch defined by on_schema_change = 'FAIL'. Added columns: {_listed(added_names)}, "
                f"removed columns: {_listed(removed)} (table {self.relation}; rebuild it with --full-refresh "
                "or change onSchemaChange)"
            )
        if policy == "EXTEND" and removed:
            raise SchemaChangeError(
                f"Column removals are not allowed when on_schema_change = 'EXTEND'. Removed columns: "
                f"{_listed(removed)} (table {self.relation})"
            )
        if policy == "SYNCHRONIZE":
            keyed = [name for name in removed if name in self.action.unique_key]
            if keyed:
                raise SchemaChangeError(
                    f"Cannot drop columns {_listed(keyed)} as they are part of the unique key for table {self.relation}"
                )
            for name in removed:
                self.runner.execute(f"ALTER TABLE {self.relation} DROP COLUMN {quoted(name)}")
        for name, kind in added:
            self.runner.execute(f"ALTER TABLE {self.relation} ADD COLUMN {quoted(name)} {kind}")
        return self.columns()

    # -- strategies -----------------------------------------------------------------------------
    def _destination_conditions(self) -> str:
        """updatePartitionFilter (on the destination's columns) and incrementalPredicates."""
        parts = []
        if self.action.update_partition_filter:
            parts.append(to_duckdb_condition(f"{DESTINATION}.{self.action.update_partition_filter}"))
        parts += [to_duckdb_condition(p) for p in self.action.incremental_predicates if p.strip()]
        return "".join(f" AND ({part})" for part in parts)

    def _merge(self, source: str, listed: str, names: list[str]) -> int | None:
        # Staged once, so that BigQuery's rule (one source row per target row) and the MERGE
        # read the same rows.
        self.runner.execute_incremental(f"CREATE OR REPLACE TEMP TABLE {DELTA} AS {source}", self.action, names)
        self.runner.check_one_source_row_per_target(self.action, self.relation, DELTA)
        on = " AND ".join(f"{DESTINATION}.{quoted(k)} = {SOURCE}.{quoted(k)}" for k in self.action.unique_key)
        updates = ", ".join(f"{quoted(c)} = {SOURCE}.{quoted(c)}" for c in names)
        values = ", ".join(f"{SOURCE}.{quoted(c)}" for c in names)
        try:
            return self._affected(
                self.runner.execute(
                    f"MERGE INTO {self.relation} AS {DESTINATION} USING {DELTA} AS {SOURCE} "
                    f"ON {on}{self._destination_conditions()} "
                    f"WHEN MATCHED THEN UPDATE SET {updates} "
                    f"WHEN NOT MATCHED THEN INSERT ({listed}) VALUES ({values})"
                )
            )
        finally:
            self.runner.execute(f"DROP TABLE IF EXISTS {DELTA}")

    def _insert_overwrite(self, source: str, listed: str, names: list[str]) -> int | None:
        partition = self.action.partition_by
        if not partition:
            raise UnsupportedSqlError(
                f"{self.relation}: incrementalStrategy INSERT_OVERWRITE needs bigquery.partitionBy"
            )
        expression = to_duckdb_expression(partition)
        self.runner.execute_incremental(f"CREATE OR REPLACE TEMP TABLE {DELTA} AS {source}", self.action, names)
        try:
            # The partitions the new rows fall in are replaced by them, as Dataform's MERGE ON FALSE does.
            self.runner.execute(
                f"DELETE FROM {self.relation} AS {DESTINATION} WHERE {expression} IN "
                f"(SELECT DISTINCT {expression} FROM {DELTA} AS {DESTINATION} WHERE {expression} IS NOT NULL)"
                f"{self._destination_conditions()}"
            )
            return self._affected(
                self.runner.execute(f"INSERT INTO {self.relation} ({listed}) SELECT {listed} FROM {DELTA}")
            )
        finally:
            self.runner.execute(f"DROP TABLE IF EXISTS {DELTA}")

    @staticmethod
    def _affected(cursor: duckdb.DuckDBPyConnection) -> int | None:
        row = cursor.fetchone()
        return int(row[0]) if row else None
