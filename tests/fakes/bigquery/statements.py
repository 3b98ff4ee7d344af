"""BigQuery statements made ready for DuckDB: checked, resolved, parameterised, transpiled.

Each statement of a query (a script is several) is parsed with sqlglot's BigQuery dialect
and, just before it runs (so a table an earlier statement made is there):
- its table references are resolved: `project.dataset.table` and `dataset.table`, or a
  bare name through the job's defaultDataset; another project, a missing dataset or table
  is BigQuery's notFound, an existing CREATE target its duplicate;
- query parameters (@name, or ? in order) become typed casts bound by name;
- DDL options DuckDB has no place for (PARTITION BY, CLUSTER BY, OPTIONS) are taken out
  and kept as table metadata;
- the rest goes through the project's transpiler (`to_duckdb`), as the local engine's SQL
  does, so the fake runs what the platform's own BigQuery SQL means locally.
BigQuery scripting (DECLARE, SET, IF, loops, EXECUTE IMMEDIATE, BEGIN...END blocks) and
INFORMATION_SCHEMA are refused with invalidQuery naming the statement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from winter_days.elt.engines.duckdb.external import is_external_table, parse_external_table, view_sql
from winter_days.warehouse.duckdb.dialect.transpile import UnsupportedSqlError, to_duckdb

from .errors import BigQueryError, duplicate, invalid_query, not_found
from .partitions import clustering_from_ddl, from_ddl
from .schema import Field
from .values import parameter_field, parameter_value

TRANSACTION_KINDS = {
    exp.Transaction: "BEGIN_TRANSACTION",
    exp.Commit: "COMMIT_TRANSACTION",
    exp.Rollback: "ROLLBACK_TRANSACTION",
}
DML_KINDS = {exp.Insert: "INSERT", exp.Update: "UPDATE", exp.Delete: "DELETE", exp.Merge: "MERGE"}


@dataclass
class Statement:
    tree: exp.Expression
    kind: str  # BigQuery's statementType


@dataclass
class Prepared:
    """A statement ready to run: its DuckDB SQL (None when the fake carries it out itself)."""

    statement: Statement
    sql: str | None
    params: dict[str, Any] = field(default_factory=dict)
    target: tuple[str, str] | None = None
    reads: list[tuple[str, str, exp.Table | None]] = field(default_factory=list)
    tree: exp.Expression | None = None
    table_resource: dict[str, Any] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.statement.kind


def parse_script(sql: str) -> list[Statement]:
    try:
        trees = [t for t in sqlglot.parse(sql, read="bigquery") if t is not None]
    except ParseError as err:
        first = err.errors[0] if err.errors else {}
        where = f" at [{first.get('line')}:{first.get('col')}]" if first.get("line") else ""
        raise invalid_query(f"Syntax error: {first.get('description') or err}{where}") from None
    if not trees:
        raise invalid_query("Syntax error: Unexpected end of script at [1:1]")
    return [Statement(tree, statement_type(tree)) for tree in trees]


def statement_type(tree: exp.Expression) -> str:
    if isinstance(tree, exp.Query):
        return "SELECT"
    for cls, kind in {**DML_KINDS, **TRANSACTION_KINDS}.items():
        if isinstance(tree, cls):
            return kind
    if isinstance(tree, exp.TruncateTable):
        return "TRUNCATE_TABLE"
    if isinstance(tree, exp.Alter) and str(tree.args.get("kind", "")).upper() == "TABLE":
        return "ALTER_TABLE"
    kind = str(tree.args.get("kind") or "").upper()
    if isinstance(tree, exp.Create) and kind in ("TABLE", "VIEW", "SCHEMA"):
        if kind == "TABLE" and is_external_table(tree):
            return "CREATE_EXTERNAL_TABLE"
        if kind == "TABLE":
            return "CREATE_TABLE_AS_SELECT" if tree.expression else "CREATE_TABLE"
        if tree.args.get("properties") and any(
            isinstance(p, exp.MaterializedProperty) for p in tree.args["properties"].expressions
        ):
            raise invalid_query("CREATE MATERIALIZED VIEW is not supported by the BigQuery fake")
        return f"CREATE_{kind}"
    if isinstance(tree, exp.Drop) and kind in ("TABLE", "VIEW", "SCHEMA"):
        return f"DROP_{kind}"
    words = tree.sql(dialect="bigquery").split()
    head = " ".join(words[:2]) if words else type(tree).__name__
    raise invalid_query(
        f"{head} ...: this statement (BigQuery scripting, routines or other DDL) is not supported by the BigQuery fake"
    )


@dataclass
class Parameters:
    """A job's queryParameters: named (@name) or positional (?)."""

    mode: str = "NONE"
    named: dict[str, tuple[Field, Any]] = field(default_factory=dict)
    positional: list[tuple[Field, Any]] = field(default_factory=list)

    @classmethod
    def from_api(cls, mode: str | None, resources: list[dict[str, Any]]) -> Parameters:
        out = cls(
            str(
                mode or ("NAMED" if any(r.get("name") for r in resources) else "POSITIONAL" if resources else "NONE")
            ).upper()
        )
        for index, resource in enumerate(resources):
            name = resource.get("name") or ""
            kind = parameter_field(resource.get("parameterType") or {}, name or f"_p{index}")
            value = (kind, parameter_value(resource.get("parameterValue"), kind))
            if out.mode == "NAMED":
                if not name:
                    raise invalid_query("Query parameters must all be named when parameterMode is NAMED")
                if name.lower() in out.named:
                    raise invalid_query(f"Duplicate query parameter name {name}")
                out.named[name.lower()] = value
            elif out.mode == "POSITIONAL":
                if name:
                    raise invalid_query("Positional query parameters must not be named")
                out.positional.append(value)
            else:
                raise invalid_query(f"Invalid parameterMode {mode}; expected NAMED or POSITIONAL")
        return out


class Planner:
    """Prepares the statements of one query job against the store as it is now."""

    def __init__(self, store: Any, default_dataset: str | None, parameters: Parameters, lake_root: Path | None) -> None:
        self.store = store
        self.default_dataset = default_dataset
        self.parameters = parameters
        self.lake_root = lake_root
        self.temp_tables: set[str] = set()
        self._positional = 0

    # -- references -------------------------------------------------------------------

    def resolve(self, node: exp.Table, ctes: set[str]) -> tuple[str, str] | None:
        """(dataset, table) of a table reference; None for a CTE or a temporary table."""
        name, db, catalog = node.name, node.text("db"), node.text("catalog")
        if "." in name and not db:
            parts = name.split(".")
            catalog, db, name = (parts[-3] if len(parts) > 2 else ""), parts[-2], parts[-1]
        if "INFORMATION_SCHEMA" in (name.upper(), db.upper()) or name.upper().startswith("INFORMATION_SCHEMA."):
            raise invalid_query(
                "INFORMATION_SCHEMA views are not supported by the BigQuery fake; use the tables API (tables.get, tables.list)"
            )
        if "$" in name:
            raise invalid_query(
                f"Table decorators are not supported in a standard SQL query ({name}); filter on the partitioning column instead"
            )
        if catalog and catalog != self.store.project:
            raise not_found(f"Project {catalog} (the BigQuery fake serves project {self.store.project} only)")
        if not db:
            if name.lower() in ctes or name in self.temp_tables:
                return None
            if not self.default_dataset:
                raise invalid_query(f'Table "{name}" must be qualified with a dataset (e.g. dataset.table).')
            db = self.default_dataset
        node.set("catalog", None)
        node.set("db", exp.to_identifier(db))
        node.set("this", exp.to_identifier(name))
        return db, name

    def prepare(self, statement: Statement) -> Prepared:
        tree = statement.tree.copy()
        kind = statement.kind
        prepared = Prepared(statement, None, tree=tree)
        if kind in TRANSACTION_KINDS.values():
            return prepared
        if kind in ("CREATE_SCHEMA", "DROP_SCHEMA"):
            node = tree.this if kind == "CREATE_SCHEMA" else tree.args["tables"][0]
            parts = [p for p in (node.text("catalog"), node.text("db"), node.name) if p]
            parts = [piece for part in parts for piece in part.split(".")]
            if len(parts) > 1 and parts[0] != self.store.project:
                raise not_found(f"Project {parts[0]} (the BigQuery fake serves project {self.store.project} only)")
            prepared.target = (parts[-1], "")
            return prepared
        ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
        targets = _targets(tree, kind)
        if isinstance(tree, exp.Create) and _is_temporary(tree) and targets:
            self.temp_tables.add(targets[0].name)
        for node in list(tree.find_all(exp.Table)):
            if not isinstance(node.this, exp.Identifier):
                continue
            ref = self.resolve(node, ctes)
            if ref is None:
                continue
            if any(node is t for t in targets):
                prepared.target = ref
                self._check_target(kind, tree, ref)
            else:
                self.store.require_table(*ref)
                prepared.reads.append((*ref, node))
        if kind in ("UPDATE", "DELETE", "MERGE") and prepared.target:
            prepared.reads.append((*prepared.target, None))
        if kind in ("UPDATE", "DELETE") and not tree.args.get("where"):
            raise invalid_query(f"{kind} must have a WHERE clause")
        if isinstance(tree, exp.Create) and kind != "CREATE_EXTERNAL_TABLE":
            self._take_ddl_options(tree, prepared)
        if kind == "ALTER_TABLE" and all(isinstance(a, exp.AlterSet) for a in tree.args.get("actions") or ()):
            prepared.table_resource = _options(tree.find(exp.Properties))
            return prepared
        self._bind_parameters(tree, prepared)
        prepared.sql = self._duckdb_sql(tree, kind)
        return prepared

    def _check_target(self, kind: str, tree: exp.Expression, ref: tuple[str, str]) -> None:
        dataset, table = ref
        self.store.require_dataset(dataset)
        exists = (dataset, table) in self.store.tables
        if kind.startswith("CREATE_"):
            if exists and not tree.args.get("replace") and not tree.args.get("exists"):
                raise duplicate(f"Table {self.store.table_name(dataset, table)}")
        elif kind.startswith("DROP_"):
            if not exists and not tree.args.get("exists"):
                raise not_found(f"Table {self.store.table_name(dataset, table)}")
        else:
            self.store.require_table(dataset, table)

    # -- DDL options --------------------------------------------------------------------

    def _take_ddl_options(self, tree: exp.Create, prepared: Prepared) -> None:
        properties = tree.args.get("properties")
        for prop in list(properties.expressions) if properties else []:
            if isinstance(prop, exp.PartitionedByProperty):
                _merge(prepared.table_resource, from_ddl(prop.this))
            elif isinstance(prop, exp.ClusterProperty):
                prepared.table_resource.update(clustering_from_ddl(list(prop.expressions)))
            elif isinstance(prop, (exp.Property, exp.LocationProperty)) and not isinstance(prop, exp.TemporaryProperty):
                _merge(prepared.table_resource, _options(exp.Properties(expressions=[prop.copy()])))
            else:
                continue
            prop.pop()
        if properties is not None and not properties.expressions:
            tree.set("properties", None)
        if isinstance(tree.this, exp.Schema):
            for column in tree.this.expressions:
                for constraint in list(column.args.get("constraints") or ()):
                    if isinstance(constraint.args.get("kind"), exp.Properties):
                        described = _options(constraint.args["kind"])
                        if described.get("description"):
                            prepared.descriptions[column.name.lower()] = described["description"]
                        constraint.pop()

    # -- parameters and SQL -------------------------------------------------------------

    def _bind_parameters(self, tree: exp.Expression, prepared: Prepared) -> None:
        for node in list(tree.find_all(exp.Placeholder, exp.Parameter, bfs=False)):
            if isinstance(node, exp.Parameter) and isinstance(node.this, exp.Parameter):
                if node.this.name.lower() != "project_id":
                    raise invalid_query(f"System variable @@{node.this.name} is not supported by the BigQuery fake")
                node.replace(exp.Literal.string(self.store.project))
                continue
            if isinstance(node, exp.Parameter) and not isinstance(node.parent, exp.Parameter):
                name = node.name
                found = self.parameters.named.get(name.lower())
                if found is None:
                    raise invalid_query(f"Query parameter '{name}' not found")
            elif isinstance(node, exp.Placeholder):
                if self._positional >= len(self.parameters.positional):
                    raise invalid_query("Not enough positional query parameters for the ? in the query")
                found = self.parameters.positional[self._positional]
                self._positional += 1
                name = f"__p{self._positional}"
            else:
                continue
            kind, value = found
            bound = f"bq_{name.lower()}"
            prepared.params[bound] = value
            cast_type = exp.DataType.build(_bigquery_type(kind), dialect="bigquery")
            node.replace(exp.Cast(this=exp.Parameter(this=exp.var(bound)), to=cast_type))

    def _duckdb_sql(self, tree: exp.Expression, kind: str) -> str:
        if kind == "CREATE_EXTERNAL_TABLE":
            if self.lake_root is None:
                raise invalid_query(
                    "CREATE EXTERNAL TABLE reads gs:// files: start the BigQuery fake with lake_root=<folder> to serve them"
                )
            try:
                return view_sql(parse_external_table(tree), self.lake_root)
            except UnsupportedSqlError as err:
                raise invalid_query(str(err)) from None
        try:
            statements = to_duckdb(tree.sql(dialect="bigquery"))
        except UnsupportedSqlError as err:
            raise invalid_query(
                f"{err} (the BigQuery fake runs BigQuery SQL on DuckDB through the project's transpiler)"
            ) from None
        if len(statements) != 1:
            raise BigQueryError("internalError", f"the transpiler made {len(statements)} statements of one", status=500)
        return statements[0]


def _targets(tree: exp.Expression, kind: str) -> list[exp.Table]:
    node: Any = None
    if kind.startswith("CREATE_") or kind in ("INSERT", "UPDATE", "DELETE", "MERGE", "ALTER_TABLE"):
        node = tree.this
    elif kind.startswith("DROP_") or kind == "TRUNCATE_TABLE":
        node = (tree.args.get("tables") or tree.args.get("expressions") or [tree.this])[0]
    if isinstance(node, exp.Schema):
        node = node.this
    return [node] if isinstance(node, exp.Table) else []


def _is_temporary(tree: exp.Create) -> bool:
    properties = tree.args.get("properties")
    return bool(properties) and any(isinstance(p, exp.TemporaryProperty) for p in properties.expressions)


def _bigquery_type(kind: Field) -> str:
    if kind.type == "RECORD":
        inner = ", ".join(f"`{f.name}` {_bigquery_type(f)}" for f in kind.fields)
        base = f"STRUCT<{inner}>"
    else:
        base = {"INTEGER": "INT64", "FLOAT": "FLOAT64", "BOOLEAN": "BOOL"}.get(kind.type, kind.type)
    return f"ARRAY<{base}>" if kind.repeated else base


def _merge(resource: dict[str, Any], more: dict[str, Any]) -> None:
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(resource.get(key), dict):
            resource[key].update(value)
        else:
            resource[key] = value


def _options(properties: exp.Expression | None) -> dict[str, Any]:
    """Table resource fields from DDL OPTIONS(...)."""
    out: dict[str, Any] = {}
    for prop in properties.expressions if properties is not None else ():
        if isinstance(prop, exp.LocationProperty):
            out["location"] = prop.this.name
            continue
        if not isinstance(prop, exp.Property):
            continue
        key, value = prop.name.lower(), prop.args.get("value")
        if key == "description" and isinstance(value, exp.Literal):
            out["description"] = value.name
        elif key == "friendly_name" and isinstance(value, exp.Literal):
            out["friendlyName"] = value.name
        elif key == "labels" and isinstance(value, exp.Array):
            out["labels"] = {
                t.expressions[0].name: t.expressions[1].name for t in value.expressions if isinstance(t, exp.Tuple)
            }
        elif key == "require_partition_filter":
            out["requirePartitionFilter"] = (
                (value.this is True)
                if isinstance(value, exp.Boolean)
                else str(getattr(value, "name", "")).lower() == "true"
            )
        elif key == "partition_expiration_days" and value is not None:
            out["timePartitioning"] = {"expirationMs": str(int(float(value.name) * 86_400_000))}
        elif key == "location" and isinstance(value, exp.Literal):
            out["location"] = value.name
    return out
