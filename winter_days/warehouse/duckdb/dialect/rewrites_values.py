"""BigQuery's answers for numbers, strings, bytes, arrays and hashes where DuckDB's differ.

Each handler rewrites one sqlglot node of a BigQuery query into DuckDB SQL with BigQuery's
result, or BigQuery's error: a number literal with a decimal point is FLOAT64; `/` raises on
a zero divisor and keeps NUMERIC exact (scale 9, halves away from zero); an array subscript
out of range raises; SUBSTR and INSTR count positions as BigQuery does; UNNEST ... WITH
OFFSET counts from 0; CAST to STRING writes NUMERIC, FLOAT64 and BYTES as BigQuery does.
The conformance suite (tests/conformance/bigquery_cases.py) pins each one.
"""

from __future__ import annotations

import re

from sqlglot import exp

from winter_days.warehouse.duckdb.dialect import string_format
from winter_days.warehouse.duckdb.dialect.rewriting import (
    by_key,
    by_type,
    call,
    cast,
    handles,
    operands_first,
    template,
    try_cast,
)
from winter_days.warehouse.duckdb.dialect.string_format import Spec

NUMERIC = "DECIMAL(38, 9)"
_NOT_FLOAT = "_t NOT IN ('DOUBLE', 'FLOAT') AND _u NOT IN ('DOUBLE', 'FLOAT')"


class ValueRewriteError(ValueError):
    """A query the local engine refuses, naming the function (transpile.py reports it)."""


def _typed2(choices: list[tuple[str, exp.Expr]], default: exp.Expr, left: exp.Expr, right: exp.Expr) -> exp.Expr:
    """by_type on two operands: conditions use _t (left's type) and _u (right's)."""
    both = exp.Anonymous(
        this="CONCAT",
        expressions=[
            exp.Anonymous(this="TYPEOF", expressions=[left.copy()]),
            exp.Literal.string("|"),
            exp.Anonymous(this="TYPEOF", expressions=[right.copy()]),
        ],
    )
    conditions = [
        condition.replace("_t", "SPLIT_PART(_t, '|', 1)").replace("_u", "SPLIT_PART(_t, '|', 2)")
        for condition, _ in choices
    ]
    return by_key(choices, default, both, conditions)


def _int64(value: exp.Expr) -> exp.Expr:
    """An integer literal as INT64 (DuckDB would widen a literal past 64 bits where BigQuery overflows)."""
    literal = value.this if isinstance(value, exp.Neg) else value
    if isinstance(literal, exp.Literal) and not literal.is_string and re.fullmatch(r"\d+", literal.this):
        text = ("-" if isinstance(value, exp.Neg) else "") + literal.this
        return exp.Cast(this=exp.Literal.number(text), to=exp.DataType.build("BIGINT"))
    return value


@handles(exp.Literal)
def _float_literal(node: exp.Literal) -> exp.Expr:
    # BigQuery reads 1.5 and 1e3 as FLOAT64; DuckDB would make 1.5 a DECIMAL.
    if not node.is_string and re.search(r"[.eE]", node.this) and isinstance(node.parent, exp.Expr):
        return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
    return node


@handles(exp.Add, exp.Sub, exp.Mod)
def _integer_arithmetic(node: exp.Binary) -> exp.Expr:
    operands_first(node)
    node.set("this", _int64(node.this))
    node.set("expression", _int64(node.expression))
    return node


_INTEGER_TYPES = "_t IN ('BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT', 'HUGEINT')"


@handles(exp.Neg)
def _negate(node: exp.Neg) -> exp.Expr:
    if isinstance(node.this, exp.Literal):
        return node  # -9223372036854775808 is a literal of its own in BigQuery
    operands_first(node)
    # INT64 negation overflows at -2^63 in BigQuery (DuckDB widens a constant to HUGEINT).
    value = node.this
    return by_type(
        [("integer", template("CAST(0 AS BIGINT) - CAST(_a AS BIGINT)", a=value))],
        exp.Neg(this=value.copy()),
        value,
        [_INTEGER_TYPES],
    )


def _division(left: exp.Expr, right: exp.Expr) -> exp.Expr:
    """left / right with BigQuery's result type: NUMERIC when a NUMERIC meets no FLOAT64, else FLOAT64."""
    numeric = call(
        "winter_days_numeric_divide",
        exp.TryCast(this=left.copy(), to=exp.DataType.build(NUMERIC)),
        exp.TryCast(this=right.copy(), to=exp.DataType.build(NUMERIC)),
    )
    floating = template("CAST(_a AS DOUBLE) / CAST(_b AS DOUBLE)", a=left, b=right)
    return _typed2([(f"(_t LIKE 'DECIMAL%' OR _u LIKE 'DECIMAL%') AND {_NOT_FLOAT}", numeric)], floating, left, right)


def _static_float(node: exp.Expr) -> bool:
    """The expression is FLOAT64 whatever its inputs: a cast to it (float literals become one,
    and so does the result of arithmetic with a FLOAT64 operand)."""
    while isinstance(node, exp.Paren):
        node = node.this
    return isinstance(node, (exp.Cast, exp.TryCast)) and node.to.this in (
        exp.DataType.Type.DOUBLE,
        exp.DataType.Type.FLOAT,
    )


def _as_float(value: exp.Expr) -> exp.Expr:
    """A FLOAT64 result, marked as such for the operation around it (see _static_float)."""
    return exp.Cast(this=value, to=exp.DataType.build("DOUBLE"))


@handles(exp.Div)
def _divide(node: exp.Div) -> exp.Expr:
    operands_first(node)
    left, right = node.this, node.expression
    floating = _static_float(left) or _static_float(right)
    # With a FLOAT64 operand the result is FLOAT64: no dispatch on the operands' types at
    # run time, which copies each operand into every branch (nested divisions grew the SQL
    # exponentially).
    if floating:
        # The numerator appears once (nested divisions are mostly numerators); BigQuery's
        # message names both operands, this one the divisor's zero alone.
        quotient = template("CAST(_a AS DOUBLE) / CAST(_b AS DOUBLE)", a=left, b=right)
        return _as_float(template("CASE WHEN _b = 0 THEN ERROR('division by zero') ELSE _q END", b=right, q=quotient))
    checked = template(
        "CASE WHEN _b = 0 THEN ERROR('division by zero: ' || CAST(_a AS VARCHAR) || ' / ' || "
        "CAST(_b AS VARCHAR)) ELSE _q END",
        a=left,
        b=right,
        q=_division(left, right),
    )
    return checked


@handles(exp.SafeDivide)
def _safe_divide(node: exp.SafeDivide) -> exp.Expr:
    operands_first(node)
    left, right = node.this, node.expression
    return template("CASE WHEN _b = 0 THEN NULL ELSE _q END", b=right, q=_division(left, right))


@handles(exp.Mul)
def _multiply(node: exp.Mul) -> exp.Expr:
    operands_first(node)
    left, right = _int64(node.this), _int64(node.expression)
    if _static_float(left) or _static_float(right):
        return _as_float(exp.Mul(this=left, expression=right))
    numeric = call(
        "winter_days_numeric_multiply",
        exp.TryCast(this=left.copy(), to=exp.DataType.build(NUMERIC)),
        exp.TryCast(this=right.copy(), to=exp.DataType.build(NUMERIC)),
    )
    return _typed2(
        [(f"_t LIKE 'DECIMAL%' AND _u LIKE 'DECIMAL%' AND {_NOT_FLOAT}", numeric)],
        exp.Mul(this=left, expression=right),
        left,
        right,
    )


@handles(exp.SafeAdd, exp.SafeSubtract, exp.SafeMultiply)
def _safe_arithmetic(node: exp.Expr) -> exp.Expr:
    operands_first(node)
    kinds: dict[type[exp.Expr], type[exp.Binary]] = {
        exp.SafeAdd: exp.Add,
        exp.SafeSubtract: exp.Sub,
        exp.SafeMultiply: exp.Mul,
    }
    kind = kinds[type(node)]
    return call("TRY", kind(this=_int64(node.this), expression=_int64(node.expression)))


@handles(exp.SafeNegate)
def _safe_negate(node: exp.SafeNegate) -> exp.Expr:
    operands_first(node)
    value = _int64(node.this)
    return call(
        "TRY",
        by_type(
            [("integer", template("CAST(0 AS BIGINT) - CAST(_a AS BIGINT)", a=value))],
            exp.Neg(this=value.copy()),
            value,
            [_INTEGER_TYPES],
        ),
    )


@handles(exp.Sqrt)
def _sqrt(node: exp.Sqrt) -> exp.Expr:
    operands_first(node)
    return template(
        "CASE WHEN _a < 0 THEN ERROR('Argument to SQRT cannot be negative: ' || CAST(_a AS VARCHAR)) ELSE SQRT(_a) END",
        a=node.this,
    )


@handles(exp.Ln)
def _ln(node: exp.Ln) -> exp.Expr:
    operands_first(node)
    return template(
        "CASE WHEN _a <= 0 THEN ERROR('Argument to LN cannot be zero or negative: ' || "
        "CAST(_a AS VARCHAR)) ELSE LN(_a) END",
        a=node.this,
    )


@handles(exp.Log)
def _log(node: exp.Log) -> exp.Expr:
    operands_first(node)
    if node.args.get("expression") is None:
        return template(
            "CASE WHEN _a <= 0 THEN ERROR('Argument to LOG cannot be zero or negative: ' || "
            "CAST(_a AS VARCHAR)) ELSE LN(_a) END",
            a=node.this,
        )
    base, value = node.this, node.expression  # sqlglot keeps LOG(value, base) as Log(base, value)
    return template(
        "CASE WHEN _v <= 0 OR _b <= 0 OR _b = 1 THEN ERROR('Argument to LOG is out of range: ' || "
        "CAST(_v AS VARCHAR) || ', ' || CAST(_b AS VARCHAR)) ELSE LN(_v) / LN(_b) END",
        v=value,
        b=base,
    )


@handles(exp.Greatest, exp.Least)
def _extreme(node: exp.Expr) -> exp.Expr:
    operands_first(node)
    # BigQuery: NULL when any argument is NULL; DuckDB skips NULLs.
    values = [node.this, *node.expressions]
    nulls = exp.or_(*[exp.Is(this=v.copy(), expression=exp.Null()) for v in values])
    name = "GREATEST" if isinstance(node, exp.Greatest) else "LEAST"
    return exp.Case(ifs=[exp.If(this=nulls, true=exp.Null())], default=call(name, *values))


@handles(exp.Bracket)
def _subscript(node: exp.Bracket) -> exp.Expr:
    keys = node.expressions
    if len(keys) != 1 or (isinstance(keys[0], exp.Literal) and keys[0].is_string):
        return node  # a struct field or JSON member, not an array position
    operands_first(node)
    offset = node.args.get("offset", 0) or 0
    index = keys[0]
    position = template(f"CAST(_i AS BIGINT) + {1 - offset}", i=index)
    inside = template(f"_i >= {offset} AND _i < LEN(_a) + {offset}", i=index, a=node.this)
    element = call("LIST_EXTRACT", node.this, position)
    if node.args.get("safe"):
        return exp.Case(ifs=[exp.If(this=inside, true=element)], default=exp.Null())
    kind = "OFFSET" if offset == 0 else "ORDINAL"
    failure = template(
        f"ERROR('Array index ' || CAST(_i AS VARCHAR) || ' is out of bounds (overflow) in {kind}')", i=index
    )
    return template(
        "CASE WHEN _a IS NULL OR _i IS NULL THEN NULL WHEN _ok THEN _e ELSE _f END",
        a=node.this,
        i=index,
        ok=inside,
        e=element,
        f=failure,
    )


@handles(exp.Unnest)
def _unnest(node: exp.Unnest) -> exp.Expr:
    offset = node.args.get("offset")
    if not isinstance(node.parent, (exp.From, exp.Join)):
        return node
    alias = node.args.get("alias")
    if not offset:
        if alias is not None or len(node.expressions) != 1:
            return node
        # Without an alias, BigQuery makes the fields of an array of STRUCTs the columns.
        operands_first(node)
        flat = exp.select(
            exp.Anonymous(
                this="UNNEST",
                expressions=[
                    node.expressions[0].copy(),
                    exp.PropertyEQ(this=exp.to_identifier("recursive"), expression=exp.true()),
                ],
            )
        )
        return exp.Subquery(this=flat, alias=exp.TableAlias(this=exp.to_identifier(f"_wd_unnest_{id(node) % 100000}")))
    operands_first(node)
    # WITH OFFSET counts from 0 (DuckDB's WITH ORDINALITY from 1): zip the values with 0..n-1.
    array = node.expressions[0]
    value_name = alias.columns[0] if alias is not None and alias.columns else exp.to_identifier("_wd_value")
    offset_name = offset if isinstance(offset, exp.Identifier) else exp.to_identifier("offset")
    select = exp.select(
        exp.alias_(call("UNNEST", array), value_name),
        exp.alias_(call("UNNEST", call("RANGE", call("LEN", array))), offset_name),
    )
    return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(f"_wd_unnest_{id(node) % 100000}")))


def array_agg(node: exp.ArrayAgg, ignore_nulls: bool) -> exp.Expr:
    """ARRAY_AGG([IGNORE NULLS] [ORDER BY] [LIMIT n]) as DuckDB spells it."""
    body = node.this
    count = None
    if isinstance(body, exp.Limit):
        count = body.args.get("expression")
        body = body.this
    agg: exp.Expr = exp.ArrayAgg(this=body.copy())
    if ignore_nulls:
        value = body.this if isinstance(body, exp.Order) else body
        agg = exp.Filter(
            this=agg, expression=exp.Where(this=exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())))
        )
    if count is None:
        return agg
    return exp.Anonymous(this="LIST_SLICE", expressions=[agg, exp.Literal.number(1), count.copy()])


@handles(exp.ArrayAgg)
def _array_agg_nulls(node: exp.ArrayAgg) -> exp.Expr:
    if isinstance(node.parent, (exp.IgnoreNulls, exp.Window)) or node.find(exp.IgnoreNulls):
        return node
    operands_first(node)
    aggregate = array_agg(node, ignore_nulls=False) if isinstance(node.this, exp.Limit) else node
    # BigQuery's ARRAY_AGG fails on a NULL element (unless IGNORE NULLS).
    return template(
        "CASE WHEN LIST_CONTAINS(LIST_TRANSFORM(_l, lambda v: v IS NULL), TRUE) THEN "
        "ERROR('Array cannot have a NULL element: ARRAY_AGG found one; use IGNORE NULLS') ELSE _l END",
        l=aggregate,
    )


@handles(exp.GenerateSeries)
def _generate_array(node: exp.GenerateSeries) -> exp.Expr:
    operands_first(node)
    start, end = node.args["start"], node.args["end"]
    step = node.args.get("step") or exp.Literal.number(1)
    return template(
        "CASE WHEN _s = 0 THEN ERROR('Sequence step cannot be 0.') ELSE LIST_TRANSFORM(RANGE(CAST("
        "GREATEST(FLOOR((_e - _a) / _s) + 1, 0) AS BIGINT)), lambda i: _a + i * _s) END",
        a=_int64(start),
        e=_int64(end),
        s=_int64(step),
    )


# -- strings and bytes --------------------------------------------------------------------------
@handles(exp.ByteLength)
def _byte_length(node: exp.ByteLength) -> exp.Expr:
    operands_first(node)
    value = node.this
    return by_type(
        [("blob", template("OCTET_LENGTH(CAST(CAST(_a AS VARCHAR) AS BLOB))", a=value))],
        template("STRLEN(CAST(_a AS VARCHAR))", a=value),
        value,
        ["_t = 'BLOB'"],
    )


@handles(exp.Substring)
def _substr(node: exp.Substring) -> exp.Expr:
    operands_first(node)
    value, start = node.this, node.args.get("start") or exp.Literal.number(1)
    length = node.args.get("length")
    begin = template(
        "CASE WHEN _p = 0 THEN 1 WHEN _p < 0 THEN GREATEST(LENGTH(_v) + _p + 1, 1) ELSE _p END", p=start, v=value
    )
    if length is None:
        return call("SUBSTRING", value, begin)
    return template(
        "CASE WHEN _n < 0 THEN ERROR('SUBSTR: length must not be negative: ' || CAST(_n AS VARCHAR)) "
        "ELSE SUBSTRING(_v, _b, _n) END",
        n=length,
        v=value,
        b=begin,
    )


@handles(exp.StrPosition)
def _instr(node: exp.StrPosition) -> exp.Expr:
    position, occurrence = node.args.get("position"), node.args.get("occurrence")
    if position is None and occurrence is None:
        return node
    operands_first(node)
    return call(
        "winter_days_instr",
        node.this,
        node.args["substr"],
        position or exp.Literal.number(1),
        occurrence or exp.Literal.number(1),
    )


@handles(exp.ToCodePoints)
def _code_points(node: exp.ToCodePoints) -> exp.Expr:
    operands_first(node)
    value = node.this
    return by_type(
        [("blob", template("winter_days_byte_values(CAST(CAST(_a AS VARCHAR) AS BLOB))", a=value))],
        template("winter_days_code_points(CAST(_a AS VARCHAR))", a=value),
        value,
        ["_t = 'BLOB'"],
    )


@handles(exp.Repeat)
def _repeat(node: exp.Repeat) -> exp.Expr:
    operands_first(node)
    return template(
        "CASE WHEN _n < 0 THEN ERROR('REPEAT count must not be negative: ' || CAST(_n AS VARCHAR)) "
        "ELSE REPEAT(_v, _n) END",
        n=node.args["times"],
        v=node.this,
    )


@handles(exp.RegexpExtract)
def _regexp_extract(node: exp.RegexpExtract) -> exp.Expr:
    pattern = node.expression
    if isinstance(pattern, exp.RawString):
        pattern = exp.Literal.string(pattern.this)
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        raise ValueRewriteError(
            "REGEXP_EXTRACT() with a pattern that is not a literal is not supported by the "
            "local engine: BigQuery's NULL for a capturing group that takes no part cannot be told "
            "apart from an empty match there"
        )
    groups = re.findall(r"(?<!\\)\((?!\?)", pattern.this)
    if len(groups) > 1:
        raise ValueRewriteError(
            "REGEXP_EXTRACT(): BigQuery rejects a regular expression with more than one "
            f"capturing group: {pattern.this!r}"
        )
    if groups and (re.search(r"\)[?*]|\)\{0", pattern.this) or "|" in pattern.this):
        raise ValueRewriteError(
            f"REGEXP_EXTRACT() pattern {pattern.this!r} is not supported by the local engine: its "
            "capturing group may take no part in a match (BigQuery returns NULL, DuckDB '')"
        )
    if node.args.get("position") or node.args.get("occurrence"):
        raise ValueRewriteError("REGEXP_EXTRACT() with position or occurrence is not supported by the local engine")
    operands_first(node)
    group = 1 if groups else 0
    return template(
        f"CASE WHEN REGEXP_MATCHES(_v, _p) THEN REGEXP_EXTRACT(_v, _p, {group}) ELSE NULL END", v=node.this, p=pattern
    )


def _formatted(spec: Spec, value: exp.Expr) -> exp.Expr:
    """One FORMAT specifier applied to its value, chosen by the value's type (a NULL is NULL)."""
    text = exp.Literal.string(spec.text)
    if spec.conversion in string_format.INTEGER:
        choices = [("integer", call("winter_days_format_integer", text, try_cast(value, "HUGEINT")))]
        conditions, wanted = [_INTEGER_TYPES], "INT64"
    elif spec.conversion in string_format.FLOAT:
        choices = [
            ("float", call("winter_days_format_float", text, try_cast(value, "DOUBLE"))),
            ("numeric", call("winter_days_format_numeric", text, try_cast(value, NUMERIC))),
        ]
        conditions, wanted = ["_t IN ('DOUBLE', 'FLOAT')", "_t LIKE 'DECIMAL%'"], "FLOAT64 or NUMERIC"
    else:
        choices = [("text", call("winter_days_format_string", text, try_cast(value, "VARCHAR")))]
        conditions, wanted = ["_t = 'VARCHAR'"], "STRING"
    choices.append(("null", exp.Cast(this=exp.Null(), to=exp.DataType.build("VARCHAR"))))
    conditions.append("_t = '\"NULL\"'")
    message = exp.Literal.string(f"FORMAT: {spec.text} needs an argument of type {wanted}, not ")
    refused = call("ERROR", exp.DPipe(this=message, expression=call("TYPEOF", value)))
    return by_type(choices, refused, value, conditions)


@handles(exp.Format)
def _format(node: exp.Format) -> exp.Expr:
    fmt = node.this
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        raise ValueRewriteError(
            "FORMAT() with a format string that is not a literal is not supported by the local engine"
        )
    try:
        pieces = string_format.specifiers(fmt.this)
    except string_format.FormatSpecError as err:
        raise ValueRewriteError(str(err)) from None
    operands_first(node)
    values = list(node.expressions)
    specs = [piece for piece in pieces if isinstance(piece, Spec)]
    if len(specs) != len(values):
        raise ValueRewriteError(
            f"FORMAT({fmt.this!r}, ...): {len(specs)} format specifiers but {len(values)} "
            "values (BigQuery raises an error)"
        )
    parts: list[exp.Expr] = []
    for piece in pieces:
        parts.append(exp.Literal.string(piece) if isinstance(piece, str) else _formatted(piece, values.pop(0)))
    if not parts:
        return exp.Literal.string("")
    out = parts[0]
    for part in parts[1:]:
        out = exp.DPipe(this=out, expression=part)
    return exp.Paren(this=out)


@handles(exp.FarmFingerprint)
def _farm_fingerprint(node: exp.FarmFingerprint) -> exp.Expr:
    operands_first(node)
    value = (node.expressions or [node.this])[0]
    return by_type(
        [("blob", template("winter_days_farm_fingerprint_bytes(CAST(CAST(_a AS VARCHAR) AS BLOB))", a=value))],
        template("winter_days_farm_fingerprint(CAST(_a AS VARCHAR))", a=value),
        value,
        ["_t = 'BLOB'"],
    )


def _as_bytes(value: exp.Expr) -> exp.Expr:
    """STRING or BYTES as BYTES (a STRING's UTF-8 bytes)."""
    return by_type(
        [("text", template("ENCODE(CAST(_a AS VARCHAR))", a=value))],
        template("CAST(CAST(_a AS VARCHAR) AS BLOB)", a=value),
        value,
        ["_t = 'VARCHAR'"],
    )


@handles(exp.SHA1Digest)
def _sha1(node: exp.SHA1Digest) -> exp.Expr:
    operands_first(node)
    return call("winter_days_digest", exp.Literal.string("sha1"), _as_bytes(node.this))


@handles(exp.SHA2Digest)
def _sha2(node: exp.SHA2Digest) -> exp.Expr:
    operands_first(node)
    length = node.args.get("length")
    bits = length.name if isinstance(length, exp.Literal) else "256"
    return call("winter_days_digest", exp.Literal.string(f"sha{bits}"), _as_bytes(node.this))


# -- casts ------------------------------------------------------------------------------------
def cast_to_string(value: exp.Expr, safe: bool) -> exp.Expr:
    """CAST(value AS STRING) as BigQuery writes each type."""
    decode = "TRY(DECODE(CAST(CAST(_a AS VARCHAR) AS BLOB)))" if safe else "DECODE(CAST(CAST(_a AS VARCHAR) AS BLOB))"
    return by_type(
        [
            ("blob", template(decode, a=value)),
            ("float", template("winter_days_float_string(TRY_CAST(_a AS DOUBLE))", a=value)),
            ("numeric", template(f"winter_days_numeric_string(TRY_CAST(_a AS {NUMERIC}))", a=value)),
        ],
        template("CAST(_a AS VARCHAR)", a=value),
        value,
        ["_t = 'BLOB'", "_t IN ('DOUBLE', 'FLOAT')", "_t LIKE 'DECIMAL%'"],
    )


def cast_to_bytes(value: exp.Expr, safe: bool) -> exp.Expr:
    plain = "TRY_CAST(_a AS BLOB)" if safe else "CAST(_a AS BLOB)"
    return by_type(
        [("text", template("ENCODE(CAST(_a AS VARCHAR))", a=value))],
        template(plain, a=value),
        value,
        ["_t = 'VARCHAR'"],
    )


_INT_TEXT = r"\s*[+-]?(0[xX][0-9a-fA-F]+|[0-9]+)\s*"


def cast_text_to_int64(value: exp.Expr, safe: bool) -> exp.Expr:
    """A STRING as INT64: decimal or 0x hexadecimal integer text only, as BigQuery reads it."""
    convert = "TRY_CAST" if safe else "CAST"
    text = cast(value, "VARCHAR")
    strict = template(
        f"CASE WHEN NOT REGEXP_FULL_MATCH(_s, '{_INT_TEXT}') THEN "
        + ("NULL" if safe else "ERROR('Bad int64 value: ' || _s)")
        + " WHEN REGEXP_FULL_MATCH(_s, '\\s*[+-]?0[xX][0-9a-fA-F]+\\s*') THEN "
        f"(CASE WHEN LTRIM(_s) LIKE '-%' THEN -1 ELSE 1 END) * {convert}('0x' || REGEXP_EXTRACT(_s, "
        "'0[xX]([0-9a-fA-F]+)', 1) AS BIGINT) "
        f"ELSE {convert}(TRIM(_s) AS BIGINT) END",
        s=text,
    )
    plain = exp.TryCast(this=value.copy(), to=exp.DataType.build("BIGINT")) if safe else cast(value, "BIGINT")
    # FLOAT64 to INT64 rounds halves away from zero (DuckDB's cast rounds them to even).
    rounded = template(f"{convert}(ROUND(TRY_CAST(_a AS DOUBLE)) AS BIGINT)", a=value)
    return by_type(
        [("text", strict), ("float", rounded)], plain, value, ["_t = 'VARCHAR'", "_t IN ('DOUBLE', 'FLOAT')"]
    )
