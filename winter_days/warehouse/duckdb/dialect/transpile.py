"""BigQuery SQL -> DuckDB SQL, with BigQuery's semantics where the two engines differ.

sqlglot does the bulk of the translation. Before a query is rewritten, every function it
calls is checked against functions.py's registry: a function whose BigQuery answer the local
engine cannot give is refused by name, never left to DuckDB's function of a similar name.
The rewrites that give BigQuery's answers live in rewrites_values.py (numbers, strings,
bytes, arrays, hashes) and rewrites_time.py (dates, times, formats), with the Python
functions they call in udfs.py (FARM_FINGERPRINT, FORMAT_*/PARSE_*, ...). This module keeps
the rewrites of query structure and of a few expressions; the conformance suite
(tests/conformance/bigquery_cases.py) pins each answer with BigQuery's documented value:

- EXTRACT(DAYOFWEEK): BigQuery numbers Sunday=1..Saturday=7, DuckDB Sunday=0..6.
- EXTRACT(WEEK): BigQuery counts Sunday-started weeks (days before the first Sunday are
  week 0); DuckDB's WEEK is the ISO week. EXTRACT(ISOWEEK) is DuckDB's WEEK.
- EXTRACT(DATE FROM ts): DuckDB has no DATE part; it is a cast.
- TIMESTAMP_DIFF counts whole elapsed units (BigQuery); DuckDB's date_diff counts unit
  boundaries, its date_sub counts whole units. DATE_DIFF and DATETIME_DIFF count
  boundaries in both engines and keep sqlglot's translation.
- DATE_ADD / DATE_SUB / DATE_TRUNC return a DATE (DuckDB's date + interval and its
  date_trunc('week', date) are TIMESTAMPs).
- CAST / SAFE_CAST of a STRING to INT64 accepts only integer text (decimal or 0x hex) and
  to BOOL only 'true'/'false', as BigQuery does; DuckDB would round '1.5' to 2 and read
  '1e3', 'yes', '1'. A failing CAST raises, a failing SAFE_CAST is NULL.
- NUMERIC is DECIMAL(38, 9) (DuckDB's bare DECIMAL is DECIMAL(18, 3)).
- SAFE.<function>(...) returns NULL instead of failing: TRY(...) in DuckDB, TRY_CAST for
  SAFE.PARSE_JSON, the safe variants of the PARSE_* functions.
- COUNTIF over no rows (or only NULL conditions) is 0 in BigQuery, NULL in DuckDB's
  count_if: it becomes COUNT(CASE WHEN cond THEN 1 END), which is also valid in windows.
- ARRAY_AGG(... ORDER BY ... LIMIT n): DuckDB has no LIMIT inside an aggregate; it is a
  list_slice of the ordered aggregate.

- A WITH clause's (non-recursive) CTEs are NOT MATERIALIZED: BigQuery evaluates such a CTE
  once for each reference (RAND() differs between two references); DuckDB would evaluate
  one referenced several times once and buffer its rows, which for a staging model's
  millions of rows cost more than reading them twice (stg_click: 18 s -> 10-13 s).

Two rewrites are for speed only:
- Several JSON_VALUE calls on the same column in one SELECT (a staging model reading the
  fields of a raw line) become one DuckDB json_extract_string over the list of their
  paths, indexed per field. DuckDB computes that common expression once per row, so each
  line is parsed once instead of once per field. json_extract_string gives a string's
  text, as JSON_VALUE does, but an object's or array's JSON text where JSON_VALUE gives
  NULL: a value that starts with { or [ (an object, an array, or a string that starts so)
  is read again by json_value, which keeps BigQuery's semantics.
- TRIM / LTRIM / RTRIM remove Unicode white space as BigQuery does, and check the first
  and last character first: DuckDB's TRIM with a set of characters costs ten times a
  comparison, and most values have no white space at either end.

Table references drop the project (database): locally a target is schema.name.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ErrorLevel, ParseError

from winter_days.warehouse.duckdb.dialect import rewrites_time, rewrites_values, rewriting
from winter_days.warehouse.duckdb.dialect.functions import UnsupportedFunctionError, check_functions

# The SQL this module writes calls the functions a BigQuery session defines: a connection
# that runs it opens with bigquery_session (named here so a reader needs this module alone).
from winter_days.warehouse.duckdb.dialect.udfs import bigquery_session as bigquery_session


class UnsupportedSqlError(ValueError):
    """BigQuery SQL the local engine cannot run with BigQuery's semantics."""


NUMERIC_PRECISION, NUMERIC_SCALE = 38, 9


# BigQuery casts a STRING to INT64 only from integer text (decimal or 0x hex) and to BOOL
# only from 'true'/'false'; DuckDB also accepts '1.5' (-> 2), '1e3', 'yes', '1', ...
_STRICT_TEXT = {
    exp.DataType.Type.BIGINT: r"\s*[+-]?(0[xX][0-9a-fA-F]+|[0-9]+)\s*",
    exp.DataType.Type.BOOLEAN: r"(?i)\s*(true|false)\s*",
}
_OURS = "winter_days_rewrite"
# Both dialects are loaded here, while Python's import lock holds every other thread back:
# sqlglot registers a dialect's class before it has set the class's tokenizer and parser,
# so a thread that asks for a dialect another thread is loading for the first time can get
# the generic ones (a run's first two actions at once read BigQuery backticks as a
# `Command` and sent the raw CREATE EXTERNAL TABLE to DuckDB). Parse with these instances.
BIGQUERY = Dialect.get_or_raise("bigquery")
DUCKDB = Dialect.get_or_raise("duckdb")
_SHARED_LIST, _SHARED_INDEX, _SHARED_PATH = (
    "__winter_days_json_fields",
    "__winter_days_json_index",
    "__winter_days_json_path",
)


# The characters with Unicode's White_Space property: what BigQuery's TRIM, LTRIM and RTRIM
# remove when given no characters to remove.
UNICODE_WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)


def to_duckdb(sql: str) -> list[str]:
    """Transpile a BigQuery script (one or more statements) to DuckDB statements."""
    try:
        trees = sqlglot.parse(sql, read=BIGQUERY)
    except ParseError as err:
        raise UnsupportedSqlError(f"cannot parse BigQuery SQL: {err}") from None
    return [generate_duckdb(transpile_tree(tree), copy=False) for tree in trees if tree is not None]


def generate_duckdb(tree: exp.Expr, copy: bool = True) -> str:
    """DuckDB SQL for a rewritten tree; anything sqlglot cannot express is an error.

    sqlglot's generator rewrites the tree it is given, so by default it works on a copy.
    A caller done with the tree passes copy=False: copying a staging model's tree costs
    as much as generating its SQL.
    """
    generator = DUCKDB.generator(unsupported_level=ErrorLevel.IGNORE)
    sql = generator.generate(tree, copy=copy)
    # EXTRACT on a TIMESTAMPTZ depends on the session time zone, which is UTC here as in
    # BigQuery, so that warning does not apply.
    real = [m for m in generator.unsupported_messages if "timezone handling" not in m]
    if real:
        raise UnsupportedSqlError("; ".join(real))
    return sql


def to_duckdb_query(sql: str) -> str:
    """Transpile exactly one BigQuery SELECT (a table/view/assertion query)."""
    statements = to_duckdb(sql)
    if len(statements) != 1:
        raise UnsupportedSqlError(f"expected one query, found {len(statements)} statements")
    return statements[0]


def to_duckdb_expression(sql: str) -> str:
    """One BigQuery expression (a partition expression, a predicate) in DuckDB."""
    select = to_duckdb_query(f"SELECT {sql}")
    tree = sqlglot.parse_one(select, read=DUCKDB)
    return tree.expressions[0].sql(dialect=DUCKDB)


def to_duckdb_condition(sql: str) -> str:
    """A BigQuery condition in DuckDB (its column references kept as written)."""
    return to_duckdb_expression(f"({sql})")


def transpile_tree(tree: exp.Expr) -> exp.Expr:
    """Apply the BigQuery-semantics rewrites to a parsed BigQuery statement (in place).

    A function the local engine cannot answer as BigQuery does is refused first, by name."""
    if isinstance(tree, exp.Declare):
        raise UnsupportedSqlError("BigQuery scripting (DECLARE) is not supported by the local executor")
    try:
        check_functions(tree)
        return _share_json_parses(tree.transform(_rewrite, copy=False))
    except (UnsupportedFunctionError, rewrites_values.ValueRewriteError) as refused:
        raise UnsupportedSqlError(str(refused)) from None


def _share_json_parses(tree: exp.Expr) -> exp.Expr:
    """JSON_VALUE(col, p1), JSON_VALUE(col, p2), ... in one SELECT -> JSON_VALUE(col, [p1, p2, ...])[i]."""
    for select in list(tree.find_all(exp.Select)):
        groups: dict[str, list[exp.JSONExtractScalar]] = {}
        for node in select.find_all(exp.JSONExtractScalar):
            if (
                node.args.get("scalar_only")
                and isinstance(node.this, exp.Column)
                and isinstance(node.expression, exp.JSONPath)
                and node.find_ancestor(exp.Select) is select
            ):
                groups.setdefault(node.this.sql(dialect="duckdb"), []).append(node)
        for column, nodes in groups.items():
            paths = sorted({n.expression.sql(dialect="duckdb") for n in nodes})
            if len(paths) < 2:
                continue
            # Parsed once per column and copied into each field (sqlglot's parser takes
            # milliseconds per expression, and a staging model reads dozens of fields).
            listed = sqlglot.parse_one(f"JSON_EXTRACT_STRING({column}, [{', '.join(paths)}])", read=DUCKDB)
            text = f"{_SHARED_LIST}[{_SHARED_INDEX}]"
            template = sqlglot.parse_one(
                f"CASE WHEN PREFIX({text}, '{{') OR PREFIX({text}, '[') "
                f"THEN JSON_VALUE({column}, [{_SHARED_PATH}])[1] ->> '$' ELSE {text} END",
                read=DUCKDB,
            )
            for node in nodes:
                index = paths.index(node.expression.sql(dialect="duckdb"))
                shared = template.copy()
                for placeholder in list(shared.find_all(exp.Column)):
                    if placeholder.name == _SHARED_LIST:
                        placeholder.replace(listed.copy())
                    elif placeholder.name == _SHARED_INDEX:
                        # sqlglot keeps subscripts zero-based and writes DuckDB's one-based ones.
                        placeholder.replace(exp.Literal.number(index))
                    elif placeholder.name == _SHARED_PATH:
                        placeholder.replace(listed.expression.expressions[index].copy())
                node.replace(exp.Paren(this=shared))
    return tree


def _trim_white_space(node: exp.Trim) -> exp.Expr:
    """TRIM/LTRIM/RTRIM(value) with BigQuery's Unicode white space, trimming only a value
    whose first (LTRIM) or last (RTRIM) character, or either (TRIM), is white space."""
    trimmed = node.copy()
    trimmed.set("expression", exp.Literal.string(UNICODE_WHITE_SPACE))
    value = node.this
    points = [exp.Literal.number(ord(c)) for c in UNICODE_WHITE_SPACE]

    def white(char: exp.Expr) -> exp.Expr:
        return exp.In(this=exp.Anonymous(this="UNICODE", expressions=[char]), expressions=[p.copy() for p in points])

    position = str(node.args.get("position") or "").upper()
    first = white(value.copy())
    last = white(exp.Anonymous(this="RIGHT", expressions=[value.copy(), exp.Literal.number(1)]))
    ends = first if position == "LEADING" else last if position == "TRAILING" else exp.or_(first, last)
    return exp.Case(ifs=[exp.If(this=ends, true=trimmed)], default=value.copy())


def _rewrite(node: exp.Expr) -> exp.Expr:
    handler = rewriting.HANDLERS.get(type(node))
    if handler is not None:
        return handler(node)
    if isinstance(node, exp.Table):
        return _drop_project(node)
    if isinstance(node, exp.CTE) and node.args.get("materialized") is None:
        with_clause = node.parent
        if not (isinstance(with_clause, exp.With) and with_clause.args.get("recursive")):
            # BigQuery runs a (non-recursive) CTE once per reference; DuckDB would keep the
            # rows of one referenced several times, buffering millions of them.
            node.set("materialized", False)
        return node
    if isinstance(node, exp.Extract):
        return _extract(node)
    if isinstance(node, exp.TimestampDiff):
        rewriting.operands_first(node)
        unit = exp.Literal.string(_unit_name(node.args.get("unit")))
        return exp.Anonymous(this="DATE_SUB", expressions=[unit, node.expression, node.this])
    if isinstance(node, (exp.DateAdd, exp.DateSub, exp.DateTrunc)) and not node.meta.get(_OURS):
        rewriting.operands_first(node)
        return exp.Cast(this=_ours(node.copy()), to=exp.DataType.build("DATE"))
    if isinstance(node, exp.DataType):
        return _numeric(node)
    if isinstance(node, exp.Cast) and not node.meta.get(_OURS):
        return _strict_cast(node)
    if isinstance(node, exp.SafeFunc):
        return _safe(node.this)
    if isinstance(node, exp.Trim) and node.args.get("expression") is None:
        # BigQuery trims every Unicode white space character; DuckDB's TRIM only spaces.
        rewriting.operands_first(node)
        return _trim_white_space(node)
    if isinstance(node, exp.CountIf):
        rewriting.operands_first(node)
        counted = exp.Case(ifs=[exp.If(this=node.this.copy(), true=exp.Literal.number(1))])
        return exp.Count(this=counted)
    if isinstance(node, exp.IgnoreNulls) and isinstance(node.this, exp.ArrayAgg):
        rewriting.operands_first(node.this)
        return rewrites_values.array_agg(node.this, ignore_nulls=True)
    if isinstance(node, exp.Anonymous) and str(node.this).upper() == "IEEE_DIVIDE" and len(node.expressions) == 2:
        rewriting.operands_first(node)
        return rewriting.template(
            "CAST(_a AS DOUBLE) / CAST(_b AS DOUBLE)", a=node.expressions[0], b=node.expressions[1]
        )
    if isinstance(node, exp.Window) and isinstance(node.this, exp.Avg):
        return _numeric_average(node, node.this)
    if isinstance(node, exp.Avg) and not isinstance(node.parent, exp.Window):
        return _numeric_average(None, node)
    return node


def _drop_project(table: exp.Table) -> exp.Table:
    if table.args.get("catalog") is not None and table.args.get("db") is not None:
        table = table.copy()
        table.set("catalog", None)
    return table


def _unit_name(unit: exp.Expr | None) -> str:
    if unit is None:
        raise UnsupportedSqlError("date part missing")
    if isinstance(unit, exp.WeekStart):
        raise UnsupportedSqlError("TIMESTAMP_DIFF with WEEK(<weekday>) is not supported locally")
    return unit.name.upper()


def _extract(node: exp.Extract) -> exp.Expr:
    part = node.name.upper()
    value = node.expression
    if part == "DAYOFWEEK":
        return exp.Paren(this=exp.Add(this=node.copy(), expression=exp.Literal.number(1)))
    if part == "WEEK":
        week = exp.Anonymous(this="STRFTIME", expressions=[value.copy(), exp.Literal.string("%U")])
        return _ours(exp.Cast(this=week, to=exp.DataType.build("BIGINT")))
    if part == "ISOWEEK":
        return exp.Extract(this=exp.var("WEEK"), expression=value.copy())
    if part == "DATE":
        return exp.Cast(this=value.copy(), to=exp.DataType.build("DATE"))
    return node


def _ours(node: exp.Expr) -> exp.Expr:
    """Mark a node this module built, so later rewrites leave it alone."""
    node.meta[_OURS] = True
    return node


def _strict_cast(node: exp.Cast) -> exp.Expr:
    """CAST / SAFE_CAST with BigQuery's reading of STRING (to INT64 and BOOL: only integer
    and true/false text) and writing of STRING and BYTES."""
    target = node.to.this if isinstance(node.to, exp.DataType) else None
    safe = isinstance(node, exp.TryCast) or bool(node.args.get("safe"))
    value = node.this
    if target in (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT):
        rewriting.operands_first(node)
        return rewrites_values.cast_to_string(node.this, safe)
    if target in (exp.DataType.Type.VARBINARY, exp.DataType.Type.BINARY):
        rewriting.operands_first(node)
        return rewrites_values.cast_to_bytes(node.this, safe)
    if target == exp.DataType.Type.BIGINT:
        rewriting.operands_first(node)
        return rewrites_values.cast_text_to_int64(node.this, safe)
    pattern = _STRICT_TEXT.get(target)
    if pattern is None or (isinstance(value, exp.Literal) and not value.is_string):
        return node
    rewriting.operands_first(node)
    value = node.this
    is_text = exp.EQ(
        this=exp.Anonymous(this="TYPEOF", expressions=[value.copy()]), expression=exp.Literal.string("VARCHAR")
    )
    as_text = exp.Cast(this=value.copy(), to=exp.DataType.build("VARCHAR"))
    fits = exp.Anonymous(this="REGEXP_FULL_MATCH", expressions=[as_text, exp.Literal.string(pattern)])
    accepted = exp.or_(exp.Is(this=value.copy(), expression=exp.Null()), exp.Not(this=exp.Paren(this=is_text)), fits)
    if safe:
        checked = exp.Case(ifs=[exp.If(this=accepted, true=value.copy())])
        return _ours(exp.TryCast(this=checked, to=node.to.copy()))
    message = exp.DPipe(this=exp.Literal.string("Bad bool value: "), expression=as_text.copy())
    failure = exp.Anonymous(this="ERROR", expressions=[message])
    checked = exp.Case(ifs=[exp.If(this=accepted, true=value.copy())], default=failure)
    return _ours(exp.Cast(this=checked, to=node.to.copy()))


def _numeric_average(window: exp.Window | None, average: exp.Avg) -> exp.Expr:
    """AVG of NUMERIC is NUMERIC in BigQuery (DuckDB's is DOUBLE): SUM / COUNT, exactly."""
    rewriting.operands_first(average)
    value = average.this
    if window is not None:
        rewriting.operands_first(window)

    def over(aggregate: exp.Expr) -> exp.Expr:
        if window is None:
            return aggregate
        copy = window.copy()
        copy.set("this", aggregate)
        return copy

    numeric = rewriting.call(
        "winter_days_numeric_divide",
        rewriting.cast(over(exp.Sum(this=value.copy())), "DECIMAL(38, 9)"),
        rewriting.cast(over(exp.Count(this=value.copy())), "DECIMAL(38, 9)"),
    )
    # The type of SUM(value) tells a NUMERIC column (typeof of the bare column would not
    # bind in an aggregate query).
    return rewriting.by_type(
        [("numeric", numeric)], over(average.copy()), over(exp.Sum(this=value.copy())), ["_t LIKE 'DECIMAL%'"]
    )


def _numeric(node: exp.DataType) -> exp.DataType:
    if node.this == exp.DataType.Type.BIGDECIMAL:
        raise UnsupportedSqlError(
            "BIGNUMERIC is not supported by the local engine: it needs 76 digits and DuckDB's "
            "DECIMAL holds 38; use NUMERIC (29 integer and 9 fractional digits)"
        )
    if node.this == exp.DataType.Type.DECIMAL and not node.expressions:
        return exp.DataType.build(f"DECIMAL({NUMERIC_PRECISION}, {NUMERIC_SCALE})")
    return node


def _safe(inner: exp.Expr) -> exp.Expr:
    if isinstance(inner, exp.ParseJSON):
        return exp.TryCast(this=inner.this, to=exp.DataType.build("JSON"))
    if isinstance(inner, (exp.StrToTime, exp.StrToDate, exp.ParseDatetime)):
        return rewrites_time.parse(inner, safe=True)
    if isinstance(inner, exp.Cast):
        return _strict_cast(exp.TryCast(this=inner.this, to=inner.to))
    return exp.Anonymous(this="TRY", expressions=[inner.transform(_rewrite, copy=False)])


rewriting.REWRITE.append(_rewrite)
