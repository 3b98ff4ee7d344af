"""Which BigQuery functions the local engine runs, and the check that refuses the others.

The local engine promises BigQuery's answer. A function is listed in SUPPORTED only when
the conformance suite (tests/conformance/bigquery_cases.py) pins its documented results on
DuckDB; every other function of BigQuery's reference (bigquery_catalog.py) is refused before
a query runs, with the reason, rather than left to whatever DuckDB's function of a similar
name returns. README.md's BigQuery functions table of supported and refused functions is
written from here (`functions_table`), and a test keeps it in step.
"""

from __future__ import annotations

from sqlglot import exp

from winter_days.warehouse.duckdb.dialect.bigquery_catalog import CATALOG

REFERENCE = "https://cloud.google.com/bigquery/docs/reference/standard-sql/"

SUPPORTED = frozenset(
    {
        # aggregate and statistical aggregate functions
        "ANY_VALUE",
        "ARRAY_AGG",
        "AVG",
        "BIT_AND",
        "BIT_OR",
        "BIT_XOR",
        "COUNT",
        "COUNTIF",
        "LOGICAL_AND",
        "LOGICAL_OR",
        "MAX",
        "MIN",
        "STRING_AGG",
        "SUM",
        "CORR",
        "COVAR_POP",
        "COVAR_SAMP",
        "STDDEV",
        "STDDEV_POP",
        "STDDEV_SAMP",
        "VAR_POP",
        "VAR_SAMP",
        "VARIANCE",
        # arrays
        "ARRAY",
        "ARRAY_CONCAT",
        "ARRAY_LENGTH",
        "ARRAY_REVERSE",
        "ARRAY_TO_STRING",
        "GENERATE_ARRAY",
        "GENERATE_DATE_ARRAY",
        # conditional expressions, conversion, debugging
        "CASE",
        "COALESCE",
        "IF",
        "IFNULL",
        "NULLIF",
        "CAST",
        "SAFE_CAST",
        "ERROR",
        # date, datetime, timestamp
        "CURRENT_DATE",
        "DATE",
        "DATE_ADD",
        "DATE_DIFF",
        "DATE_FROM_UNIX_DATE",
        "DATE_SUB",
        "DATE_TRUNC",
        "EXTRACT",
        "FORMAT_DATE",
        "LAST_DAY",
        "PARSE_DATE",
        "UNIX_DATE",
        "CURRENT_DATETIME",
        "DATETIME",
        "DATETIME_ADD",
        "DATETIME_DIFF",
        "DATETIME_SUB",
        "DATETIME_TRUNC",
        "FORMAT_DATETIME",
        "PARSE_DATETIME",
        "CURRENT_TIMESTAMP",
        "FORMAT_TIMESTAMP",
        "PARSE_TIMESTAMP",
        "STRING",
        "TIMESTAMP",
        "TIMESTAMP_ADD",
        "TIMESTAMP_DIFF",
        "TIMESTAMP_MICROS",
        "TIMESTAMP_MILLIS",
        "TIMESTAMP_SECONDS",
        "TIMESTAMP_SUB",
        "TIMESTAMP_TRUNC",
        "UNIX_MICROS",
        "UNIX_MILLIS",
        "UNIX_SECONDS",
        # hash
        "FARM_FINGERPRINT",
        "MD5",
        "SHA1",
        "SHA256",
        "SHA512",
        # JSON
        "JSON_EXTRACT",
        "JSON_EXTRACT_SCALAR",
        "JSON_QUERY",
        "JSON_VALUE",
        "PARSE_JSON",
        "TO_JSON_STRING",
        # mathematical
        "ABS",
        "ACOS",
        "ASIN",
        "ATAN",
        "ATAN2",
        "CEIL",
        "CEILING",
        "COS",
        "DIV",
        "EXP",
        "FLOOR",
        "GREATEST",
        "IEEE_DIVIDE",
        "IS_INF",
        "IS_NAN",
        "LEAST",
        "LN",
        "LOG",
        "LOG10",
        "MOD",
        "PI",
        "POW",
        "POWER",
        "RAND",
        "ROUND",
        "SAFE_ADD",
        "SAFE_DIVIDE",
        "SAFE_MULTIPLY",
        "SAFE_NEGATE",
        "SAFE_SUBTRACT",
        "SIGN",
        "SIN",
        "SQRT",
        "TAN",
        "TRUNC",
        # window: navigation and numbering
        "FIRST_VALUE",
        "LAG",
        "LAST_VALUE",
        "LEAD",
        "NTH_VALUE",
        "CUME_DIST",
        "DENSE_RANK",
        "NTILE",
        "PERCENT_RANK",
        "RANK",
        "ROW_NUMBER",
        # string and bytes
        "ASCII",
        "BYTE_LENGTH",
        "CHAR_LENGTH",
        "CHARACTER_LENGTH",
        "CHR",
        "CONCAT",
        "ENDS_WITH",
        "FORMAT",
        "FROM_BASE64",
        "FROM_HEX",
        "INITCAP",
        "INSTR",
        "LEFT",
        "LENGTH",
        "LOWER",
        "LPAD",
        "LTRIM",
        "OCTET_LENGTH",
        "REGEXP_CONTAINS",
        "REGEXP_EXTRACT",
        "REGEXP_REPLACE",
        "REPEAT",
        "REPLACE",
        "REVERSE",
        "RIGHT",
        "RPAD",
        "RTRIM",
        "SPLIT",
        "STARTS_WITH",
        "STRPOS",
        "SUBSTR",
        "SUBSTRING",
        "TO_BASE64",
        "TO_CODE_POINTS",
        "TO_HEX",
        "TRIM",
        "UPPER",
    }
)

# Refused with a reason of their own; the rest of the catalogue is refused as not checked.
REASONS = {
    "APPROX_COUNT_DISTINCT": "BigQuery's HyperLogLog++ estimate differs from DuckDB's; use COUNT(DISTINCT ...)",
    "APPROX_QUANTILES": "BigQuery's quantile sketch differs from DuckDB's",
    "APPROX_TOP_COUNT": "BigQuery's sketch and result type differ from DuckDB's approx_top_k",
    "APPROX_TOP_SUM": "BigQuery's sketch differs from DuckDB's",
    "PI_BIGNUMERIC": "BIGNUMERIC needs 76 digits; DuckDB's DECIMAL holds 38",
    "PARSE_BIGNUMERIC": "BIGNUMERIC needs 76 digits; DuckDB's DECIMAL holds 38",
    "RANGE_BUCKET": "not checked against BigQuery's documented results",
    "SESSION_USER": "there is no BigQuery session locally",
    "COLLATE": "DuckDB's collations are not BigQuery's",
    "NORMALIZE": "DuckDB has no Unicode normalization forms NFKC/NFKD",
    "NORMALIZE_AND_CASEFOLD": "DuckDB has no Unicode case folding",
}
_GROUP_REASONS = {
    "geography_functions": "DuckDB has no GEOGRAPHY type here",
    "hll_functions": "BigQuery's HLL++ sketches cannot be read or written by DuckDB",
    "net_functions": "not checked against BigQuery's documented results",
    "range-functions": "DuckDB has no RANGE type",
    "interval_functions": "not checked against BigQuery's documented results",
}
_DEFAULT_REASON = "not checked against BigQuery's documented results"

# Calls sqlglot parses by a rule of their own keep no name of the call; these are named here.
# A node without a name that is not listed (a date part such as WEEK(MONDAY), an internal
# wrapper) is not a function call of the query.
_NAMES = {
    exp.Case: "CASE",
    exp.If: "IF",
    exp.Cast: "CAST",
    exp.TryCast: "SAFE_CAST",
    exp.Extract: "EXTRACT",
    exp.Substring: "SUBSTRING",
    exp.Trim: "TRIM",
    exp.GroupConcat: "STRING_AGG",
    exp.ArraySize: "ARRAY_LENGTH",
    exp.Normalize: "NORMALIZE",
}
# Names sqlglot keeps for syntax: the STRUCT constructor, UNNEST in FROM, the WEEK(<day>) date part.
_SYNTAX_NAMES = {"STRUCT", "UNNEST", "WEEK"}


class UnsupportedFunctionError(ValueError):
    """A query calls a BigQuery function the local engine cannot answer as BigQuery does."""


def page_of(name: str) -> str | None:
    """The reference page that documents `name` (its first, for EXTRACT and the like)."""
    for page, names in CATALOG.items():
        if name in names:
            return page
    return None


def reason_refused(name: str) -> str:
    if name in REASONS:
        return REASONS[name]
    return _GROUP_REASONS.get(page_of(name) or "", _DEFAULT_REASON)


def bigquery_name(node: exp.Expr) -> str | None:
    """The name a BigQuery query called this function by, or None for syntax."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).upper()
    name = node.meta.get("bigquery_name")
    if name:
        name = str(name).upper()
        return None if name in _SYNTAX_NAMES else name
    if isinstance(node, exp.Array) and node.expressions and isinstance(node.expressions[0], exp.Query):
        return "ARRAY"
    return _NAMES.get(type(node)) if isinstance(node, exp.Func) else None


def check_functions(tree: exp.Expr) -> None:
    """Refuse a statement that calls a function outside SUPPORTED, naming it and why."""
    for node in tree.find_all(exp.Func):
        name = bigquery_name(node)
        if name is None or name in SUPPORTED:
            continue
        page = page_of(name)
        where = f" (BigQuery reference: {REFERENCE}{page})" if page else ""
        known = (
            "is not a BigQuery function the local engine knows"
            if page is None and name not in REASONS
            else f"is not supported by the local engine: {reason_refused(name)}"
        )
        raise UnsupportedFunctionError(f"{name}() {known}{where}")


def functions_table() -> str:
    """The docs' table: per reference page, the functions the local engine runs and those it refuses."""
    lines = [
        "| BigQuery reference page | supported on the local engine | refused (BigQuery's answer not guaranteed) |",
        "|---|---|---|",
    ]
    for page in sorted(CATALOG):
        names = CATALOG[page]
        supported = [n for n in names if n in SUPPORTED]
        refused = [n for n in names if n not in SUPPORTED]
        lines.append(f"| [{page}]({REFERENCE}{page}) | {', '.join(supported) or '-'} | {', '.join(refused) or '-'} |")
    return "\n".join(lines)


if (
    __name__ == "__main__"
):  # README.md's BigQuery functions table: python -m winter_days.warehouse.duckdb.dialect.functions
    print(functions_table())
