"""BigQuery's documented answers, one query each, with the reference page they come from.

Each case is a BigQuery query and the row BigQuery returns for it (the examples and rules
of the page named; https://cloud.google.com/bigquery/docs/reference/standard-sql/<page>),
or the error BigQuery raises (`Raises`), or the refusal the local engine gives a function it
cannot answer as BigQuery does. test_bigquery_functions.py runs them all on DuckDB.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

UTC = ZoneInfo("UTC")
REFERENCE = "https://cloud.google.com/bigquery/docs/reference/standard-sql/"


@dataclass(frozen=True)
class Raises:
    """BigQuery raises an error (or the local engine refuses the query); `fragment` is in its message."""

    fragment: str


@dataclass(frozen=True)
class Case:
    page: str
    sql: str
    expected: tuple | Raises

    @property
    def url(self) -> str:
        return REFERENCE + self.page


def ts(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=UTC)


def c(page: str, sql: str, *expected: object) -> Case:
    return Case(page, sql, tuple(expected))


def e(page: str, sql: str, fragment: str) -> Case:
    return Case(page, sql, Raises(fragment))


S, B, TS, D, DT, MATH, CONV, ARR, JSON, AGG, NAV, NUM, COND, HASH, OPS, STAT = (
    "string_functions",
    "string_functions",
    "timestamp_functions",
    "date_functions",
    "datetime_functions",
    "mathematical_functions",
    "conversion_functions",
    "array_functions",
    "json_functions",
    "aggregate_functions",
    "navigation_functions",
    "numbering_functions",
    "conditional_expressions",
    "hash_functions",
    "operators",
    "statistical_aggregate_functions",
)
FMT, TYPES, QUERY, DEBUG, WINDOW = (
    "format-elements",
    "data-types",
    "query-syntax",
    "debugging_functions",
    "window-function-calls",
)

CASES = [
    # -- strings ---------------------------------------------------------------------------
    c(S, "SELECT CONCAT('T.P.', ' ', 'Bar')", "T.P. Bar"),
    c(S, "SELECT CONCAT('a', CAST(NULL AS STRING))", None),
    c(S, "SELECT 'a' || 'b' || 'c'", "abc"),
    c(S, "SELECT LENGTH('абвгд'), BYTE_LENGTH('абвгд')", 5, 10),
    c(S, "SELECT CHAR_LENGTH('абв'), CHARACTER_LENGTH('xyz')", 3, 3),
    c(S, "SELECT BYTE_LENGTH(b'\\x00\\xff'), OCTET_LENGTH('é')", 2, 2),
    c(S, "SELECT SUBSTR('apple', 2), SUBSTR('apple', 2, 2), SUBSTR('apple', -2)", "pple", "pp", "le"),
    c(S, "SELECT SUBSTR('apple', 1, 123), SUBSTR('apple', 123), SUBSTR('apple', 123, 5)", "apple", "", ""),
    c(S, "SELECT SUBSTR('apple', 0, 2), SUBSTR('apple', -7, 3), SUBSTR('apple', -7)", "ap", "app", "apple"),
    c(S, "SELECT SUBSTRING('apple', 0), SUBSTR('apple', 3, 0), SUBSTR('héllo', 2, 3)", "apple", "", "éll"),
    e(S, "SELECT SUBSTR('apple', 1, -1)", "SUBSTR"),
    c(S, "SELECT INSTR('banana', 'an', 1, 1), INSTR('banana', 'an', 1, 2), INSTR('banana', 'an', 1, 3)", 2, 4, 0),
    c(S, "SELECT INSTR('banana', 'an', 3, 1), INSTR('banana', 'an', -1, 1), INSTR('banana', 'an', -3, 1)", 4, 4, 4),
    c(S, "SELECT INSTR('banana', 'ann', 1, 1), INSTR('helloooo', 'oo', 1, 2), INSTR('helloooo', 'oo', 1, 1)", 0, 6, 5),
    c(S, "SELECT INSTR('banana', 'an', -4, 1), INSTR('banana', 'an', -4, 2), INSTR('banana', 'a', 10)", 2, 0, 0),
    e(S, "SELECT INSTR('banana', 'an', 0)", "INSTR"),
    c(S, "SELECT STRPOS('foo@example.com', '@'), STRPOS('foo', 'z')", 4, 0),
    c(
        S,
        "SELECT LOWER('FOO BAR BAZ'), UPPER('foo bar baz'), INITCAP('Hello World-everyone!')",
        "foo bar baz",
        "FOO BAR BAZ",
        "Hello World-Everyone!",
    ),
    c(
        S,
        "SELECT LPAD('b', 5, 'a'), LPAD('abc', 10, 'ghd'), LPAD('abc', 2, 'd'), LPAD('c', 5)",
        "aaaab",
        "ghdghdgabc",
        "ab",
        "    c",
    ),
    c(
        S,
        "SELECT RPAD('b', 5, 'a'), RPAD('abc', 10, 'ghd'), RPAD('abc', 2, 'd'), RPAD('c', 5)",
        "baaaa",
        "abcghdghdg",
        "ab",
        "c    ",
    ),
    c(S, "SELECT LEFT('apple', 3), RIGHT('apple', 3), LEFT('apple', 10)", "app", "ple", "apple"),
    c(S, "SELECT REPEAT('abc', 3), REPEAT('abc', 0), REPLACE('apple pie', 'p', 'x')", "abcabcabc", "", "axxle xie"),
    c(S, "SELECT REVERSE('abc'), REVERSE('ключ')", "cba", "чюлк"),
    c(S, "SELECT STARTS_WITH('foo', 'b'), STARTS_WITH('bar', 'b'), ENDS_WITH('apple', 'e')", False, True, True),
    c(
        S,
        "SELECT TRIM('   apple   '), LTRIM('***apple***', '*'), RTRIM('***apple***', '*')",
        "apple",
        "apple***",
        "***apple",
    ),
    c(S, "SELECT TRIM('xzxapplexxy', 'xyz'), TRIM('\\u3000a\\u00a0')", "apple", "a"),
    c(
        S,
        "SELECT SPLIT('b c d', ' '), SPLIT('a,b'), SPLIT('', ','), SPLIT('abc', '')",
        ["b", "c", "d"],
        ["a", "b"],
        [""],
        ["a", "b", "c"],
    ),
    c(
        S,
        "SELECT REGEXP_CONTAINS('foo@example.com', r'@[a-zA-Z0-9-]+\\.[a-zA-Z0-9-.]+'), "
        "REGEXP_CONTAINS('www.example.net', r'^(https?://)?www\\.example\\.com')",
        True,
        False,
    ),
    c(S, "SELECT REGEXP_EXTRACT('foo@example.com', r'^[a-zA-Z0-9_.+-]+')", "foo"),
    c(
        S,
        "SELECT REGEXP_EXTRACT('ab', '.b'), REGEXP_EXTRACT('ab', '(.)b'), REGEXP_EXTRACT('xyztb', '(.)+b')",
        "ab",
        "a",
        "t",
    ),
    e(S, "SELECT REGEXP_EXTRACT('ab', '(z)?b')", "may take no part in a match"),
    c(S, "SELECT REGEXP_EXTRACT('abc', 'x')", None),
    c(
        S,
        "SELECT REGEXP_REPLACE('# Heading', r'^# ([a-zA-Z0-9\\s]+$)', '<h1>\\\\1</h1>'), "
        "REGEXP_REPLACE('abcabc', 'b', 'X')",
        "<h1>Heading</h1>",
        "aXcaXc",
    ),
    c(
        S,
        "SELECT TO_HEX(b'\\x00\\x01\\x02\\x03\\xAA\\xEE\\xEF\\xFF'), FROM_HEX('00010203aaeeefff') = "
        "b'\\x00\\x01\\x02\\x03\\xaa\\xee\\xef\\xff'",
        "00010203aaeeefff",
        True,
    ),
    c(S, "SELECT FROM_HEX('0AF') = b'\\x00\\xaf', TO_HEX(FROM_HEX('0AF'))", True, "00af"),
    c(S, "SELECT TO_BASE64(b'\\377\\340'), FROM_BASE64('/+A=') = b'\\377\\340'", "/+A=", True),
    c(S, "SELECT ASCII('abcd'), ASCII('a'), ASCII(''), CHR(65), CHR(255)", 97, 97, 0, "A", "ÿ"),
    c(S, "SELECT TO_CODE_POINTS('foo'), TO_CODE_POINTS(b'\\x66\\x6f')", [102, 111, 111], [102, 111]),
    c(S, "SELECT CAST('abc' AS BYTES) = b'abc', CAST(b'\\xd0\\xb0' AS STRING)", True, "а"),
    # FORMAT: the page's examples and specifier table; NULL, wrong types and argument counts.
    c(
        S,
        "SELECT FORMAT('%d', 10), FORMAT('|%10d|', 11), FORMAT('+%010d+', 12), FORMAT(\"%'d\", 123456789)",
        "10",
        "|        11|",
        "+0000000012+",
        "123,456,789",
    ),
    c(S, "SELECT FORMAT('-%s-', 'abcd efg'), FORMAT('%f %E', 1.1, 2.2)", "-abcd efg-", "1.100000 2.200000E+00"),
    c(
        S,
        "SELECT FORMAT(\"%'x\", 12345678), FORMAT(\"%'o\", 55555), FORMAT('%o %x %X', 392, 2042, 2042)",
        "bc:614e",
        "15,4403",
        "610 7fa 7FA",
    ),
    c(
        S,
        "SELECT FORMAT('%f|%e|%g|%g|%G', 392.65, 392.65, 392.65, 39265000.0, 39265000.0)",
        "392.650000|3.926500e+02|392.65|3.9265e+07|3.9265E+07",
    ),
    c(
        S,
        "SELECT FORMAT('%f %F %e', CAST('inf' AS FLOAT64), CAST('-inf' AS FLOAT64), CAST('nan' AS FLOAT64))",
        "inf -INF nan",
    ),
    c(
        S,
        "SELECT FORMAT('%-5d|%+d|% d|%#x|%#o|%#x|%.1s|%5s|%%', 7, 7, 7, 255, 8, 0, 'ab', 'ab')",
        "7    |+7| 7|0xff|010|0|a|   ab|%",
    ),
    c(
        S,
        "SELECT FORMAT('%.2f', 2.675), FORMAT('%.2f', CAST('2.675' AS NUMERIC)), FORMAT('%.0f', 0.5)",
        "2.67",
        "2.68",
        "0",
    ),
    c(
        S,
        "SELECT FORMAT('%i', CAST(NULL AS INT64)), FORMAT('%s-%d', 'a', NULL), FORMAT('no specifiers')",
        None,
        None,
        "no specifiers",
    ),
    e(S, "SELECT FORMAT('%s', 1)", "needs an argument of type STRING"),
    e(S, "SELECT FORMAT('%d', 1.5)", "needs an argument of type INT64"),
    e(S, "SELECT FORMAT('%x', -1)", "negative value"),
    e(S, "SELECT FORMAT('%')", "invalid format string"),
    e(S, "SELECT FORMAT('%d %d', 1)", "2 format specifiers but 1 values"),
    e(S, "SELECT FORMAT('%t', DATE '2015-09-01')", "%t is not supported by the local engine"),
    # -- numbers, operators ------------------------------------------------------------------
    c(OPS, "SELECT 7 / 2, -7 / 2, 1 / 4", 3.5, -3.5, 0.25),
    e(OPS, "SELECT 1 / 0", "division by zero: 1 / 0"),
    e(OPS, "SELECT x / y FROM (SELECT 2.5 AS x, 0.0 AS y)", "division by zero"),
    e(OPS, "SELECT CAST(1 AS NUMERIC) / CAST(0 AS NUMERIC)", "division by zero"),
    c(
        OPS,
        "SELECT CAST(7 AS NUMERIC) / CAST(3 AS NUMERIC), CAST(1 AS NUMERIC) / 3",
        Decimal("2.333333333"),
        Decimal("0.333333333"),
    ),
    c(OPS, "SELECT CAST(2 AS NUMERIC) / 3, CAST(-2 AS NUMERIC) / 3", Decimal("0.666666667"), Decimal("-0.666666667")),
    c(
        OPS,
        "SELECT CAST('0.000000001' AS NUMERIC) * CAST('0.5' AS NUMERIC), CAST(2.5 AS NUMERIC) * 4",
        Decimal("0.000000001"),
        Decimal("10.000000000"),
    ),
    c(
        OPS,
        "SELECT CAST('12345678901234567890' AS NUMERIC) * CAST('1000' AS NUMERIC)",
        Decimal("12345678901234567890000"),
    ),
    c(OPS, "SELECT 9223372036854775807 - 1, -9223372036854775807 - 1", 9223372036854775806, -9223372036854775808),
    e(OPS, "SELECT 9223372036854775807 + 1", "overflow"),
    c(OPS, "SELECT 5 % 3 = MOD(5, 3), -5 + 3, 2 * -3", True, -2, -6),
    c(MATH, "SELECT DIV(20, 4), DIV(12, -7), DIV(20, 3), DIV(-20, 3)", 5, -1, 6, -6),
    e(MATH, "SELECT DIV(1, 0)", "division by zero"),
    c(MATH, "SELECT MOD(25, 12), MOD(-25, 12), MOD(25, -12)", 1, -1, 1),
    c(
        MATH,
        "SELECT IEEE_DIVIDE(20, 4), IEEE_DIVIDE(0, 25), IEEE_DIVIDE(25, 0), IEEE_DIVIDE(-25, 0)",
        5.0,
        0.0,
        float("inf"),
        float("-inf"),
    ),
    c(MATH, "SELECT IS_NAN(IEEE_DIVIDE(0, 0)), IS_INF(IEEE_DIVIDE(1, 0)), IS_INF(1.0)", True, True, False),
    c(
        MATH,
        "SELECT SAFE_DIVIDE(20, 4), SAFE_DIVIDE(0, 20), SAFE_DIVIDE(20, 0), SAFE_DIVIDE(0, 0)",
        5.0,
        0.0,
        None,
        None,
    ),
    c(MATH, "SELECT SAFE_DIVIDE(CAST(1 AS NUMERIC), CAST(3 AS NUMERIC))", Decimal("0.333333333")),
    c(
        MATH,
        "SELECT SAFE_ADD(5, 4), SAFE_ADD(9223372036854775807, 1), SAFE_SUBTRACT(5, 4), SAFE_MULTIPLY(20, 4)",
        9,
        None,
        1,
        80,
    ),
    c(MATH, "SELECT SAFE_NEGATE(1), SAFE_NEGATE(-9223372036854775808)", -1, None),
    c(
        MATH,
        "SELECT ROUND(2.0), ROUND(2.3), ROUND(2.8), ROUND(2.5), ROUND(-2.3), ROUND(-2.5)",
        2.0,
        2.0,
        3.0,
        3.0,
        -2.0,
        -3.0,
    ),
    c(
        MATH,
        "SELECT ROUND(123.7, -1), ROUND(1.235, 2), ROUND(CAST('1.235' AS NUMERIC), 2)",
        120.0,
        1.24,
        Decimal("1.24"),
    ),
    c(MATH, "SELECT TRUNC(2.8), TRUNC(-2.8), TRUNC(123.456, 1), TRUNC(123.456, -1)", 2.0, -2.0, 123.4, 120.0),
    c(MATH, "SELECT CEIL(2.3), CEILING(-2.3), FLOOR(2.8), FLOOR(-2.3)", 3.0, -2.0, 2.0, -3.0),
    c(MATH, "SELECT ABS(-25), ABS(25.5), SIGN(-25), SIGN(0), SIGN(25.0)", 25, 25.5, -1, 0, 1.0),
    c(MATH, "SELECT SQRT(25.0), POW(2, 10), POWER(2.0, -1), EXP(0.0)", 5.0, 1024.0, 0.5, 1.0),
    e(MATH, "SELECT SQRT(-25)", "SQRT"),
    c(MATH, "SELECT LN(1.0), LOG(100, 10), LOG(8, 2), LOG10(100)", 0.0, 2.0, 3.0, 2.0),
    e(MATH, "SELECT LN(0)", "LN"),
    c(MATH, "SELECT GREATEST(1, 5, 3), LEAST(1, 5, 3), GREATEST('a', 'b')", 5, 1, "b"),
    c(MATH, "SELECT GREATEST(1, NULL, 3), LEAST(CAST(NULL AS INT64), 2)", None, None),
    c(MATH, "SELECT ROUND(SIN(0), 6), ROUND(COS(0), 6), ROUND(ATAN2(1, 1) * 4, 6) = ROUND(PI(), 6)", 0.0, 1.0, True),
    c(MATH, "SELECT RAND() >= 0 AND RAND() < 1", True),
    c(MATH, "SELECT ROUND(ASIN(1) * 2, 6) = ROUND(PI(), 6), ACOS(1), ATAN(0), TAN(0)", True, 0.0, 0.0, 0.0),
    c(
        TS,
        "SELECT CURRENT_TIMESTAMP() > TIMESTAMP '2020-01-01', CURRENT_DATE() > DATE '2020-01-01', "
        "CURRENT_DATETIME() > DATETIME '2020-01-01 00:00:00'",
        True,
        True,
        True,
    ),
    c(CONV, "SELECT CAST('0x1F' AS INT64), CAST('-0x1f' AS INT64), CAST(' 0X10 ' AS INT64)", 31, -31, 16),
    c(
        CONV,
        "SELECT SAFE_CAST('0xFFFFFFFFFFFFFFFFF' AS INT64), SAFE_CAST('1.5' AS INT64), SAFE_CAST('12' AS INT64)",
        None,
        None,
        12,
    ),
    e(CONV, "SELECT CAST('apple' AS INT64)", "Bad int64 value: apple"),
    c(CONV, "SELECT CAST(2.5 AS INT64), CAST(-2.5 AS INT64), CAST(3.4999 AS INT64)", 3, -3, 3),
    c(
        CONV,
        "SELECT CAST(CAST(1.5 AS NUMERIC) AS STRING), CAST(CAST('3.140000000' AS NUMERIC) AS STRING)",
        "1.5",
        "3.14",
    ),
    c(
        CONV,
        "SELECT CAST(CAST(10 AS NUMERIC) AS STRING), CAST(CAST('-0.000000001' AS NUMERIC) AS STRING)",
        "10",
        "-0.000000001",
    ),
    c(
        CONV,
        "SELECT CAST('1.123456789123' AS NUMERIC), CAST('0.1' AS NUMERIC) * 3",
        Decimal("1.123456789"),
        Decimal("0.3"),
    ),
    c(
        CONV,
        "SELECT CAST(CAST('2.0000000005' AS NUMERIC) AS STRING), CAST(CAST('-2.0000000005' AS NUMERIC) AS STRING)",
        "2.000000001",
        "-2.000000001",
    ),
    e(CONV, "SELECT CAST('99999999999999999999999999999.9' AS NUMERIC) * 10", "overflow"),
    e(CONV, "SELECT CAST('1' AS BIGNUMERIC)", "BIGNUMERIC"),
    c(
        CONV,
        "SELECT CAST('true' AS BOOL), SAFE_CAST('yes' AS BOOL), CAST(1 AS BOOL), CAST(TRUE AS STRING)",
        True,
        None,
        True,
        "true",
    ),
    c(
        CONV,
        "SELECT CAST(1.0 AS STRING), CAST(0.1 AS STRING), CAST(1e20 AS STRING), CAST(-0.0 AS STRING)",
        "1",
        "0.1",
        "1e+20",
        "-0",
    ),
    c(
        CONV,
        "SELECT CAST(123 AS STRING), CAST(CAST('inf' AS FLOAT64) AS STRING), CAST(CAST('nan' AS FLOAT64) AS STRING)",
        "123",
        "inf",
        "nan",
    ),
    c(
        CONV,
        "SELECT CAST('1e3' AS FLOAT64), SAFE_CAST('abc' AS FLOAT64), CAST(' 12.5 ' AS FLOAT64)",
        1000.0,
        None,
        12.5,
    ),
    c(TYPES, "SELECT CAST(9223372036854775807 AS FLOAT64) = 9223372036854775807, IEEE_DIVIDE(-0.0, 1) = 0", True, True),
    # -- date and time --------------------------------------------------------------------------
    c(
        D,
        "SELECT DATE(2016, 12, 25), DATE(TIMESTAMP '2016-12-25 05:30:00+07', 'America/Los_Angeles')",
        dt.date(2016, 12, 25),
        dt.date(2016, 12, 24),
    ),
    c(
        D,
        "SELECT DATE(DATETIME '2016-12-25 23:59:59'), DATE('2016-12-25')",
        dt.date(2016, 12, 25),
        dt.date(2016, 12, 25),
    ),
    c(
        D,
        "SELECT DATE_ADD(DATE '2008-12-25', INTERVAL 5 DAY), DATE_SUB(DATE '2008-12-25', INTERVAL 5 DAY)",
        dt.date(2008, 12, 30),
        dt.date(2008, 12, 20),
    ),
    c(
        D,
        "SELECT DATE_ADD(DATE '2024-01-31', INTERVAL 1 MONTH), DATE_ADD(DATE '2024-02-29', INTERVAL 1 YEAR)",
        dt.date(2024, 2, 29),
        dt.date(2025, 2, 28),
    ),
    c(
        D,
        "SELECT DATE_DIFF(DATE '2010-07-07', DATE '2008-12-25', DAY), DATE_DIFF(DATE '2010-07-07', DATE '2008-12-25', MONTH)",
        559,
        19,
    ),
    c(
        D,
        "SELECT DATE_DIFF('2017-10-15', '2017-10-14', WEEK), DATE_DIFF('2017-12-30', '2014-12-30', YEAR), "
        "DATE_DIFF('2017-12-30', '2014-12-30', ISOYEAR)",
        1,
        3,
        2,
    ),
    c(
        D,
        "SELECT DATE_DIFF('2017-12-18', '2017-12-17', WEEK), DATE_DIFF('2017-12-18', '2017-12-17', WEEK(MONDAY)), "
        "DATE_DIFF('2017-12-18', '2017-12-17', ISOWEEK)",
        0,
        1,
        1,
    ),
    c(
        D,
        "SELECT DATE_TRUNC(DATE '2008-12-25', MONTH), DATE_TRUNC(DATE '2008-12-25', YEAR), "
        "DATE_TRUNC(DATE '2008-12-25', QUARTER)",
        dt.date(2008, 12, 1),
        dt.date(2008, 1, 1),
        dt.date(2008, 10, 1),
    ),
    c(
        D,
        "SELECT DATE_TRUNC(DATE '2017-11-05', ISOYEAR), DATE_TRUNC(DATE '2017-11-05', WEEK(MONDAY))",
        dt.date(2017, 1, 2),
        dt.date(2017, 10, 30),
    ),
    c(
        D,
        "SELECT EXTRACT(DAY FROM DATE '2013-12-25'), EXTRACT(DAYOFYEAR FROM DATE '2013-12-25'), "
        "EXTRACT(QUARTER FROM DATE '2013-12-25')",
        25,
        359,
        4,
    ),
    c(
        D,
        "SELECT EXTRACT(ISOYEAR FROM DATE '2005-01-03'), EXTRACT(ISOWEEK FROM DATE '2005-01-03'), "
        "EXTRACT(YEAR FROM DATE '2005-01-03'), EXTRACT(WEEK FROM DATE '2005-01-03')",
        2005,
        1,
        2005,
        1,
    ),
    c(D, "SELECT EXTRACT(WEEK(MONDAY) FROM DATE '2017-11-06'), EXTRACT(DAYOFWEEK FROM DATE '2024-01-07')", 45, 1),
    c(
        D,
        "SELECT LAST_DAY(DATE '2008-11-25'), LAST_DAY(DATE '2008-11-25', YEAR), LAST_DAY(DATE '2008-11-10', WEEK(MONDAY))",
        dt.date(2008, 11, 30),
        dt.date(2008, 12, 31),
        dt.date(2008, 11, 16),
    ),
    c(D, "SELECT UNIX_DATE(DATE '2008-12-25'), DATE_FROM_UNIX_DATE(14238)", 14238, dt.date(2008, 12, 25)),
    c(
        D,
        "SELECT FORMAT_DATE('%x', DATE '2008-12-25'), FORMAT_DATE('%b-%d-%Y', DATE '2008-12-25'), "
        "FORMAT_DATE('%b %Y', DATE '2008-12-25')",
        "12/25/08",
        "Dec-25-2008",
        "Dec 2008",
    ),
    c(
        D,
        "SELECT PARSE_DATE('%A %b %e %Y', 'Thursday Dec 25 2008'), PARSE_DATE('%Y%m%d', '20081225'), "
        "PARSE_DATE('%F', '2000-12-30')",
        dt.date(2008, 12, 25),
        dt.date(2008, 12, 25),
        dt.date(2000, 12, 30),
    ),
    c(D, "SELECT PARSE_DATE('%x', '12/25/08'), SAFE.PARSE_DATE('%Y-%m-%d', '2024-02-30')", dt.date(2008, 12, 25), None),
    e(D, "SELECT PARSE_DATE('%Y-%m-%d', '2024-02-30')", "PARSE_DATE"),
    c(
        DT,
        "SELECT DATETIME(2008, 12, 25, 5, 30, 0), DATETIME(TIMESTAMP '2008-12-25 05:30:00+00', 'America/Los_Angeles')",
        dt.datetime(2008, 12, 25, 5, 30),
        dt.datetime(2008, 12, 24, 21, 30),
    ),
    c(
        DT,
        "SELECT DATETIME_ADD(DATETIME '2008-12-25 15:30:00', INTERVAL 10 MINUTE), "
        "DATETIME_SUB(DATETIME '2008-12-25 15:30:00', INTERVAL 10 MINUTE)",
        dt.datetime(2008, 12, 25, 15, 40),
        dt.datetime(2008, 12, 25, 15, 20),
    ),
    c(
        DT,
        "SELECT DATETIME_DIFF(DATETIME '2010-07-07 10:20:00', DATETIME '2008-12-25 15:30:00', DAY), "
        "DATETIME_DIFF(DATETIME '2010-07-07 10:20:00', DATETIME '2008-12-25 15:30:00', HOUR)",
        559,
        13411,
    ),
    c(
        DT,
        "SELECT DATETIME_DIFF(DATETIME '2017-12-30 00:00:00', DATETIME '2014-12-30 00:00:00', YEAR), "
        "DATETIME_DIFF(DATETIME '2017-12-30 00:00:00', DATETIME '2014-12-30 00:00:00', ISOYEAR)",
        3,
        2,
    ),
    c(
        DT,
        "SELECT DATETIME_TRUNC(DATETIME '2008-12-25 15:30:00', DAY), DATETIME_TRUNC(DATETIME '2017-11-05 00:00:00', WEEK(MONDAY))",
        dt.datetime(2008, 12, 25),
        dt.datetime(2017, 10, 30),
    ),
    c(
        DT,
        "SELECT FORMAT_DATETIME('%c', DATETIME '2008-12-25 15:30:00'), FORMAT_DATETIME('%b-%d-%Y', DATETIME '2008-12-25 15:30:00')",
        "Thu Dec 25 15:30:00 2008",
        "Dec-25-2008",
    ),
    c(
        DT,
        "SELECT PARSE_DATETIME('%a %b %e %I:%M:%S %Y', 'Thu Dec 25 07:30:00 2008'), "
        "PARSE_DATETIME('%c', 'Thu Dec 25 07:30:00 2008')",
        dt.datetime(2008, 12, 25, 7, 30),
        dt.datetime(2008, 12, 25, 7, 30),
    ),
    c(
        DT,
        "SELECT PARSE_DATETIME('%Y-%m-%d %H:%M:%S', '1998-10-18 13:45:55'), "
        "PARSE_DATETIME('%m/%d/%Y %I:%M:%S %p', '8/30/2018 2:23:38 pm')",
        dt.datetime(1998, 10, 18, 13, 45, 55),
        dt.datetime(2018, 8, 30, 14, 23, 38),
    ),
    c(
        TS,
        "SELECT TIMESTAMP('2008-12-25 15:30:00+00'), TIMESTAMP('2008-12-25 15:30:00', 'America/Los_Angeles')",
        ts(2008, 12, 25, 15, 30),
        ts(2008, 12, 25, 23, 30),
    ),
    c(
        TS,
        "SELECT TIMESTAMP(DATE '2008-12-25'), TIMESTAMP(DATETIME '2008-12-25 15:30:00', 'America/Los_Angeles')",
        ts(2008, 12, 25),
        ts(2008, 12, 25, 23, 30),
    ),
    c(
        TS,
        "SELECT TIMESTAMP_ADD(TIMESTAMP '2008-12-25 15:30:00+00', INTERVAL 10 MINUTE), "
        "TIMESTAMP_SUB(TIMESTAMP '2008-12-25 15:30:00+00', INTERVAL 10 MINUTE)",
        ts(2008, 12, 25, 15, 40),
        ts(2008, 12, 25, 15, 20),
    ),
    c(
        TS,
        "SELECT TIMESTAMP_DIFF(TIMESTAMP '2010-07-07 10:20:00+00', TIMESTAMP '2008-12-25 15:30:00+00', HOUR), "
        "TIMESTAMP_DIFF(TIMESTAMP '2001-02-01 01:00:00', TIMESTAMP '2001-02-01 00:00:01', HOUR)",
        13410,
        0,
    ),
    c(TS, "SELECT TIMESTAMP_DIFF(TIMESTAMP '2018-08-14', TIMESTAMP '2018-10-14', DAY)", -61),
    c(
        TS,
        "SELECT TIMESTAMP_TRUNC(TIMESTAMP '2008-12-25 15:30:00+00', DAY), "
        "TIMESTAMP_TRUNC(TIMESTAMP '2008-12-25 15:30:00+00', DAY, 'America/Los_Angeles')",
        ts(2008, 12, 25),
        ts(2008, 12, 25, 8),
    ),
    c(
        TS,
        "SELECT TIMESTAMP_TRUNC(TIMESTAMP '2017-11-06 00:00:00+12', ISOWEEK, 'Pacific/Auckland'), "
        "TIMESTAMP_TRUNC(TIMESTAMP '2024-01-10 10:11:12', WEEK)",
        ts(2017, 11, 5, 11),
        ts(2024, 1, 7),
    ),
    c(
        TS,
        "SELECT EXTRACT(HOUR FROM TIMESTAMP '2008-12-25 05:30:00+00' AT TIME ZONE 'America/Los_Angeles'), "
        "EXTRACT(DATE FROM TIMESTAMP '2008-12-25 05:30:00+00' AT TIME ZONE 'Asia/Tokyo')",
        21,
        dt.date(2008, 12, 25),
    ),
    c(
        TS,
        "SELECT EXTRACT(MILLISECOND FROM TIMESTAMP '2008-12-25 05:30:00.123456+00'), "
        "EXTRACT(MICROSECOND FROM TIMESTAMP '2008-12-25 05:30:00.123456+00')",
        123,
        123456,
    ),
    c(
        TS,
        "SELECT UNIX_SECONDS(TIMESTAMP '2008-12-25 15:30:00+00'), UNIX_MILLIS(TIMESTAMP '2008-12-25 15:30:00+00'), "
        "UNIX_MICROS(TIMESTAMP '2008-12-25 15:30:00+00')",
        1230219000,
        1230219000000,
        1230219000000000,
    ),
    c(
        TS,
        "SELECT UNIX_SECONDS(TIMESTAMP '1970-01-01 00:00:01.8+00'), UNIX_MILLIS(TIMESTAMP '1970-01-01 00:00:00.0018+00')",
        1,
        1,
    ),
    c(
        TS,
        "SELECT TIMESTAMP_SECONDS(1230219000), TIMESTAMP_MILLIS(1230219000000), TIMESTAMP_MICROS(1230219000000000)",
        ts(2008, 12, 25, 15, 30),
        ts(2008, 12, 25, 15, 30),
        ts(2008, 12, 25, 15, 30),
    ),
    c(
        TS,
        "SELECT STRING(TIMESTAMP '2008-12-25 15:30:00+00', 'UTC'), STRING(TIMESTAMP '2008-12-25 15:30:00+00', "
        "'America/Los_Angeles')",
        "2008-12-25 15:30:00+00",
        "2008-12-25 07:30:00-08",
    ),
    c(
        TS,
        "SELECT STRING(TIMESTAMP '2008-12-25 15:30:00.25+00', 'Asia/Kolkata'), STRING(TIMESTAMP '2008-12-25 15:30:00+00')",
        "2008-12-25 21:00:00.25+05:30",
        "2008-12-25 15:30:00+00",
    ),
    c(
        TS,
        "SELECT CAST(TIMESTAMP '2008-12-25 15:30:00.123+00' AS STRING), CAST(TIMESTAMP '2024-01-01 10:00:00' AS STRING)",
        "2008-12-25 15:30:00.123+00",
        "2024-01-01 10:00:00+00",
    ),
    c(
        TS,
        "SELECT FORMAT_TIMESTAMP('%c', TIMESTAMP '2050-12-25 15:30:55+00', 'UTC'), "
        "FORMAT_TIMESTAMP('%b-%d-%Y', TIMESTAMP '2050-12-25 15:30:55+00')",
        "Sun Dec 25 15:30:55 2050",
        "Dec-25-2050",
    ),
    c(
        TS,
        "SELECT FORMAT_TIMESTAMP('%Y-%m-%dT%H:%M:%SZ', TIMESTAMP '2050-12-25 15:30:55', 'UTC'), "
        "FORMAT_TIMESTAMP('%Y-%m-%d %H:%M', TIMESTAMP '2024-01-01 23:30:00+00', 'America/New_York')",
        "2050-12-25T15:30:55Z",
        "2024-01-01 18:30",
    ),
    c(
        TS,
        "SELECT FORMAT_TIMESTAMP('%F %T %Ez', TIMESTAMP '2024-07-01 12:00:00+00', 'Europe/Berlin'), "
        "FORMAT_TIMESTAMP('%z', TIMESTAMP '2024-01-01 00:00:00+00', 'Asia/Kolkata')",
        "2024-07-01 14:00:00 +02:00",
        "+0530",
    ),
    c(
        TS,
        "SELECT PARSE_TIMESTAMP('%a %b %e %I:%M:%S %Y', 'Thu Dec 25 07:30:00 2008'), "
        "PARSE_TIMESTAMP('%c', 'Thu Dec 25 07:30:00 2008', 'America/Los_Angeles')",
        ts(2008, 12, 25, 7, 30),
        ts(2008, 12, 25, 15, 30),
    ),
    c(
        TS,
        "SELECT PARSE_TIMESTAMP('%Y-%m-%dT%H:%M:%E*SZ', '2024-01-01T10:00:00.123Z'), "
        "PARSE_TIMESTAMP('%FT%T%Ez', '2024-01-01T10:00:00+02:00')",
        ts(2024, 1, 1, 10, 0, 0, 123000),
        ts(2024, 1, 1, 8),
    ),
    c(
        TS,
        "SELECT PARSE_TIMESTAMP('%s', '1230219000'), SAFE.PARSE_TIMESTAMP('%Y-%m-%d %H:%M:%S', 'garbage')",
        ts(2008, 12, 25, 15, 30),
        None,
    ),
    e(TS, "SELECT PARSE_TIMESTAMP('%Y-%m-%d', '2024-13-01')", "PARSE_TIMESTAMP"),
    c(
        FMT,
        "SELECT FORMAT_DATE('%A %a %B %b %h', DATE '2021-01-20'), FORMAT_DATE('%C %y %G %g', DATE '2021-01-20')",
        "Wednesday Wed January Jan Jan",
        "20 21 2021 21",
    ),
    c(
        FMT,
        "SELECT FORMAT_DATE('%D|%d|%e|%j|%m', DATE '2021-01-05'), FORMAT_DATE('%Q %U %u %V %W %w', DATE '2021-01-20')",
        "01/05/21|05| 5|005|01",
        "1 03 3 03 03 3",
    ),
    c(
        FMT,
        "SELECT FORMAT_DATETIME('%H %I %k %l %M %p %P %R %S %T %X', DATETIME '2021-01-20 09:07:05')",
        "09 09  9  9 07 AM am 09:07 05 09:07:05 09:07:05",
    ),
    c(
        FMT,
        "SELECT FORMAT_DATETIME('%E3S|%E6S|%E*S|%E1S', DATETIME '2021-01-20 09:07:05.123456')",
        "05.123|05.123456|05.123456|05.1",
    ),
    c(
        FMT,
        "SELECT FORMAT_TIMESTAMP('%s|%Z|%E4Y|%%|%t|%n', TIMESTAMP '2021-01-20 21:47:00+00')",
        "1611179220|UTC|2021|%|\t|\n",
    ),
    c(
        FMT,
        "SELECT FORMAT_TIMESTAMP('%Z %z', TIMESTAMP '2021-01-20 21:47:00+00', '-05:00'), "
        "FORMAT_DATE('%G-%V', DATE '2021-01-01')",
        "UTC-5 -0500",
        "2020-53",
    ),
    # -- arrays ---------------------------------------------------------------------------------
    c(
        QUERY,
        "SELECT ARRAY_AGG(CONCAT(x, ':', CAST(off AS STRING)) ORDER BY off) "
        "FROM UNNEST(['a', 'b', 'c']) AS x WITH OFFSET AS off",
        ["a:0", "b:1", "c:2"],
    ),
    c(QUERY, "SELECT SUM(off) FROM UNNEST([10, 20, 30]) WITH OFFSET AS off", 3),
    c(QUERY, "SELECT COUNT(*) FROM UNNEST(CAST(NULL AS ARRAY<INT64>)) AS x WITH OFFSET", 0),
    c(QUERY, "SELECT SUM(v), MAX(d) FROM UNNEST([STRUCT(1 AS d, 2 AS v), (3, 4)])", 6, 3),
    c(
        ARR,
        "SELECT [10, 20, 30][OFFSET(0)], [10, 20, 30][ORDINAL(1)], [10, 20, 30][SAFE_OFFSET(3)], "
        "[10, 20, 30][SAFE_ORDINAL(0)]",
        10,
        10,
        None,
        None,
    ),
    c(ARR, "SELECT [10, 20, 30][2], ['a', 'b'][OFFSET(1)]", 30, "b"),
    e(ARR, "SELECT [10, 20, 30][OFFSET(3)]", "out of bounds"),
    e(ARR, "SELECT [10, 20, 30][ORDINAL(0)]", "out of bounds"),
    e(ARR, "SELECT [10, 20, 30][OFFSET(-1)]", "out of bounds"),
    c(ARR, "SELECT ARRAY_LENGTH([1, 2, NULL]), ARRAY_LENGTH(CAST([] AS ARRAY<INT64>))", 3, 0),
    c(ARR, "SELECT ARRAY_CONCAT([1, 2], [3, 4], [5, 6]), ARRAY_REVERSE([1, 2, 3])", [1, 2, 3, 4, 5, 6], [3, 2, 1]),
    c(
        ARR,
        "SELECT ARRAY_TO_STRING(['coffee', 'tea', 'milk', NULL], '--', 'MISSING'), "
        "ARRAY_TO_STRING(['cake', 'pie', NULL], '--')",
        "coffee--tea--milk--MISSING",
        "cake--pie",
    ),
    c(
        ARR,
        "SELECT GENERATE_ARRAY(1, 5), GENERATE_ARRAY(0, 10, 3), GENERATE_ARRAY(10, 0, -3), GENERATE_ARRAY(4, 4, 10)",
        [1, 2, 3, 4, 5],
        [0, 3, 6, 9],
        [10, 7, 4, 1],
        [4],
    ),
    c(ARR, "SELECT GENERATE_ARRAY(10, 0, 3), GENERATE_ARRAY(0, 1, 0.25)", [], [0.0, 0.25, 0.5, 0.75, 1.0]),
    c(
        ARR,
        "SELECT GENERATE_DATE_ARRAY('2016-10-05', '2016-10-08'), "
        "GENERATE_DATE_ARRAY('2016-01-01', '2016-12-31', INTERVAL 2 MONTH)[OFFSET(1)]",
        [dt.date(2016, 10, 5), dt.date(2016, 10, 6), dt.date(2016, 10, 7), dt.date(2016, 10, 8)],
        dt.date(2016, 3, 1),
    ),
    c(ARR, "SELECT ARRAY(SELECT x * 2 FROM UNNEST([1, 2, 3]) AS x ORDER BY x)", [2, 4, 6]),
    c(ARR, "SELECT 2 IN UNNEST([1, 2, 3]), 4 IN UNNEST([1, 2, 3])", True, False),
    # -- structs --------------------------------------------------------------------------------
    c(TYPES, "SELECT STRUCT(1 AS a, 'x' AS b).b, (SELECT AS STRUCT 2 AS n).n", "x", 2),
    c(TYPES, "SELECT s.a FROM UNNEST([STRUCT(1 AS a), STRUCT(2 AS a)]) AS s ORDER BY s.a DESC LIMIT 1", 2),
    c(TYPES, "SELECT [STRUCT(1 AS a, 'x' AS b)][OFFSET(0)].b, STRUCT<x INT64>(5).x", "x", 5),
    # -- JSON -----------------------------------------------------------------------------------
    c(
        JSON,
        'SELECT JSON_VALUE(\'{"name": "Jakob", "age": "6" }\', \'$.name\'), '
        "JSON_VALUE('{\"a\": {\"b\": 1}}', '$.a'), JSON_VALUE('{\"a\": null}', '$.a')",
        "Jakob",
        None,
        None,
    ),
    c(
        JSON,
        'SELECT JSON_VALUE(\'{"fruits": ["apple", "banana"]}\', \'$.fruits[1]\'), '
        "JSON_EXTRACT_SCALAR('{\"a\": true}', '$.a')",
        "banana",
        "true",
    ),
    c(
        JSON,
        'SELECT JSON_QUERY(\'{"class": {"students": [{"name": "Jane"}]}}\', \'$.class.students[0]\'), '
        "JSON_EXTRACT('{\"a\": [1, 2]}', '$.a')",
        '{"name":"Jane"}',
        "[1,2]",
    ),
    c(JSON, "SELECT JSON_QUERY('{\"a\": \"x\"}', '$.a'), JSON_QUERY('{\"a\": 1}', '$.b')", '"x"', None),
    c(JSON, "SELECT JSON_VALUE(PARSE_JSON('{\"id\": 5}'), '$.id'), SAFE.PARSE_JSON('{bad')", "5", None),
    c(
        JSON,
        "SELECT TO_JSON_STRING(STRUCT(1 AS id, [10, 20] AS coordinates)), TO_JSON_STRING([1, 2]), "
        "TO_JSON_STRING('a\"b')",
        '{"id":1,"coordinates":[10,20]}',
        "[1,2]",
        '"a\\"b"',
    ),
    c(
        JSON,
        "SELECT TO_JSON_STRING(STRUCT(CAST(NULL AS STRING) AS x, TRUE AS y, 1.5 AS z))",
        '{"x":null,"y":true,"z":1.5}',
    ),
    # -- aggregates -----------------------------------------------------------------------------
    c(AGG, "SELECT COUNT(*), COUNT(x), COUNT(DISTINCT x) FROM UNNEST([1, 4, 4, NULL]) AS x", 4, 3, 2),
    c(AGG, "SELECT SUM(x), AVG(x), MIN(x), MAX(x) FROM UNNEST([1, 3, 5]) AS x", 9, 3.0, 1, 5),
    c(AGG, "SELECT SUM(x), AVG(x), COUNT(x), MAX(x) FROM UNNEST(CAST([] AS ARRAY<INT64>)) AS x", None, None, 0, None),
    c(AGG, "SELECT COUNTIF(x > 1), COUNTIF(x > 10) FROM UNNEST([1, 2, 3]) AS x", 2, 0),
    c(
        AGG,
        "SELECT LOGICAL_AND(x > 0), LOGICAL_OR(x > 2), ANY_VALUE(x) IS NOT NULL FROM UNNEST([1, 2, 3]) AS x",
        True,
        True,
        True,
    ),
    c(
        AGG,
        "SELECT STRING_AGG(x, ' & ' ORDER BY x DESC), STRING_AGG(x) FROM UNNEST(['apple', 'pear', 'banana']) AS x",
        "pear & banana & apple",
        "apple,pear,banana",
    ),
    c(AGG, "SELECT STRING_AGG(x, '-') FROM UNNEST(['a', NULL, 'b']) AS x", "a-b"),
    c(
        AGG,
        "SELECT ARRAY_AGG(x ORDER BY x DESC LIMIT 2), ARRAY_AGG(DISTINCT x ORDER BY x) FROM UNNEST([2, 1, 3, 1]) AS x",
        [3, 2],
        [1, 2, 3],
    ),
    c(AGG, "SELECT ARRAY_AGG(x IGNORE NULLS ORDER BY x) FROM UNNEST([1, NULL, 3]) AS x", [1, 3]),
    e(AGG, "SELECT ARRAY_AGG(x) FROM UNNEST([1, NULL, 3]) AS x", "NULL element"),
    c(
        AGG,
        "SELECT SUM(CAST(x AS NUMERIC)), AVG(CAST(x AS NUMERIC)) FROM UNNEST([1, 2, 2]) AS x",
        Decimal("5"),
        Decimal("1.666666667"),
    ),
    c(AGG, "SELECT BIT_AND(x), BIT_OR(x), BIT_XOR(x) FROM UNNEST([12, 10, 6]) AS x", 0, 14, 0),
    c(
        STAT,
        "SELECT ROUND(STDDEV_SAMP(x), 6), ROUND(STDDEV_POP(x), 6), ROUND(STDDEV(x), 6) FROM UNNEST([10, 14, 18]) AS x",
        4.0,
        3.265986,
        4.0,
    ),
    c(
        STAT,
        "SELECT VAR_SAMP(x), ROUND(VAR_POP(x), 6), VARIANCE(x) FROM UNNEST([10, 14, 18]) AS x",
        16.0,
        10.666667,
        16.0,
    ),
    c(
        STAT,
        "SELECT CORR(p.x, p.y), COVAR_POP(p.x, p.y), COVAR_SAMP(p.x, p.y) FROM UNNEST([STRUCT(1.0 AS x, 2.0 AS y), "
        "(2.0, 4.0), (3.0, 6.0)]) AS p",
        1.0,
        4 / 3,
        2.0,
    ),
    c(STAT, "SELECT STDDEV_SAMP(x) FROM UNNEST([10]) AS x", None),
    e(
        "approximate_aggregate_functions",
        "SELECT APPROX_COUNT_DISTINCT(x) FROM UNNEST([1, 1, 2]) AS x",
        "APPROX_COUNT_DISTINCT() is not supported by the local engine",
    ),
    # -- window functions -------------------------------------------------------------------------
    c(
        NUM,
        "SELECT ARRAY_AGG(r ORDER BY x) FROM (SELECT x, RANK() OVER (ORDER BY x) AS r FROM UNNEST([1, 2, 2, 5]) AS x)",
        [1, 2, 2, 4],
    ),
    c(
        NUM,
        "SELECT ARRAY_AGG(r ORDER BY x) FROM (SELECT x, DENSE_RANK() OVER (ORDER BY x) AS r FROM UNNEST([1, 2, 2, 5]) AS x)",
        [1, 2, 2, 3],
    ),
    c(
        NUM,
        "SELECT ARRAY_AGG(r ORDER BY x) FROM (SELECT x, PERCENT_RANK() OVER (ORDER BY x) AS r FROM UNNEST([1, 2, 2, 5]) AS x)",
        [0.0, 1 / 3, 1 / 3, 1.0],
    ),
    c(
        NUM,
        "SELECT ARRAY_AGG(r ORDER BY x) FROM (SELECT x, CUME_DIST() OVER (ORDER BY x) AS r FROM UNNEST([1, 2, 2, 5]) AS x)",
        [0.25, 0.75, 0.75, 1.0],
    ),
    c(
        NUM,
        "SELECT ARRAY_AGG(r ORDER BY x) FROM (SELECT x, NTILE(3) OVER (ORDER BY x) AS r FROM UNNEST([1, 2, 3, 4, 5]) AS x)",
        [1, 1, 2, 2, 3],
    ),
    c(
        NUM,
        "SELECT ARRAY_AGG(r ORDER BY x) FROM (SELECT x, ROW_NUMBER() OVER (ORDER BY x) AS r FROM UNNEST([5, 7, 9]) AS x)",
        [1, 2, 3],
    ),
    c(
        NAV,
        "SELECT ARRAY_AGG(STRUCT(p, n) ORDER BY x) FROM (SELECT x, LAG(x) OVER (ORDER BY x) AS p, "
        "LEAD(x, 1, -1) OVER (ORDER BY x) AS n FROM UNNEST([1, 2, 3]) AS x)",
        [{"p": None, "n": 2}, {"p": 1, "n": 3}, {"p": 2, "n": -1}],
    ),
    c(
        NAV,
        "SELECT ARRAY_AGG(STRUCT(f, l) ORDER BY x) FROM (SELECT x, FIRST_VALUE(x) OVER w AS f, LAST_VALUE(x) OVER w AS l "
        "FROM UNNEST([1, 2, 3]) AS x WINDOW w AS (ORDER BY x))",
        [{"f": 1, "l": 1}, {"f": 1, "l": 2}, {"f": 1, "l": 3}],
    ),
    c(
        NAV,
        "SELECT ARRAY_AGG(v ORDER BY x) FROM (SELECT x, NTH_VALUE(x, 2) OVER (ORDER BY x ROWS BETWEEN UNBOUNDED "
        "PRECEDING AND UNBOUNDED FOLLOWING) AS v FROM UNNEST([4, 5, 6]) AS x)",
        [5, 5, 5],
    ),
    c(
        WINDOW,
        "SELECT ARRAY_AGG(s ORDER BY x) FROM (SELECT x, SUM(x) OVER (ORDER BY x ROWS BETWEEN 1 PRECEDING AND "
        "CURRENT ROW) AS s FROM UNNEST([1, 2, 3, 4]) AS x)",
        [1, 3, 5, 7],
    ),
    c(
        WINDOW,
        "SELECT ARRAY_AGG(s ORDER BY x) FROM (SELECT x, SUM(x) OVER (ORDER BY x) AS s FROM UNNEST([1, 2, 2, 4]) AS x)",
        [1, 5, 5, 9],
    ),
    c(
        WINDOW,
        "SELECT ARRAY_AGG(s ORDER BY x) FROM (SELECT x, COUNT(*) OVER (ORDER BY x RANGE BETWEEN 1 PRECEDING AND "
        "1 FOLLOWING) AS s FROM UNNEST([1, 2, 4, 5, 9]) AS x)",
        [2, 2, 2, 2, 1],
    ),
    c(
        WINDOW,
        "SELECT ARRAY_AGG(s ORDER BY g, x) FROM (SELECT r.g, r.x, MAX(r.x) OVER (PARTITION BY r.g) AS s FROM "
        "UNNEST([STRUCT('a' AS g, 1 AS x), ('a', 3), ('b', 2)]) AS r)",
        [3, 3, 2],
    ),
    c(WINDOW, "SELECT k FROM UNNEST([1, 2, 3]) AS k WHERE TRUE QUALIFY ROW_NUMBER() OVER (ORDER BY k DESC) = 1", 3),
    # -- conditional expressions ----------------------------------------------------------------------
    c(
        COND,
        "SELECT CASE 2 WHEN 1 THEN 'one' WHEN 2 THEN 'two' ELSE 'many' END, CASE WHEN NULL THEN 1 ELSE 0 END",
        "two",
        0,
    ),
    c(
        COND,
        "SELECT COALESCE(NULL, 'B', 'C'), IFNULL(NULL, 10), IFNULL(5, 10), NULLIF(0, 0), NULLIF(10, 0)",
        "B",
        10,
        5,
        None,
        10,
    ),
    c(COND, "SELECT IF(1 > 2, 'yes', 'no'), IF(NULL, 1, 2)", "no", 2),
    c(COND, "SELECT COALESCE(1, ERROR('never evaluated'))", 1),
    # -- hashing --------------------------------------------------------------------------------------
    c(
        HASH,
        "SELECT FARM_FINGERPRINT(CONCAT(CAST(1 AS STRING), 'foo', CAST(TRUE AS STRING))), "
        "FARM_FINGERPRINT(CONCAT(CAST(2 AS STRING), 'apple', CAST(FALSE AS STRING)))",
        -1541654101129638711,
        2794438866806483259,
    ),
    c(
        HASH,
        "SELECT FARM_FINGERPRINT(CONCAT(CAST(3 AS STRING), '', CAST(TRUE AS STRING))), FARM_FINGERPRINT('')",
        -4880158226897771312,
        -7286425919675154353,
    ),
    c(HASH, "SELECT FARM_FINGERPRINT(b'alphabet'), FARM_FINGERPRINT(CAST(NULL AS STRING))", -2427165924636348523, None),
    c(
        HASH,
        "SELECT TO_HEX(MD5('Hello World')), TO_HEX(SHA1('Hello World'))",
        "b10a8db164e0754105b7a99be72e3fe5",
        "0a4d55a8d778e5022fab701977c5d840bbc486d0",
    ),
    c(
        HASH,
        "SELECT TO_HEX(SHA256('abc')), LENGTH(TO_HEX(SHA512('abc')))",
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        128,
    ),
    # -- errors BigQuery raises -------------------------------------------------------------------------
    e(DEBUG, "SELECT ERROR('stop here')", "stop here"),
    e(CONV, "SELECT CAST('2024-02-30' AS DATE)", "2024-02-30"),
    e(CONV, "SELECT CAST(CAST('inf' AS FLOAT64) AS INT64)", "inf"),
    e(OPS, "SELECT -(-9223372036854775807 - 1)", "overflow"),
    e(S, "SELECT REPEAT('a', -1)", "REPEAT"),
]
