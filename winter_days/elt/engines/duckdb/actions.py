"""How each kind of Dataform action runs on a DuckDB connection.

Each function returns what the action produced (statements run, row counts, failing rows)
or raises; the scheduler in executor.py turns that into action states.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from winter_days.elt.engines.duckdb.catalog import RelationKinds, view_tag
from winter_days.elt.engines.duckdb.external import (
    ExternalTable,
    LakeFiles,
    is_external_table,
    parse_external_table,
    view_sql,
)
from winter_days.elt.engines.duckdb.file_filters import prepare_query
from winter_days.elt.engines.duckdb.graph import Action
from winter_days.elt.engines.duckdb.incremental import IncrementalWrite
from winter_days.elt.engines.duckdb.lake_repair import LakeRepairs, failing_file, is_repairable
from winter_days.warehouse.duckdb.dialect.transpile import (
    BIGQUERY,
    UnsupportedSqlError,
    generate_duckdb,
    to_duckdb_query,
    transpile_tree,
)

FAILING_ROWS_SAMPLE = 5
# DuckDB keeps min/max statistics per row group of this many rows (its default size), and
# skips a row group whose range a filter excludes.
ROW_GROUP_ROWS = 122_880
# A full build whose (row group, partition) pairs exceed this many times what a sorted
# table would have is rewritten sorted.
SCATTER_TOLERANCE = 2


class AssertionFailed(Exception):
    """An assertion query returned rows."""

    def __init__(self, count: int, sample: list[dict[str, Any]]):
        super().__init__(f"assertion failed: {count} row(s) violate it; first {len(sample)}: {sample}")
        self.count = count
        self.sample = sample


@dataclass
class ActionOutcome:
    """What running one action produced."""

    statements: list[str] = field(default_factory=list)
    rows: int | None = None
    rows_affected: int | None = None


class ActionRunner:
    """Runs actions on one DuckDB connection (a cursor of the build database)."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        lake_root: Path,
        full_refresh: bool,
        relations: RelationKinds | None = None,
    ):
        self.con = con
        self.lake_root = lake_root
        self.full_refresh = full_refresh
        self.relations = relations if relations is not None else RelationKinds(con)
        self.outcome = ActionOutcome()

    def run(self, action: Action) -> ActionOutcome:
        """Run one action; its schema exists already (the scheduler creates them up front).

        A read that fails on the bytes of a lake file (not UTF-8, a line over DuckDB's 2 MB)
        runs again with that file read from a repaired copy, as BigQuery reads it
        (lake_repair.py), unless operations ran before the read.
        """
        repairs: LakeRepairs | None = None
        try:
            while True:
                try:
                    return self._run(action)
                except duckdb.InvalidInputException as err:
                    if action.pre_ops or action.incremental_pre_ops or not is_repairable(err):
                        raise
                    repairs = repairs or LakeRepairs()
                    if not self._repair_lake_reads(action, failing_file(err), repairs):
                        raise
        finally:
            if repairs is not None:
                # The stored views go back to reading the lake itself.
                self._set_lake_reads(action, None)
                repairs.close()

    def _repair_lake_reads(self, action: Action, path: str | None, repairs: LakeRepairs) -> bool:
        """Read `path` (all the action's CSV lake files when DuckDB named none) from a repaired
        copy from now on; False when there is nothing left to repair."""
        before = len(repairs.copies)
        for _, files in self._csv_listings(action):
            lake_files = set(files.listed_paths())
            for candidate in [path] if path is not None else sorted(lake_files):
                if candidate in lake_files:
                    repairs.repair(candidate, self.lake_root)
        if len(repairs.copies) == before:
            return False
        self._set_lake_reads(action, repairs)
        return True

    def _set_lake_reads(self, action: Action, repairs: LakeRepairs | None) -> None:
        for (schema, name), files in self._csv_listings(action):
            sql = view_sql(files.table, self.lake_root, repairs)
            tag = view_tag(sql)
            self._execute(sql)
            self._execute(f'COMMENT ON VIEW "{schema}"."{name}" IS \'{tag}\'')
            self.relations.set(schema, name, "VIEW", tag)
            self.relations.set_listing(schema, name, replace(files, repairs=repairs))

    def _csv_listings(self, action: Action) -> list[tuple[tuple[str, str], LakeFiles]]:
        """The CSV external tables the action reads, as listed for this run."""
        read = {(d.schema, d.name) for d in action.dependencies}
        return [
            (key, files) for key, files in self.relations.listings() if key in read and files.table.file_format == "CSV"
        ]

    def _run(self, action: Action) -> ActionOutcome:
        self.outcome = ActionOutcome()
        if action.kind in ("table", "view"):
            self._table_or_view(action, action.kind)
        elif action.kind == "incremental":
            self._incremental(action)
        elif action.kind == "operations":
            self._operations(action)
        elif action.kind == "assertion":
            self._assertion(action)
        else:
            raise UnsupportedSqlError(f"action kind {action.kind!r} cannot run")
        return self.outcome

    # -- kinds ---------------------------------------------------------------------

    def _table_or_view(self, action: Action, kind: str, query_sql: str | None = None, arrange: bool = False) -> None:
        prepared = prepare_query(query_sql or action.query)
        self._ops(action.pre_ops, action)
        # A view is evaluated when read, so its file filters and scalar subqueries stay as
        # written; a table's are read now, after its pre-operations, as the query would.
        query = prepared.sql if kind == "view" else prepared.resolve(self.con, self.relations.listing)
        self._replace_relation(action, kind, query)
        if arrange:
            self._arrange_partitions(action)
        self._ops(action.post_ops, action)
        if kind == "table":
            self.outcome.rows = self._count(action.local_name)

    def _incremental(self, action: Action) -> None:
        exists = self._relation_type(action) == "BASE TABLE"
        # A protected table is never rebuilt, not even by a full refresh (Dataform's rule).
        if (self.full_refresh and not action.protected) or not exists:
            if action.partition_by:
                self._table_or_view(action, "table", arrange=bool(action.storage_order))
            else:
                self._table_or_view(action, "table", _in_storage_order(action))
            return
        self._ops(action.incremental_pre_ops, action)
        query = prepare_query(action.incremental_query).resolve(self.con, self.relations.listing)
        self.outcome.rows_affected = IncrementalWrite(self, action, query).run()
        self._ops(action.incremental_post_ops, action)
        self.outcome.rows = self._count(action.local_name)

    def execute_incremental(self, statement: str, action: Action, columns: list[str]) -> duckdb.DuckDBPyConnection:
        """Run a statement of the incremental query over the existing table's `columns`."""
        try:
            return self._execute(statement)
        except duckdb.BinderException:
            self._explain_changed_columns(action, columns)
            raise

    def _explain_changed_columns(self, action: Action, columns: list[str]) -> None:
        """Raise a clear error when an incremental query failed because the table was built
        by an earlier version of the model, with other columns than the model makes now."""
        wanted = None
        # The incremental query may read the table itself (and so not bind); the full query
        # makes the same columns.
        for sql in (action.incremental_query, action.query):
            try:
                wanted = [row[0] for row in self.con.execute(f"DESCRIBE {prepare_query(sql).sql}").fetchall()]
                break
            except duckdb.Error:
                continue
        if wanted is None:
            return  # neither query binds: the original error says why
        added = [c for c in wanted if c not in columns]
        removed = [c for c in columns if c not in wanted]
        if added or removed:
            changes = "; ".join(
                part
                for part in (
                    f"the model now adds {', '.join(added)}" if added else "",
                    f"the table still has {', '.join(removed)}" if removed else "",
                )
                if part
            )
            raise UnsupportedSqlError(
                f"{self._relation(action)} was built by an earlier version of its model ({changes}); "
                f"rebuild it once with: winter-days elt run --full-refresh --actions {action.target.name}"
            )

    def check_one_source_row_per_target(self, action: Action, relation: str, staged: str) -> None:
        """BigQuery fails a MERGE in which one target row matches several source rows."""
        keys = ", ".join(f'source."{k}"' for k in action.unique_key)
        # Only a key that repeats in the batch can match one target row twice; the batch is
        # a day's rows, the target all of history, so look there only when one repeats.
        repeated = self._execute(
            f"SELECT 1 FROM {staged} AS source GROUP BY {keys} HAVING COUNT(*) > 1 LIMIT 1"
        ).fetchone()
        if repeated is None:
            return
        on = " AND ".join(f'target."{k}" = source."{k}"' for k in action.unique_key)
        row = self._execute(
            f"SELECT {keys}, COUNT(*) FROM {staged} AS source "
            f"WHERE EXISTS (SELECT 1 FROM {relation} AS target WHERE {on}) "
            f"GROUP BY {keys} HAVING COUNT(*) > 1 LIMIT 1"
        ).fetchone()
        if row is not None:
            key = dict(zip(action.unique_key, row[:-1], strict=False))
            raise UnsupportedSqlError(
                f"UPDATE/MERGE must match at most one source row for each target row: "
                f"{row[-1]} incremental rows have uniqueKey {key}"
            )

    def _operations(self, action: Action) -> None:
        for query in action.queries:
            self._script(query)
        self.relations.reread(self.con, action.target.schema, action.target.name)
        if action.has_output and self._relation_type(action) == "BASE TABLE":
            self.outcome.rows = self._count(action.local_name)

    def _assertion(self, action: Action) -> None:
        query = prepare_query(action.query).sql
        self._replace_relation(action, "view", query)
        relation = self._relation(action)
        count = int(_single_row(self._execute(f"SELECT count(*) FROM {relation}"))[0])
        self.outcome.rows = count
        if count:
            cursor = self.con.execute(f"SELECT * FROM {relation} LIMIT {FAILING_ROWS_SAMPLE}")
            names = [d[0] for d in cursor.description]
            sample = [{n: _plain(v) for n, v in zip(names, row, strict=False)} for row in cursor.fetchall()]
            raise AssertionFailed(count, sample)

    # -- statements ----------------------------------------------------------------

    def _ops(self, ops: tuple[str, ...], action: Action) -> None:
        for op in ops:
            self._script(op)
        if ops:
            self.relations.reread(self.con, action.target.schema, action.target.name)

    def _script(self, sql: str) -> None:
        """Run a BigQuery script statement by statement; external tables become views."""
        for statement in prepare_script(sql):
            if isinstance(statement, ExternalTable):
                self._external_view(statement)
            else:
                self._execute(statement)

    def _external_view(self, table: ExternalTable) -> None:
        """(Re)create the view of an external table, unless the same view is there already.

        The view reads the lake when it is queried, so new files need no new view; creating
        it again would make DuckDB read every file's schema (hundreds of bronze files after
        a year of daily loads) for nothing.
        """
        sql = view_sql(table, self.lake_root)
        tag = view_tag(sql)
        self.relations.set_listing(table.schema, table.name, LakeFiles(table, self.lake_root))
        if self.relations.comment(table.schema, table.name) == tag:
            return
        self._execute(sql)
        self._execute(f'COMMENT ON VIEW "{table.schema}"."{table.name}" IS \'{tag}\'')
        self.relations.set(table.schema, table.name, "VIEW", tag)

    def _arrange_partitions(self, action: Action) -> None:
        """Rewrite a clustered, partitioned table's full build in its BigQuery storage order
        (partition, then clustering columns) when its partitions are scattered over its row
        groups.

        Daily runs append each day's rows after the history, so each row group holds a day
        or two and DuckDB skips old row groups by their min/max when a run merges or reads
        the new days. A full build over many days (a backfill, a full refresh) comes in its
        query's order: the order of the files it read, whose row groups are as narrow, or
        hash order from an aggregate, where every row group holds every day and later runs
        would read the whole history. Only the latter is rewritten, after the fact: sorting
        every build as it is written cost 11 s of a 10M-event day that spans one partition.
        A rewrite leaves the first write's blocks free in the file, for later writes.
        """
        table = f"`{action.target.schema}.{action.target.name}`"
        spread = to_duckdb_query(
            f"SELECT DISTINCT DIV(rowid, {ROW_GROUP_ROWS}) AS storage_group, {action.partition_by} AS storage_partition FROM {table}"
        )
        pairs, groups, partitions = _single_row(
            self._execute(
                f"SELECT count(*), count(DISTINCT storage_group), count(DISTINCT storage_partition) FROM ({spread})"
            )
        )
        # Sorted, each row group but the ones at a day's boundary holds one partition.
        if pairs <= SCATTER_TOLERANCE * (groups + partitions):
            return
        ordered = to_duckdb_query(f"SELECT * FROM {table} ORDER BY {', '.join(action.storage_order)}")
        self._execute(f"CREATE OR REPLACE TABLE {self._relation(action)} AS {ordered}")

    def _replace_relation(self, action: Action, kind: str, query: str) -> None:
        existing = self._relation_type(action)
        relation = self._relation(action)
        # A relation that changed kind (view <-> table) is dropped first, as Dataform does.
        if existing == "VIEW" and kind == "table":
            self._execute(f"DROP VIEW {relation}")
        elif existing == "BASE TABLE" and kind == "view":
            self._execute(f"DROP TABLE {relation}")
        keyword = "TABLE" if kind == "table" else "VIEW"
        self.relations.set(action.target.schema, action.target.name, None)
        self._execute(f"CREATE OR REPLACE {keyword} {relation} AS {query}")
        self.relations.set(action.target.schema, action.target.name, "BASE TABLE" if kind == "table" else "VIEW")

    def _relation_type(self, action: Action) -> str | None:
        return self.relations.get(action.target.schema, action.target.name)

    @staticmethod
    def relation(action: Action) -> str:
        return f'"{action.target.schema}"."{action.target.name}"'

    _relation = relation

    def execute(self, statement: str) -> duckdb.DuckDBPyConnection:
        return self._execute(statement)

    def _count(self, local_name: str) -> int:
        schema, name = local_name.split(".", 1)
        return int(_single_row(self.con.execute(f'SELECT count(*) FROM "{schema}"."{name}"'))[0])

    def _execute(self, statement: str) -> duckdb.DuckDBPyConnection:
        self.outcome.statements.append(statement)
        return self.con.execute(statement)


def _in_storage_order(action: Action) -> str | None:
    """An unpartitioned clustered table's full build, written in its BigQuery storage
    order (its clustering columns), or None when it has none. (A partitioned one is
    checked after it is written: see ActionRunner._arrange_partitions.)"""
    if not action.storage_order:
        return None
    # The line break keeps a trailing `-- comment` of the query from swallowing the ")".
    return f"SELECT * FROM ({action.query}\n) ORDER BY {', '.join(action.storage_order)}"


@lru_cache(maxsize=256)
def prepare_script(sql: str) -> tuple[ExternalTable | str, ...]:
    """The statements of a BigQuery script in DuckDB (an external table as its parsed form).

    Cached by text: the lake's files are listed when the view is created, not here.
    """
    try:
        trees = sqlglot.parse(sql, read=BIGQUERY)
    except sqlglot.errors.ParseError as err:
        raise UnsupportedSqlError(f"cannot parse BigQuery SQL: {err}") from None
    return tuple(
        parse_external_table(tree)
        if isinstance(tree, exp.Create) and is_external_table(tree)
        else generate_duckdb(transpile_tree(tree), copy=False)
        for tree in trees
        if tree is not None
    )


def _plain(value: Any) -> Any:
    """A JSON-friendly form of a DuckDB value for the failing-rows sample."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return value.hex()
    return str(value)


def _single_row(cursor: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """The one row of an aggregate query."""
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("an aggregate query returned no row")
    return row
