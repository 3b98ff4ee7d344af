"""The record contract (records.py) applied in Python: whether a record is staged, and why not.

`line_errors` reads a JSON Lines line as staging does on both engines, `reading_errors` a
decoded record, `record_errors` is the stricter check of what the generators write (the
Arrow types exactly, no unknown field, the current schema version, canonical timestamps).
Each returns every rule broken, in the order staging checks them, so the first is the
reason staging gives; the fuzz tests hold the SQL models to the same answers.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from winter_days.records import (
    BOOLEAN,
    CARD_PAYMENT_METHODS,
    CARD_RULE_REASON,
    CONTRACTS,
    CONTROL_CHARACTERS,
    EARLIEST_PLAUSIBLE,
    FLOWS,
    INT64_RANGE,
    INTEGER,
    INTEGER_TEXT,
    ISO_TIMESTAMP,
    LOAD_TIME_TOLERANCE,
    MAX_LINE_CHARS,
    NUMBER,
    NUMBER_TEXT,
    REPLACEMENT_CHARACTER,
    SCHEMA_VERSION,
    SCHEMAS,
    TEXT,
    TIMESTAMP,
    WHITE_SPACE,
    FieldRule,
    FlowContract,
)
from winter_days.records.timestamps import parse_sale_timestamp

_CONTROL = re.compile(CONTROL_CHARACTERS)
_DAMAGED = re.compile(f"[{REPLACEMENT_CHARACTER}\ud800-\udfff]")
_ISO = re.compile(ISO_TIMESTAMP)
_INTEGER = re.compile(INTEGER_TEXT)
_NUMBER = re.compile(NUMBER_TEXT)
_DELIMITER = "\x1f"  # the raw-line tables' CSV delimiter (dataform/includes/constants.js)


# -- reading values -------------------------------------------------------------------


def json_value_text(value: Any) -> str | None:
    """A decoded JSON value as BigQuery's JSON_VALUE gives it: a scalar's text, or null for
    null, an object or an array."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json.dumps(value)  # its JSON text: NaN and Infinity as a lenient reader wrote them
    return None


def parse_iso_timestamp(text: str) -> datetime | None:
    """The UTC instant of a 2.0.0 timestamp text, or None when it is not one (years
    0001-9999 only, as BigQuery's TIMESTAMP)."""
    if not _ISO.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def value_fits(value: Any, arrow_type: pa.DataType) -> bool:
    """Whether a stored value keeps its Arrow column's type (null fits any): the sales
    export's rule for what it writes as it is."""
    if value is None:
        return True
    if arrow_type == pa.string():
        return isinstance(value, str)
    if isinstance(value, bool):
        return arrow_type == pa.bool_()
    if arrow_type == pa.int64():
        return isinstance(value, int) and INT64_RANGE[0] <= value <= INT64_RANGE[1]
    if arrow_type == pa.float64():
        if not isinstance(value, (int, float)):
            return False
        try:
            float(value)
        except OverflowError:  # an integer beyond float64's range
            return False
        return True
    return False


def _blank(text: str) -> bool:
    return text.strip(WHITE_SPACE) == ""


# -- the rules, in staging's order ------------------------------------------------------


def reading_errors(flow: str, record: Mapping[str, Any], loaded_at: datetime | None = None) -> list[str]:
    """Every rule of `flow` that `record` breaks, as staging reads it; the first is the reason
    staging quarantines it with. `loaded_at` is the record's load time (records.FlowContract
    .load_time) when the record does not hold it; without one that bound is not checked."""
    contract = _contract(flow)
    errors: list[str] = []
    if contract.reading == "native":
        wrong = [
            name
            for name in SCHEMAS[flow].names
            if name != "sale_timestamp" and not value_fits(record.get(name), SCHEMAS[flow].field(name).type)
        ]
        if wrong:
            errors.append(f"wrong type: {','.join(wrong)}")
        texts = {r.name: None if r.name in wrong else record.get(r.name) for r in contract.rules}
    else:
        texts = {r.name: json_value_text(record.get(r.name)) for r in contract.rules}
    values: dict[str, Any] = {}
    for rule in contract.rules:
        if rule.kind == TIMESTAMP and contract.reading == "native":
            missing = record.get(rule.name) is None
        else:
            text = texts[rule.name]
            missing = text is None or (rule.non_blank and isinstance(text, str) and _blank(text))
        if rule.required and missing:
            errors.append(f"missing required field: {rule.name}")
    for rule in contract.rules:
        value, error = _typed(contract, rule, texts[rule.name], record.get(rule.name))
        values[rule.name] = value
        if error:
            errors.append(error)
    for rule in contract.rules:
        text = texts[rule.name]
        if rule.kind == TEXT and not rule.pseudonymised and isinstance(text, str):
            if _CONTROL.search(text):
                errors.append(f"invalid text: {rule.name} holds a control character")
            elif _DAMAGED.search(text):
                errors.append(
                    f"invalid text: {rule.name} holds U+FFFD, the mark of bytes that were not UTF-8 "
                    "(or of a lone surrogate, replaced)"
                )
    load_time = loaded_at
    if flow == "clickstream":
        load_time = values.get("load_timestamp")
    for rule in contract.rules:
        error = _value_error(rule, texts[rule.name], values[rule.name], load_time)
        if error:
            errors.append(error)
    if flow == "sales" and isinstance(record.get("payment_method"), str):
        card = record["payment_method"] in CARD_PAYMENT_METHODS
        if card != (record.get("credit_card_last4") is not None):
            errors.append(CARD_RULE_REASON)
    return errors


def _typed(contract: FlowContract, rule: FieldRule, text: Any, raw: Any) -> tuple[Any, str | None]:
    """The field's value of its kind, and the error when its text is not one."""
    if contract.reading == "native":
        if rule.kind != TIMESTAMP:
            return text, None
        parsed = parse_sale_timestamp(raw)
        if parsed.ok or parsed.form == "missing":
            return parsed.value, None
        return None, f"unparseable timestamp: {rule.name} = {parsed.raw}"
    if text is None or rule.kind == TEXT:
        return text, None
    if rule.kind == INTEGER:
        if _INTEGER.fullmatch(text) and INT64_RANGE[0] <= int(text) <= INT64_RANGE[1]:
            return int(text), None
        return None, f"wrong type: {rule.name} = {text} is not an integer"
    if rule.kind == NUMBER:
        if _NUMBER.fullmatch(text):
            return float(text), None
        return None, f"wrong type: {rule.name} = {text} is not a number"
    if rule.kind == BOOLEAN:
        if text in ("true", "false"):
            return text == "true", None
        return None, f"wrong type: {rule.name} = {text} is not a boolean"
    instant = parse_iso_timestamp(text)
    if instant is None:
        return None, f"unparseable timestamp: {rule.name} = {text}"
    return instant, None


def _value_error(rule: FieldRule, text: Any, value: Any, load_time: datetime | None) -> str | None:
    if value is None:
        return None
    shown = text if isinstance(text, str) else repr(text)
    if rule.choices and value not in rule.choices:
        return f"invalid value: {rule.name} = {shown}"
    if rule.pattern and not re.fullmatch(rule.pattern, value):
        return f"invalid value: {rule.name} is not {rule.pattern_means}"
    if rule.kind in (INTEGER, NUMBER) and (rule.low is not None or rule.high is not None):
        number = float(value)
        fits = math.isfinite(number)
        if rule.low is not None:
            fits = fits and (number > rule.low if rule.low_open else number >= rule.low)
        if rule.high is not None:
            fits = fits and number <= rule.high
        if not fits:
            return f"out of range: {rule.name} = {shown} (allowed: {rule.range_text()})"
    if rule.kind == TIMESTAMP:
        late = rule.until_load and load_time is not None and value - load_time > LOAD_TIME_TOLERANCE
        if value < EARLIEST_PLAUSIBLE or late:
            return f"implausible timestamp: {rule.name} = {shown} (allowed: {PLAUSIBLE_TIMES})"
    return None


PLAUSIBLE_TIMES = f"from {EARLIEST_PLAUSIBLE:%Y-%m-%d} to a day after the load time"


def line_errors(flow: str, line: str, loaded_at: datetime | None = None) -> list[str]:
    """Every rule one line of a JSON Lines file breaks, as staging reads the line on both
    engines (decoded with U+FFFD for bytes that are not UTF-8, cut at the raw-line tables'
    delimiter); the first is its quarantine reason."""
    contract = _contract(flow)
    if contract.reading != "json_text":
        raise ValueError(f"flow {flow!r} is not read from JSON Lines")
    line, beyond = line.split(_DELIMITER, 1) if _DELIMITER in line else (line, "")
    if _blank(line) and not beyond:
        return ["empty line"]
    if len(line) > MAX_LINE_CHARS:
        return [f"oversized line: {len(line)} characters (the limit is {MAX_LINE_CHARS})"]
    if REPLACEMENT_CHARACTER in line:
        return ["invalid text: the line holds U+FFFD, the mark of bytes that were not UTF-8"]
    if beyond:
        return ["unparseable JSON line"]  # a raw control character, which JSON never holds
    try:
        document = json.loads(line, object_pairs_hook=_first_key_wins)
    except (ValueError, RecursionError):
        return ["unparseable JSON line"]
    if _holds_lone_surrogate(document):
        return ["unparseable JSON line"]  # JSON's \uD800 escapes must come in pairs
    if not isinstance(document, dict):
        return ["not a JSON object"]
    return reading_errors(flow, document, loaded_at)


def _first_key_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose repeated keys keep their first value, as both engines read it."""
    document: dict[str, Any] = {}
    for key, value in pairs:
        document.setdefault(key, value)
    return document


def _holds_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, dict):
        return any(_holds_lone_surrogate(k) or _holds_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_lone_surrogate(v) for v in value)
    return False


def record_errors(flow: str, record: Mapping[str, Any]) -> list[str]:
    """Every way `record` breaks the 2.0.0 contract of `flow` as a writer must keep it: the
    Arrow types exactly, no unknown field, the current schema version, a canonical
    sale_timestamp, and every rule staging applies (empty when it is valid)."""
    schema = SCHEMAS[_contract(flow).flow]
    errors: list[str] = []
    unknown = sorted(set(record) - set(schema.names))
    if unknown:
        errors.append(f"unknown field(s) {', '.join(unknown)}")
    for field in schema:
        value = record.get(field.name)
        if value is not None and not value_fits(value, field.type):
            errors.append(f"{field.name}: expected {field.type}, got {type(value).__name__} {value!r}")
    if record.get("schema_version") not in (None, SCHEMA_VERSION):
        errors.append(f"schema_version: expected {SCHEMA_VERSION}, got {record.get('schema_version')!r}")
    if flow == "sales":
        stamp = record.get("sale_timestamp")
        if stamp is not None and not (isinstance(stamp, str) and parse_iso_timestamp(stamp)):
            errors.append(f"sale_timestamp: expected an ISO-8601 timestamp string, got {stamp!r}")
    return errors + reading_errors(flow, record)


def _contract(flow: str) -> FlowContract:
    if flow not in CONTRACTS:
        raise ValueError(f"unknown flow {flow!r}: expected one of {', '.join(FLOWS)}")
    return CONTRACTS[flow]
