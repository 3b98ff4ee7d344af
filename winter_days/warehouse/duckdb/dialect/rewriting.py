"""The machinery the BigQuery-semantics rewrites share: a handler per sqlglot node type,
DuckDB expression templates, and dispatch on an operand's type.

Types decide many of BigQuery's answers (NUMERIC / NUMERIC is NUMERIC, FLOAT64 / FLOAT64
is FLOAT64; BYTES and STRING cast to STRING differently) while a query's column types are
only known to DuckDB. `by_type` builds `struct_extract(struct_pack(one := ..., other :=
...), <key chosen by typeof(...)>)`: DuckDB folds typeof() of a column when it plans the
query and then keeps only the chosen member, so the answer has the chosen expression's type
and the other members are never evaluated (each must still bind for every operand type).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

DUCKDB = Dialect.get_or_raise("duckdb")
Handler = Callable[[Any], exp.Expr]  # each takes the node type it is registered for
HANDLERS: dict[type, Handler] = {}
# The whole rewrite (transpile.py sets it): handlers rewrite a node's operands with it
# before they build its replacement, because sqlglot does not visit a replaced node's children.
REWRITE: list[Handler] = []


Node = TypeVar("Node", bound=exp.Expr)


def handles(*kinds: type[exp.Expr]) -> Callable[[Callable[[Node], exp.Expr]], Callable[[Node], exp.Expr]]:
    def register(handler: Callable[[Node], exp.Expr]) -> Callable[[Node], exp.Expr]:
        for kind in kinds:
            HANDLERS[kind] = handler
        return handler

    return register


def operands_first(node: exp.Expr) -> exp.Expr:
    """Rewrite the operands of `node` (in place) before `node` is replaced."""
    rewrite = REWRITE[0]
    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expr):
            node.set(key, value.transform(rewrite, copy=False))
        elif isinstance(value, list):
            node.set(key, [v.transform(rewrite, copy=False) if isinstance(v, exp.Expr) else v for v in value])
    return node


@cache
def _parsed(template: str) -> exp.Expr:
    return sqlglot.parse_one(template, dialect=DUCKDB)


def template(sql: str, **parts: exp.Expr) -> exp.Expr:
    """A DuckDB expression from `sql`, whose columns `_a`, `_b`, ... are replaced by copies
    of the expressions given as a=..., b=... (parsed once per template)."""
    tree = _parsed(sql).copy()
    for column in list(tree.find_all(exp.Column)):
        name = column.name
        if name.startswith("_") and name[1:] in parts and not column.table:
            column.replace(parts[name[1:]].copy())
    return tree


def by_type(
    choices: list[tuple[str, exp.Expr]], default: exp.Expr, operand: exp.Expr, conditions: list[str]
) -> exp.Expr:
    """The member of `choices` whose condition on typeof(operand) holds, else `default`.

    `conditions[i]` is a DuckDB condition on `_t` (the operand's type name), e.g.
    "_t LIKE 'DECIMAL%'"."""
    return by_key(choices, default, exp.Anonymous(this="TYPEOF", expressions=[operand.copy()]), conditions)


def by_key(choices: list[tuple[str, exp.Expr]], default: exp.Expr, key: exp.Expr, conditions: list[str]) -> exp.Expr:
    """by_type on any expression DuckDB folds when it plans (`_t` in the conditions)."""
    members = [
        exp.PropertyEQ(this=exp.to_identifier(f"m{i}"), expression=value) for i, (_, value) in enumerate(choices)
    ]
    members.append(exp.PropertyEQ(this=exp.to_identifier("m_default"), expression=default))
    packed = exp.Anonymous(this="STRUCT_PACK", expressions=members)
    ifs = [
        exp.If(this=template(condition, t=key), true=exp.Literal.string(f"m{i}"))
        for i, condition in enumerate(conditions)
    ]
    chosen = exp.Case(ifs=ifs, default=exp.Literal.string("m_default"))
    return exp.Anonymous(this="STRUCT_EXTRACT", expressions=[packed, chosen])


def call(name: str, *arguments: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=[a.copy() for a in arguments])


def cast(value: exp.Expr, to: str) -> exp.Expr:
    return exp.Cast(this=value.copy(), to=exp.DataType.build(to, dialect=DUCKDB))


def try_cast(value: exp.Expr, to: str) -> exp.Expr:
    return exp.TryCast(this=value.copy(), to=exp.DataType.build(to, dialect=DUCKDB))


def error(message: exp.Expr | str) -> exp.Expr:
    text = exp.Literal.string(message) if isinstance(message, str) else message
    return exp.Anonymous(this="ERROR", expressions=[text])
