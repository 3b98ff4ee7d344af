"""Properties of the record contract: the parsers never fail, whatever they are given, and
the staging SQL rendered from the contract gives each mangled line the reason the Python
rules give it (run here on DuckDB, with BigQuery's semantics, as the executor runs it)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from functools import cache

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.record_mutations import json_line, mangle_line, mutate_record, valid_click, valid_startup

from winter_days.records import CONTRACTS, EARLIEST_PLAUSIBLE
from winter_days.records.checks import line_errors, reading_errors, record_errors
from winter_days.records.sql import document, reject_reason, texts, values
from winter_days.records.timestamps import parse_sale_timestamp
from winter_days.warehouse.duckdb.dialect.transpile import to_duckdb_query
from winter_days.warehouse.duckdb.dialect.udfs import bigquery_session

LOAD_DAY = "2024-05-01"
SOURCE = {
    "clickstream": f"gs://lake/bronze/clickstream/load_date={LOAD_DAY}/part.jsonl",
    "startups": f"gs://lake/bronze/startups/load_date={LOAD_DAY}/part.jsonl",
}
LOADED = {"clickstream": None, "startups": datetime(2024, 5, 2, tzinfo=UTC)}
VALID = {"clickstream": valid_click, "startups": valid_startup}


@cache
def checked_query(flow: str) -> str:
    """The stg_*_checked model's checks over a table `input` of read lines, in DuckDB SQL."""
    contract = CONTRACTS[flow]
    return to_duckdb_query(
        f"""WITH parsed AS (SELECT *, {document(contract)} AS doc FROM input),
        texts AS (SELECT *, {texts(contract)} FROM parsed),
        typed AS (SELECT *, {values(contract)} FROM texts)
        SELECT n, {reject_reason(contract)} AS reject_reason FROM typed ORDER BY n"""
    )


def read_as_the_engines_do(raw: bytes) -> tuple[str, str | None]:
    """A line of a raw-line external table: bytes decoded with U+FFFD, cut at U+001F."""
    text = raw.decode("utf-8", "replace")
    line, _, beyond = text.partition("\x1f")
    return line, beyond or None


def kind(reason: str | None) -> str | None:
    """A reason without the value it quotes (engines print some numbers differently)."""
    return None if reason is None else reason.split(" = ")[0]


def mangled_lines(flow: str, seed: int, count: int) -> list[bytes]:
    rng = random.Random(seed)
    lines, ids = [], []
    for i in range(count):
        record = VALID[flow](rng, i, LOAD_DAY)
        ids.append(record[CONTRACTS[flow].key])
        if rng.random() < 0.7:
            record = mutate_record(rng, record, flow, ids)
        line = json_line(record)
        if rng.random() < 0.25:
            line = mangle_line(rng, line)
        if line:  # the engines skip a line with no bytes at all
            lines.append(line)
    return lines


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow=st.sampled_from(["clickstream", "startups"]), seed=st.integers(0, 2**32))
def test_the_staging_sql_gives_every_line_the_reason_the_python_rules_give(flow, seed):
    raw = mangled_lines(flow, seed, 60)
    read = [read_as_the_engines_do(line) for line in raw]
    table = pa.table(
        {
            "n": list(range(len(read))),
            "source_file": [SOURCE[flow]] * len(read),
            "line": [line for line, _ in read],
            "beyond_delimiter": [beyond for _, beyond in read],
        }
    )
    con = duckdb.connect()
    bigquery_session(con)  # the transpiled SQL calls the functions BigQuery's session defines
    con.register("input", table)
    sql_reasons = [reason for _, reason in con.execute(checked_query(flow)).fetchall()]
    python = [line_errors(flow, text, LOADED[flow]) for text in (t if b is None else f"{t}\x1f{b}" for t, b in read)]
    expected = [kind(errors[0]) if errors else None for errors in python]
    assert [kind(r) for r in sql_reasons] == expected, [
        (line[:200], kind(s), e) for line, s, e in zip(raw, sql_reasons, expected, strict=False) if kind(s) != e
    ]


@given(
    st.one_of(
        st.text(),
        st.binary().map(lambda b: b.decode("utf-8", "replace")),
        st.integers(),
        st.floats(),
        st.datetimes(timezones=st.just(UTC)),
        st.none(),
        st.booleans(),
        st.lists(st.integers()),
    )
)
def test_the_timestamp_parser_takes_anything_and_never_dates_a_number_before_2000(value):
    parsed = parse_sale_timestamp(value)
    assert parsed.ok == (parsed.value is not None)
    if parsed.ok and isinstance(value, (int, float)) and not isinstance(value, bool):
        assert parsed.value >= EARLIEST_PLAUSIBLE
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < EARLIEST_PLAUSIBLE.timestamp():
        assert not parsed.ok


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@given(flow=st.sampled_from(sorted(CONTRACTS)), record=st.dictionaries(st.text(max_size=20), json_values, max_size=8))
def test_the_rules_take_any_record_and_reject_one_that_is_not_a_record(flow, record):
    assert reading_errors(flow, record) and record_errors(flow, record)


@given(line=st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("utf-8", "replace")))
def test_any_line_gets_a_reason_or_is_a_valid_record(line):
    errors = line_errors("clickstream", line)
    assert errors or json.loads(line)["event_id"]


@pytest.mark.parametrize("flow", ["clickstream", "startups"])
def test_unmutated_records_pass_and_a_day_late_is_the_limit(flow):
    rng = random.Random(7)
    record = VALID[flow](rng, 1, LOAD_DAY)
    assert line_errors(flow, json.dumps(record), LOADED[flow]) == []
    field = "event_timestamp" if flow == "clickstream" else "updated_at"
    limit = (datetime(2024, 5, 1, 23, 59, 59, 999000) if flow == "clickstream" else datetime(2024, 5, 2)) + timedelta(
        days=1
    )
    at_limit = {**record, field: limit.strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z"}
    later = {**record, field: (limit + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:23] + "Z"}
    assert line_errors(flow, json.dumps(at_limit), LOADED[flow]) == []
    assert line_errors(flow, json.dumps(later), LOADED[flow])[0].startswith(f"implausible timestamp: {field}")
