"""The record contract's rules (records.py) as the BigQuery SQL of the staging models.

The rules are written once, in the records package; this module renders them into
dataform/includes/contract.js, which the stg_*_checked models call, so staging quarantines
exactly what records/checks.py rejects. The file is generated and committed (Dataform reads
it as it is); `python -m winter_days.records.sql` writes it again after the contract
changed, and a test fails while it is out of date.

The SQL is BigQuery's and runs as it is on both engines (the local one transpiles it):
regular expressions that RE2 and Python read alike, SAFE casts that give null, and no
function whose result differs between the two.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from winter_days.records import (
    BOOLEAN,
    CARD_PAYMENT_METHODS,
    CARD_RULE_REASON,
    CONTRACTS,
    CONTROL_CHARACTERS,
    EARLIEST_PLAUSIBLE,
    INTEGER,
    INTEGER_TEXT,
    ISO_TIMESTAMP,
    LOAD_TIME_TOLERANCE,
    MAX_LINE_CHARS,
    NUMBER,
    NUMBER_TEXT,
    QUARANTINED_LINE_CHARS,
    TEXT,
    TIMESTAMP,
    FieldRule,
    FlowContract,
)
from winter_days.records.checks import PLAUSIBLE_TIMES

CONTRACT_JS = Path(__file__).resolve().parents[1] / "dataform" / "includes" / "contract.js"
# Column names the staging tables have always used where they differ from the record's.
COLUMN_NAMES = {"clickstream": {"load_timestamp": "loaded_at"}}
RAW_LINE_DELIMITER = "\\x1f"  # as dataform/includes/constants.js writes it in SQL
_EARLIEST = f"TIMESTAMP '{EARLIEST_PLAUSIBLE:%Y-%m-%d %H:%M:%S}+00'"
# BigQuery's TIMESTAMP range; DuckDB's is wider, so a cast is held to it.
_TIMESTAMP_RANGE = "TIMESTAMP '0001-01-01 00:00:00+00' AND TIMESTAMP '9999-12-31 23:59:59.999999+00'"
_DAMAGED_TEXT = "holds U+FFFD, the mark of bytes that were not UTF-8 (or of a lone surrogate, replaced)"


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _raw(pattern: str) -> str:
    if "'" in pattern:
        raise ValueError(f"pattern {pattern!r}: a raw string cannot hold a quote")
    return f"r'{pattern}'"


def _anchored(pattern: str) -> str:
    return pattern if pattern.startswith("^") else f"^{pattern}$"


def _in_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(_literal(v) for v in values) + ")"


def _column(contract: FlowContract, rule: FieldRule) -> str:
    return COLUMN_NAMES.get(contract.flow, {}).get(rule.name, rule.name)


def _text_column(contract: FlowContract, rule: FieldRule) -> str:
    """The column holding the field's text: the field itself for text, else <name>_text."""
    if contract.reading == "native":
        return rule.name
    return rule.name if rule.kind == TEXT else f"{rule.name}_text"


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


# -- JSON Lines flows: a line's document, its fields' text, their typed values ------------


def document(contract: FlowContract) -> str:
    """The parsed JSON document of `line`; null for a line too long to be a record."""
    return f"IF(CHAR_LENGTH(line) > {MAX_LINE_CHARS}, NULL, SAFE.PARSE_JSON(line))"


def texts(contract: FlowContract) -> str:
    """Each field's text from `doc`, as JSON_VALUE reads it (a scalar's text)."""
    return ",\n".join(f"JSON_VALUE(doc, '$.{rule.name}') AS {_text_column(contract, rule)}" for rule in contract.rules)


def _typed(contract: FlowContract, rule: FieldRule) -> str:
    text = _text_column(contract, rule)
    if rule.kind == INTEGER:
        return f"IF(REGEXP_CONTAINS({text}, {_raw(INTEGER_TEXT)}), SAFE_CAST({text} AS INT64), NULL)"
    if rule.kind == NUMBER:
        return f"IF(REGEXP_CONTAINS({text}, {_raw(NUMBER_TEXT)}), SAFE_CAST({text} AS FLOAT64), NULL)"
    if rule.kind == BOOLEAN:
        return f"CASE {text} WHEN 'true' THEN TRUE WHEN 'false' THEN FALSE END"
    parsed = f"SAFE_CAST({text} AS TIMESTAMP)"
    return f"IF(REGEXP_CONTAINS({text}, {_raw(ISO_TIMESTAMP)}) AND {parsed} BETWEEN {_TIMESTAMP_RANGE}, {parsed}, NULL)"


# The load time of a startup line: the start of its file's load date (the folder the lake
# writer chose), else when staging reads it.
_FILE_LOAD_DAY = (
    "COALESCE(CAST(SAFE.PARSE_DATE('%Y-%m-%d', REGEXP_EXTRACT(source_file, "
    "r'load_date=([0-9]{4}-[0-9]{2}-[0-9]{2})')) AS TIMESTAMP), CURRENT_TIMESTAMP())"
)
LOAD_TIMES = {"sales": "exported_at", "clickstream": "loaded_at", "startups": "file_load_day"}


def values(contract: FlowContract) -> str:
    """The typed value of each field that is not text, named as the staging table names it
    (and a startup line's load day, which only the checks read)."""
    typed = [f"{_typed(contract, rule)} AS {_column(contract, rule)}" for rule in contract.rules if rule.kind != TEXT]
    if contract.flow == "startups":
        typed.append(f"{_FILE_LOAD_DAY} AS file_load_day")
    # Whether the text rules need a closer look: a control character or U+FFFD in a value
    # of a line that parses is an escape (a backslash), a raw DEL or a raw U+FFFD. Three
    # searches of the line (a pattern costs ten times as much) spare millions of good lines
    # the checks of each field.
    typed.append(
        "(STRPOS(line, '\\\\') > 0 OR STRPOS(line, '\\x7f') > 0 OR STRPOS(line, '\\uFFFD') > 0) AS text_suspect"
    )
    return ",\n".join(typed)


def columns(contract: FlowContract) -> str:
    """The typed fields, in the contract's order: the staging table's columns."""
    return ",\n".join(_column(contract, rule) for rule in contract.rules)


def payload(contract: FlowContract) -> str:
    """The line as the quarantine keeps it: whole, or its start when it is too long."""
    whole = f"CONCAT(line, IF(beyond_delimiter IS NULL, '', CONCAT('{RAW_LINE_DELIMITER}', beyond_delimiter)))"
    return (
        f"IF(CHAR_LENGTH(line) > {MAX_LINE_CHARS}, CONCAT(SUBSTR(line, 1, {QUARANTINED_LINE_CHARS}), "
        f"' ... (', CAST(CHAR_LENGTH(line) AS STRING), ' characters)'), {whole})"
    )


# -- the reason: the first rule broken ------------------------------------------------


def _line_checks() -> list[str]:
    # A line that parses is neither blank nor too long (document() parses no long line), so
    # those two are checked only where there is no document: a daily run has millions of
    # lines, nearly all of them good.
    return [
        "WHEN line IS NULL OR (doc IS NULL AND beyond_delimiter IS NULL AND TRIM(line) = '') THEN 'empty line'",
        f"WHEN doc IS NULL AND CHAR_LENGTH(line) > {MAX_LINE_CHARS}\n  THEN CONCAT('oversized line: ', "
        f"CAST(CHAR_LENGTH(line) AS STRING), ' characters (the limit is {MAX_LINE_CHARS})')",
        "WHEN text_suspect AND STRPOS(line, '\\uFFFD') > 0\n  THEN 'invalid text: the line holds U+FFFD, the mark of bytes that were not UTF-8'",
        # A raw U+001F cut the line: JSON never holds a raw control character.
        "WHEN beyond_delimiter IS NOT NULL OR doc IS NULL THEN 'unparseable JSON line'",
        # What parses and opens with a brace is an object (JSON_TYPE would parse it again, a
        # pattern over the line costs ten times a prefix).
        "WHEN NOT (STARTS_WITH(line, '{') OR STARTS_WITH(LTRIM(line, ' \\t\\n\\r'), '{')) THEN 'not a JSON object'",
    ]


def _required(contract: FlowContract, rule: FieldRule) -> str | None:
    if not rule.required:
        return None
    if contract.reading == "native" and rule.pseudonymised:
        # Sales files written before names were pseudonymised hold the name itself.
        missing = f"{rule.name} IS NULL AND {rule.name}_pseudonym IS NULL"
    elif contract.reading == "native" and rule.kind == TIMESTAMP:
        missing = f"{rule.name} IS NULL AND {rule.name}_raw IS NULL"
    else:
        text = _text_column(contract, rule)
        missing = f"{text} IS NULL" + (f" OR TRIM({text}) = ''" if rule.non_blank else "")
    return f"WHEN {missing} THEN 'missing required field: {rule.name}'"


def _kind(contract: FlowContract, rule: FieldRule) -> str | None:
    column = _column(contract, rule)
    if contract.reading == "native":
        if rule.kind != TIMESTAMP:
            return None  # the export typed it; invalid_fields named what did not fit
        return f"WHEN {column} IS NULL THEN CONCAT('unparseable timestamp: {rule.name} = ', {rule.name}_raw)"
    text = _text_column(contract, rule)
    if rule.kind == TEXT:
        return None
    if rule.kind == TIMESTAMP:
        return f"WHEN {column} IS NULL THEN CONCAT('unparseable timestamp: {rule.name} = ', {text})"
    noun = {INTEGER: "an integer", NUMBER: "a number", BOOLEAN: "a boolean"}[rule.kind]
    return f"WHEN {column} IS NULL\n  THEN CONCAT('wrong type: {rule.name} = ', {text}, ' is not {noun}')"


def _text_rules(contract: FlowContract) -> list[str]:
    """The text rule over every text field, as one check: a single pattern over all of them
    first (on a good row the only one evaluated), then the field that breaks it, in order."""
    fields = [_text_column(contract, r) for r in contract.rules if r.kind == TEXT and not r.pseudonymised]
    if not fields:
        return []
    every = "CONCAT(" + ", ".join(f"COALESCE({f}, '')" for f in fields) + ")"
    which = []
    for field in fields:
        which.append(
            f"WHEN REGEXP_CONTAINS({field}, {_raw(CONTROL_CHARACTERS)}) THEN 'invalid text: {field} holds a control character'"
        )
        which.append(f"WHEN STRPOS({field}, '\\uFFFD') > 0 THEN 'invalid text: {field} {_DAMAGED_TEXT}'")
    suspect = CONTROL_CHARACTERS[:-1] + "\\x{FFFD}]"
    gate = "" if contract.reading == "native" else "text_suspect AND "
    return [
        f"WHEN {gate}REGEXP_CONTAINS({every}, {_raw(suspect)})\n  THEN CASE\n    " + "\n    ".join(which) + "\n  END"
    ]


def _shown(contract: FlowContract, rule: FieldRule) -> str:
    if contract.reading == "native":
        return f"{rule.name}_raw" if rule.kind == TIMESTAMP else f"CAST({rule.name} AS STRING)"
    return _text_column(contract, rule)


def _value(contract: FlowContract, rule: FieldRule, load_time: str, allowance: int) -> list[str]:
    column = _column(contract, rule)
    checks = []
    if rule.choices:
        checks.append(
            f"WHEN {column} NOT IN {_in_list(rule.choices)}\n  THEN CONCAT('invalid value: {rule.name} = ', {column})"
        )
    if rule.pattern:
        checks.append(
            f"WHEN NOT REGEXP_CONTAINS({column}, {_raw(_anchored(rule.pattern))})\n"
            f"  THEN 'invalid value: {rule.name} is not {rule.pattern_means}'"
        )
    if rule.kind in (INTEGER, NUMBER) and (rule.low is not None or rule.high is not None):
        bounds = []
        if rule.low is not None:
            bounds.append(f"{column} {'>' if rule.low_open else '>='} {_number_text(rule.low)}")
        if rule.high is not None:
            bounds.append(f"{column} <= {_number_text(rule.high)}")
        # NaN fails every comparison on BigQuery and is above every number on DuckDB.
        checks.append(
            f"WHEN NOT ({' AND '.join(bounds)})\n  THEN CONCAT('out of range: {rule.name} = ', {_shown(contract, rule)}, "
            f"' (allowed: {rule.range_text()})')"
        )
    if rule.kind == TIMESTAMP:
        # A difference, not load time + tolerance: that sum overflows BigQuery's TIMESTAMP
        # for a load time in 9999 and would fail the query.
        late = f" OR TIMESTAMP_DIFF({column}, {load_time}, MICROSECOND) > {allowance}" if rule.until_load else ""
        checks.append(
            f"WHEN {column} < {_EARLIEST}{late}\n  THEN CONCAT('implausible timestamp: {rule.name} = ', "
            f"{_shown(contract, rule)}, ' (allowed: {PLAUSIBLE_TIMES})')"
        )
    return checks


def reject_reason(contract: FlowContract) -> str:
    """The first rule a row breaks, as a CASE expression; null when it breaks none."""
    # The load time, and how much later a timestamp may be: the tolerance, and for a startup
    # file the load date itself (its end is the load time).
    day_us = 86_400 * 1_000_000
    tolerance_us = int(LOAD_TIME_TOLERANCE.total_seconds()) * 1_000_000
    load_time = LOAD_TIMES[contract.flow]
    allowance = tolerance_us + (day_us if contract.flow == "startups" else 0)
    checks: list[str] = []
    if contract.reading == "native":
        checks += [
            "WHEN invalid_fields IS NOT NULL THEN CONCAT('wrong type: ', invalid_fields)",
            *(
                f"WHEN {c} IS NULL THEN 'missing required field: {c}'"
                for c in ("document_id", "document_update_seq", "exported_at")
            ),
        ]
    else:
        checks += _line_checks()
    checks += [c for rule in contract.rules if (c := _required(contract, rule))]
    checks += [c for rule in contract.rules if (c := _kind(contract, rule))]
    checks += _text_rules(contract)
    checks += [c for rule in contract.rules for c in _value(contract, rule, load_time, allowance)]
    if contract.flow == "sales":
        checks.append(
            f"WHEN (payment_method IN {_in_list(CARD_PAYMENT_METHODS)}) != (credit_card_last4 IS NOT NULL)\n"
            f"  THEN {_literal(CARD_RULE_REASON)}"
        )
    return "CASE\n" + "\n".join("  " + c.replace("\n", "\n  ") for c in checks) + "\nEND"


# -- the include ----------------------------------------------------------------------


def _fragments(contract: FlowContract) -> dict[str, str]:
    if contract.reading == "native":
        return {"rejectReason": reject_reason(contract)}
    return {
        "document": document(contract),
        "texts": texts(contract),
        "values": values(contract),
        "columns": columns(contract),
        "rejectReason": reject_reason(contract),
        "payload": payload(contract),
    }


def _template(sql: str) -> str:
    """A JavaScript template literal holding `sql` exactly."""
    return "`" + sql.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${") + "`"


def render_contract_js() -> str:
    """dataform/includes/contract.js as the contract gives it now."""
    flows = []
    for contract in CONTRACTS.values():
        # Continuation lines are indented as a SELECT list in the models.
        parts = ",\n".join(
            f"  {name}: {_template(sql.replace(chr(10), chr(10) + '    '))}"
            for name, sql in _fragments(contract).items()
        )
        flows.append(f"const {contract.flow} = {{\n{parts},\n}};")
    names = ", ".join(c.flow for c in CONTRACTS.values())
    limits = json.dumps({"maxLineChars": MAX_LINE_CHARS, "quarantinedLineChars": QUARANTINED_LINE_CHARS})
    return (
        "// Generated from the record contract (winter_days/records/__init__.py) by winter_days/records/sql.py;\n"
        "// do not edit: change the contract, then run `python -m winter_days.records.sql`.\n"
        "//\n"
        "// SQL fragments of the stg_*_checked models, per flow. A JSON Lines model reads `line`\n"
        "// and `beyond_delimiter` (the external table's columns) and selects, CTE by CTE:\n"
        "//   document AS doc; then texts (each field's text); then values (typed fields);\n"
        "//   then rejectReason (the first rule broken, null when none) over all of them;\n"
        "//   columns lists the typed fields, payload the line as the quarantine keeps it.\n"
        "// The sales model applies rejectReason to a bronze Parquet row.\n\n"
        + "\n\n".join(flows)
        + f"\n\nconst limits = {limits};\n\nmodule.exports = {{ {names}, limits }};\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write dataform/includes/contract.js from the record contract.")
    parser.add_argument("--check", action="store_true", help="only say whether the file is current (exit 1 if not)")
    args = parser.parse_args(argv)
    text = render_contract_js()
    if args.check:
        current = CONTRACT_JS.exists() and CONTRACT_JS.read_text() == text
        print(f"{CONTRACT_JS}: {'current' if current else 'out of date: run python -m winter_days.records.sql'}")
        return 0 if current else 1
    CONTRACT_JS.write_text(text)
    print(f"wrote {CONTRACT_JS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
