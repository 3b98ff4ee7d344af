"""Running a query job's SQL: one statement or a script, with BigQuery's outcomes.

Statements run in order on one DuckDB cursor. BEGIN TRANSACTION / COMMIT TRANSACTION /
ROLLBACK TRANSACTION map to DuckDB's transaction, so DELETE + INSERT of a partition lands
whole or not at all; a failing statement inside a transaction rolls it back, and a script
that ends with a transaction open fails and rolls back, as in BigQuery; DDL on permanent
tables inside a transaction is refused, as BigQuery refuses it. Outside a
transaction each statement commits on its own (a later failure keeps the earlier
statements' effects). A script's result is its last SELECT's.

Before each statement runs its bytes are estimated (estimate.py); over the job's
maximumBytesBilled it fails with bytesBilledLimitExceeded and does not run. A dry run
plans and estimates without executing anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

from .errors import BigQueryError, from_duckdb, invalid_query
from .estimate import Estimate, Read, estimate_reads
from .partitions import check_clustering, check_partitioning
from .schema import Field
from .schema import from_duckdb as field_from_duckdb
from .statements import Parameters, Planner, Prepared, Statement, parse_script
from .store import Store, TableMeta

MAX_VIEW_DEPTH = 16


@dataclass
class StatementOutcome:
    """What one statement did, for its job's statistics."""

    kind: str
    estimate: Estimate
    fields: list[Field] | None = None
    data: pa.Table | None = None
    affected: int | None = None
    dml: dict[str, str] | None = None
    ddl_operation: str | None = None
    target: tuple[str, str] | None = None
    reads: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class QueryOutcome:
    statements: list[StatementOutcome]
    estimate: Estimate

    @property
    def kind(self) -> str:
        return self.statements[0].kind if len(self.statements) == 1 else "SCRIPT"

    @property
    def result(self) -> StatementOutcome | None:
        """The statement whose rows are the job's result: the last SELECT."""
        return next((s for s in reversed(self.statements) if s.fields is not None), None)


class QueryRunner:
    def __init__(self, store: Store, lake_root: Path | None = None) -> None:
        self.store = store
        self.lake_root = lake_root

    def planner(self, config: dict[str, Any]) -> tuple[list[Statement], Planner]:
        if config.get("useLegacySql", True) not in (False, "false"):
            raise invalid_query("The BigQuery fake runs GoogleSQL (standard SQL) only: set useLegacySql to false")
        statements = parse_script(str(config.get("query") or ""))
        default = (config.get("defaultDataset") or {}).get("datasetId")
        parameters = Parameters.from_api(config.get("parameterMode"), list(config.get("queryParameters") or ()))
        return statements, Planner(self.store, default, parameters, self.lake_root)

    # -- dry run ------------------------------------------------------------------------

    def dry_run(self, config: dict[str, Any]) -> tuple[str, Estimate, list[Field] | None]:
        """(statementType, estimate, result schema of a single SELECT) without running anything."""
        statements, planner = self.planner(config)
        total = Estimate()
        fields = None
        with self.store.cursor() as cur:
            for index, statement in enumerate(statements):
                try:
                    prepared = planner.prepare(statement)
                except BigQueryError as err:
                    if err.reason == "notFound" and index > 0:
                        continue  # a table an earlier statement of the script makes
                    raise
                total.add(self.estimate(prepared, cur))
                if len(statements) == 1 and prepared.kind == "SELECT" and prepared.sql:
                    try:
                        relation = cur.sql(prepared.sql, params=_used(cur, prepared.sql, prepared.params))
                        fields = _result_fields(prepared.tree, relation.columns, relation.types)
                    except duckdb.Error as err:
                        raise from_duckdb(err) from None
        kind = statements[0].kind if len(statements) == 1 else "SCRIPT"
        return kind, total, fields

    # -- estimates ----------------------------------------------------------------------

    def estimate(self, prepared: Prepared, cur: duckdb.DuckDBPyConnection | None = None, depth: int = 0) -> Estimate:
        if (
            prepared.tree is None
            or prepared.kind in ("CREATE_VIEW", "CREATE_TABLE", "CREATE_EXTERNAL_TABLE")
            or prepared.kind.startswith("DROP_")
        ):
            return Estimate()
        reads = [Read(d, t, node) for d, t, node in prepared.reads]
        return estimate_reads(
            prepared.tree,
            reads,
            lambda d, t: self.store.stats(d, t, cur)[1],
            lambda d, t: self._view_estimate(d, t, cur, depth),
        )

    def _view_estimate(
        self, dataset: str, table: str, cur: duckdb.DuckDBPyConnection | None, depth: int
    ) -> Estimate | None:
        meta = self.store.tables.get((dataset, table))
        if meta is None or meta.kind != "VIEW":
            return None
        query = (meta.resource.get("view") or {}).get("query")
        if not query or depth >= MAX_VIEW_DEPTH:
            return Estimate()
        planner = Planner(self.store, dataset, Parameters(), self.lake_root)
        total = Estimate()
        for statement in parse_script(query):
            total.add(self.estimate(planner.prepare(statement), cur, depth + 1))
        return total

    # -- execution ----------------------------------------------------------------------

    def run(self, config: dict[str, Any], cap: int | None) -> QueryOutcome:
        statements, planner = self.planner(config)
        writes = any(s.kind != "SELECT" for s in statements)
        outcomes: list[StatementOutcome] = []
        lock = self.store.writes if writes else _NoLock()
        with lock, self.store.cursor() as cur:
            open_transaction = False
            try:
                for statement in statements:
                    if open_transaction and _permanent_ddl(statement):
                        raise invalid_query(
                            f"{statement.kind} is not supported inside a transaction: BigQuery transactions take DML "
                            "and temporary tables only"
                        )
                    prepared = planner.prepare(statement)
                    estimate = self.estimate(prepared, cur if open_transaction else None)
                    if cap is not None and estimate.bytes_billed > cap:
                        raise BigQueryError(
                            "bytesBilledLimitExceeded",
                            f"Query exceeded limit for bytes billed: {cap}. {estimate.bytes_billed} or higher required.",
                        )
                    if prepared.kind == "BEGIN_TRANSACTION":
                        if open_transaction:
                            raise invalid_query("Nested transactions are not supported; COMMIT TRANSACTION first")
                        cur.begin()
                        open_transaction = True
                    elif prepared.kind in ("COMMIT_TRANSACTION", "ROLLBACK_TRANSACTION"):
                        if not open_transaction:
                            raise invalid_query(f"{prepared.kind.replace('_', ' ')} without an active transaction")
                        cur.commit() if prepared.kind == "COMMIT_TRANSACTION" else cur.rollback()
                        open_transaction = False
                    outcome = self._execute(cur, prepared, estimate, open_transaction)
                    outcomes.append(outcome)
                if open_transaction:
                    raise invalid_query(
                        "The script ended with a transaction still open: it was rolled back (end it with COMMIT TRANSACTION)"
                    )
            except BaseException:
                if open_transaction:
                    cur.rollback()
                    self.store.changed()
                raise
        total = Estimate()
        for outcome in outcomes:
            total.add(outcome.estimate)
        return QueryOutcome(outcomes, total)

    def _execute(
        self, cur: duckdb.DuckDBPyConnection, prepared: Prepared, estimate: Estimate, in_transaction: bool
    ) -> StatementOutcome:
        outcome = StatementOutcome(
            prepared.kind, estimate, target=prepared.target, reads=sorted({(d, t) for d, t, _ in prepared.reads})
        )
        kind = prepared.kind
        if kind.endswith("_TRANSACTION"):
            return outcome
        if kind == "CREATE_SCHEMA":
            dataset = prepared.target[0] if prepared.target else ""
            existed = dataset in self.store.datasets
            resource = {
                k: v
                for k, v in prepared.table_resource.items()
                if k in ("location", "description", "labels", "friendlyName")
            }
            if existed and not prepared.statement.tree.args.get("exists"):
                self.store.create_dataset(dataset, resource)  # raises duplicate
            self.store.create_dataset(dataset, resource, if_missing=True)
            outcome.ddl_operation = "SKIP" if existed else "CREATE"
            return outcome
        if kind == "DROP_SCHEMA":
            dataset = prepared.target[0] if prepared.target else ""
            tree = prepared.statement.tree
            outcome.ddl_operation = "DROP" if dataset in self.store.datasets else "SKIP"
            self.store.delete_dataset(
                dataset, contents=bool(tree.args.get("cascade")), if_exists=bool(tree.args.get("exists"))
            )
            return outcome
        if kind == "ALTER_TABLE" and prepared.sql is None:
            meta = self.store.require_table(*prepared.target) if prepared.target else None
            if meta is not None:
                meta.resource.update(prepared.table_resource)
                meta.touch()
            outcome.ddl_operation = "ALTER"
            return outcome
        existed = prepared.target is not None and prepared.target in self.store.tables
        own_transaction = not in_transaction and kind not in ("SELECT",)
        try:
            if own_transaction:
                cur.begin()
            if kind == "MERGE":
                _check_merge_matches(cur, prepared)
            assert prepared.sql is not None
            params = _used(cur, prepared.sql, prepared.params)
            if kind == "SELECT":
                relation = cur.sql(prepared.sql, params=params)
                outcome.fields = _result_fields(prepared.tree, relation.columns, relation.types)
                data = relation.to_arrow_table()
                outcome.data = data.rename_columns([f.name for f in outcome.fields])
            else:
                result = cur.execute(prepared.sql, params)
                if kind in ("INSERT", "UPDATE", "DELETE", "MERGE"):
                    row = result.fetchone()
                    outcome.affected = int(row[0]) if row else 0
                    counter = {
                        "INSERT": "insertedRowCount",
                        "UPDATE": "updatedRowCount",
                        "DELETE": "deletedRowCount",
                    }.get(kind)
                    outcome.dml = {counter: str(outcome.affected)} if counter else None
                self._after_ddl(cur, prepared, existed, outcome)
            if own_transaction:
                cur.commit()
        except BaseException as err:
            if own_transaction:
                cur.rollback()
            if isinstance(err, duckdb.Error):
                raise from_duckdb(err) from None
            raise
        if kind != "SELECT":
            self.store.changed(*(prepared.target or (None, None)))
        return outcome

    def _after_ddl(
        self, cur: duckdb.DuckDBPyConnection, prepared: Prepared, existed: bool, outcome: StatementOutcome
    ) -> None:
        """Keep the catalog in step with a DDL statement DuckDB has just run."""
        kind, target = prepared.kind, prepared.target
        if target is None or not (kind.startswith(("CREATE_", "DROP_")) or kind == "ALTER_TABLE"):
            return
        dataset, table = target
        tree = prepared.statement.tree
        if kind.startswith("DROP_"):
            outcome.ddl_operation = "DROP" if existed else "SKIP"
            self.store.forget(dataset, table)
            return
        if kind == "ALTER_TABLE":
            outcome.ddl_operation = "ALTER"
            return
        if existed and tree.args.get("exists") and not tree.args.get("replace"):
            outcome.ddl_operation = "SKIP"
            return
        outcome.ddl_operation = "REPLACE" if existed else "CREATE"
        if kind == "CREATE_VIEW":
            query = prepared.tree.expression.sql(dialect="bigquery") if prepared.tree is not None else ""
            meta = TableMeta(
                "VIEW", resource={**prepared.table_resource, "view": {"query": query, "useLegacySql": False}}
            )
        elif kind == "CREATE_EXTERNAL_TABLE":
            meta = TableMeta("EXTERNAL", resource={"externalDataConfiguration": _external_config(tree)})
        else:
            self.store.canonicalise(dataset, table, cur)
            meta = TableMeta("TABLE", resource=dict(prepared.table_resource))
            fields = self.store.columns(dataset, table, cur)
            check_partitioning(meta.resource.get("timePartitioning"), fields)
            check_clustering(meta.resource.get("clustering"), fields)
            meta.descriptions = dict(prepared.descriptions)
        self.store.register(dataset, table, meta)


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _used(cur: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The bound values a DuckDB statement names (DuckDB refuses unused ones)."""
    if not params:
        return None
    names = cur.extract_statements(sql)[0].named_parameters
    return {k: v for k, v in params.items() if k in names} or None


def _result_fields(tree: exp.Expression | None, columns: list[str], types: list[Any]) -> list[Field]:
    """The schema of a query's result, with BigQuery's names for anonymous columns (f0_, f1_...)."""
    names = _output_names(tree) if tree is not None else None
    if names is None or len(names) != len(columns):
        names = list(columns)
    seen: set[str] = set()
    fields = []
    for name, kind in zip(names, types, strict=False):
        if name.lower() in seen:
            raise invalid_query(f"Duplicate column names in the result are not supported. Found duplicate(s): {name}")
        seen.add(name.lower())
        fields.append(field_from_duckdb(name, kind))
    return fields


def _output_names(tree: exp.Expression) -> list[str] | None:
    select = tree
    while isinstance(select, (exp.SetOperation, exp.Subquery)):
        select = select.this if isinstance(select, exp.Subquery) else select.left
    if not isinstance(select, exp.Select):
        return None
    names, anonymous = [], 0
    for expression in select.expressions:
        if isinstance(expression, exp.Star) or (
            isinstance(expression, exp.Column) and isinstance(expression.this, exp.Star)
        ):
            return None
        if isinstance(expression, (exp.Alias, exp.Column, exp.Dot)) and expression.alias_or_name:
            names.append(expression.alias_or_name)
        else:
            names.append(f"f{anonymous}_")
            anonymous += 1
    return names


def _check_merge_matches(cur: duckdb.DuckDBPyConnection, prepared: Prepared) -> None:
    """BigQuery fails a MERGE whose WHEN MATCHED clause meets a target row twice; DuckDB would
    update it twice."""
    assert prepared.sql is not None
    merge = sqlglot.parse_one(prepared.sql, read="duckdb")
    if not isinstance(merge, exp.Merge) or not any(w.args.get("matched") for w in merge.find_all(exp.When)):
        return
    target, source, condition = merge.this, merge.args["using"], merge.args["on"]
    alias = target.alias_or_name
    probe = (
        exp.select("1")
        .from_(target.copy())
        .join(source.copy(), on=condition.copy())
        .group_by(exp.column("rowid", table=alias, quoted=True))
        .having("COUNT(*) > 1")
    )
    sql = f"SELECT COUNT(*) FROM ({probe.sql(dialect='duckdb')})"
    found = cur.execute(sql, _used(cur, sql, prepared.params)).fetchone()
    if found and found[0]:
        raise invalid_query("UPDATE/MERGE must match at most one source row for each target row")


def _external_config(tree: exp.Expression) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for prop in tree.args["properties"].expressions:
        if isinstance(prop, exp.Property) and prop.name.lower() == "format":
            out["sourceFormat"] = prop.args["value"].name.upper()
        elif isinstance(prop, exp.Property) and prop.name.lower() == "uris":
            out["sourceUris"] = [v.name for v in prop.args["value"].expressions]
    return out


def _permanent_ddl(statement: Statement) -> bool:
    kind = statement.kind
    if not (kind.startswith(("CREATE_", "DROP_")) or kind in ("ALTER_TABLE", "TRUNCATE_TABLE")):
        return False
    properties = statement.tree.args.get("properties")
    temporary = bool(properties) and any(isinstance(p, exp.TemporaryProperty) for p in properties.expressions)
    return not temporary
