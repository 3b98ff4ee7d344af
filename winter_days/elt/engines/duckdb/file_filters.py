"""Read only the bronze files a query needs: `_FILE_NAME [NOT] IN (SELECT ...)` as constants.

The staging models load bronze incrementally by file with BigQuery's idiom
`WHERE _FILE_NAME NOT IN (SELECT DISTINCT source_file FROM ${self()})`. DuckDB prunes the
files of read_csv / read_parquet for a filter on the file name only when the filter is a
constant (measured on duckdb 2.0: a literal list scans 1 of 12 files, the subquery scans
all 12). So before a query runs, each such uncorrelated subquery is evaluated on its own
and the predicate is rewritten with the resulting list: the same rows, read from the new
files only. A subquery that does not run on its own (correlated) keeps the query as written.

A NOT IN filter is pruned further when the filtered relation is an external table whose
files can be listed (`listing`): DuckDB still visits every file for `NOT IN (<loaded>)`
(150 ms over a year of daily files) but only the named ones for `IN (<the others>)`
(20 ms), so the predicate becomes `IN` over the listed files not loaded yet. The rows are
the same: a file that lands between the listing and the query is loaded by the next run.

The same holds for a filter compared with a scalar subquery, the incremental models' idiom
`WHERE parsed_at > (SELECT MAX(parsed_at) FROM ${self()})`: DuckDB skips row groups by their
min/max only for a constant, so an uncorrelated scalar subquery inside a WHERE clause is
also evaluated first and replaced by its value, typed as DuckDB typed it. A daily batch then
reads the newest row group of a table rather than every row of its history.

Transpiling is pure in the SQL text, so its result is cached per process, keyed by text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Protocol

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from winter_days.warehouse.duckdb.dialect.transpile import (
    BIGQUERY,
    UnsupportedSqlError,
    generate_duckdb,
    transpile_tree,
)

FILE_NAME_COLUMN = "_FILE_NAME"
_PLACEHOLDER = "winter_days_file_filter_{}_"
_CONSTANT_PLACEHOLDER = "winter_days_constant_{}_"
_SOURCE_PLACEHOLDER = "winter_days_file_source_{}_"


@dataclass(frozen=True)
class FileFilter:
    """One `<column> [NOT] IN (<subquery>)` on the file-name pseudo-column, and the
    relation (schema, name) the column is read from when the SELECT reads just one."""

    placeholder: str
    column_sql: str
    subquery_sql: str
    negated: bool
    source: tuple[str, str] | None = None
    # The source relation in the query, as a placeholder that becomes either the relation
    # as written or a read of just the files the filter keeps.
    source_placeholder: str = ""
    source_sql: str = ""


class ListedFiles(Protocol):
    """The files a relation reads (external.LakeFiles)."""

    def names(self) -> list[str]: ...

    def reader_sql(self, names: list[str]) -> str | None: ...


# (schema, name) -> the files the relation reads now, or None when it is not over files.
FileListing = Callable[[str, str], "ListedFiles | None"]


@dataclass(frozen=True)
class ScalarConstant:
    """An uncorrelated scalar subquery inside a WHERE clause, to run before the query."""

    placeholder: str
    subquery_sql: str


@dataclass(frozen=True)
class PreparedQuery:
    """A transpiled query, and the same query with its file filters and scalar subqueries
    left as placeholders."""

    sql: str
    template: str = ""
    filters: tuple[FileFilter, ...] = ()
    constants: tuple[ScalarConstant, ...] = ()

    def resolve(self, con: duckdb.DuckDBPyConnection, listing: FileListing | None = None) -> str:
        """The query to run: file filters replaced by the files their subqueries return now,
        scalar subqueries by their values."""
        if not self.filters and not self.constants:
            return self.sql
        text = self.template
        for file_filter in self.filters:
            try:
                values = [row[0] for row in con.execute(file_filter.subquery_sql).fetchall()]
            except duckdb.BinderException:
                return self.sql  # correlated: it only makes sense inside the query
            to_read = _files_to_read(file_filter, values, listing)
            if to_read is None:
                predicate, source = _predicate(file_filter, values), file_filter.source_sql
            else:
                remaining, files = to_read
                predicate = _predicate(replace(file_filter, negated=False), remaining)
                # Read the remaining files by name: the relation's glob is not expanded again.
                reader = files.reader_sql(remaining) if remaining else None
                source = f"({reader})" if reader else file_filter.source_sql
            text = text.replace(file_filter.placeholder, predicate, 1)
            if file_filter.source_placeholder:
                text = text.replace(file_filter.source_placeholder, source, 1)
        for constant, literal in zip(self.constants, _constant_literals(con, self.constants), strict=False):
            text = text.replace(constant.placeholder, literal, 1)
        return text


@lru_cache(maxsize=1024)
def prepare_query(sql: str) -> PreparedQuery:
    """Transpile exactly one BigQuery SELECT and find its file-name filters (cached)."""
    try:
        trees = [t for t in sqlglot.parse(sql, read=BIGQUERY) if isinstance(t, exp.Expr)]
    except ParseError as err:
        raise UnsupportedSqlError(f"cannot parse BigQuery SQL: {err}") from None
    if len(trees) != 1:
        raise UnsupportedSqlError(f"expected one query, found {len(trees)} statements")
    tree = transpile_tree(trees[0])
    file_filters = [node for node in tree.find_all(exp.In) if _is_file_filter(node)]
    if not file_filters and not _constant_subqueries(tree):
        return PreparedQuery(generate_duckdb(tree, copy=False))
    plain = generate_duckdb(tree)  # on a copy: the tree is rewritten below
    filters: list[FileFilter] = []
    for node in file_filters:
        subquery = node.args["query"]
        column = node.this
        negated = isinstance(node.parent, exp.Not)
        replaced = node.parent if negated and node.parent is not None else node
        placeholder = _PLACEHOLDER.format(len(filters))
        inner = subquery.this if isinstance(subquery, exp.Subquery) else subquery
        file_filter = FileFilter(placeholder, generate_duckdb(column), generate_duckdb(inner), negated)
        table = _source_table(node, column)
        if table is not None:
            source_placeholder = _SOURCE_PLACEHOLDER.format(len(filters))
            source_sql = generate_duckdb(exp.Table(this=table.this.copy(), db=table.args["db"].copy()))
            file_filter = replace(
                file_filter, source=(table.db, table.name), source_placeholder=source_placeholder, source_sql=source_sql
            )
            alias = table.alias or table.name
            table.replace(
                exp.Table(
                    this=exp.to_identifier(source_placeholder), alias=exp.TableAlias(this=exp.to_identifier(alias))
                )
            )
        filters.append(file_filter)
        replaced.replace(exp.column(placeholder))
    constants = _scalar_constants(tree)
    if not filters and not constants:
        return PreparedQuery(plain)
    return PreparedQuery(plain, generate_duckdb(tree, copy=False), tuple(filters), constants)


def _is_file_filter(node: exp.In) -> bool:
    """`_FILE_NAME [NOT] IN (subquery)`."""
    column = node.this
    return (
        node.args.get("query") is not None
        and isinstance(column, exp.Column)
        and column.name.upper() == FILE_NAME_COLUMN
    )


def _constant_subqueries(tree: exp.Expr) -> list[exp.Subquery]:
    """The scalar subqueries of WHERE clauses that filter the SELECT holding them, outermost
    first (a subquery inside one of them may be among them: it runs as part of that one)."""
    found = []
    for node in tree.find_all(exp.Subquery):
        where = node.find_ancestor(exp.Where)
        if isinstance(node.parent, (exp.In, exp.Exists, exp.From, exp.Join)) or where is None:
            continue
        if node.find_ancestor(exp.Subquery, exp.Select) is not where.find_ancestor(exp.Select):
            continue  # not a filter of the SELECT that holds it (e.g. in a subquery's SELECT list)
        found.append(node)
    return found


def _scalar_constants(tree: exp.Expr) -> tuple[ScalarConstant, ...]:
    """Replace each outermost scalar subquery of a WHERE clause by a placeholder column."""
    constants: list[ScalarConstant] = []
    taken: set[int] = set()
    for node in _constant_subqueries(tree):
        if any(id(ancestor) in taken for ancestor in _ancestors(node)):
            continue  # inside a subquery already taken: it runs as part of that one
        placeholder = _CONSTANT_PLACEHOLDER.format(len(constants))
        constants.append(ScalarConstant(placeholder, generate_duckdb(node.this)))
        taken.add(id(node))
        node.replace(exp.column(placeholder))
    return tuple(constants)


def _ancestors(node: exp.Expr):
    parent = node.parent
    while parent is not None:
        yield parent
        parent = parent.parent


def _constant_literals(con: duckdb.DuckDBPyConnection, constants: tuple[ScalarConstant, ...]) -> list[str]:
    """Each subquery's value as a literal of DuckDB's type for it, all in one round trip;
    a subquery that does not run on its own (it reads a CTE or a column of the outer query)
    goes back into the query as written."""
    distinct = list(dict.fromkeys(c.subquery_sql for c in constants))
    values = ", ".join(f"({sql}) AS v{i}" for i, sql in enumerate(distinct))
    typed = ", ".join(f"typeof(v{i}), CAST(v{i} AS VARCHAR)" for i in range(len(distinct)))
    try:
        row = con.execute(f"SELECT {typed} FROM (SELECT {values})").fetchone()
        assert row is not None  # a SELECT without FROM gives one row
    except duckdb.Error:
        if len(distinct) == 1:
            return [f"({distinct[0]})"] * len(constants)
        # One of them cannot run alone: find it by running each on its own.
        return [_constant_literals(con, (c,))[0] for c in constants]
    literal = {sql: _literal(row[2 * i], row[2 * i + 1]) for i, sql in enumerate(distinct)}
    return [literal[c.subquery_sql] for c in constants]


def _literal(kind: str, text: str | None) -> str:
    value = "NULL" if text is None else "'" + text.replace("'", "''") + "'"
    return f"CAST({value} AS {kind})"


def _source_table(node: exp.Expr, column: exp.Column) -> exp.Table | None:
    """The one relation the SELECT holding `node` reads, if the column is from it."""
    select = node.find_ancestor(exp.Select)
    source = select.args.get("from_") if select is not None else None
    table = source.this if source is not None else None
    if select is None or not isinstance(table, exp.Table) or select.args.get("joins") or not table.db:
        return None
    if column.table and column.table not in (table.name, table.alias_or_name):
        return None
    return table


def _files_to_read(
    file_filter: FileFilter, loaded: list[object], listing: FileListing | None
) -> tuple[list[str], ListedFiles] | None:
    """The listed files not loaded yet, and the listing, for a NOT IN filter over a listable relation."""
    if not file_filter.negated or file_filter.source is None or listing is None or None in loaded:
        return None
    files = listing(*file_filter.source)
    if files is None:
        return None
    seen = set(loaded)
    return [name for name in files.names() if name not in seen], files


def _predicate(file_filter: FileFilter, values: Sequence[object]) -> str:
    if not values:
        # IN over no rows is false and NOT IN true, whatever the value (NULL included).
        return "TRUE" if file_filter.negated else "FALSE"
    listed = ", ".join("NULL" if v is None else "'" + str(v).replace("'", "''") + "'" for v in values)
    keyword = "NOT IN" if file_filter.negated else "IN"
    return f"({file_filter.column_sql} {keyword} ({listed}))"
