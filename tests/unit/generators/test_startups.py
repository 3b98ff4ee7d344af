from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.pseudonym_keys import TEST_PSEUDONYMS

from winter_days.generators.jobs import write_startups
from winter_days.generators.startups import startup_table
from winter_days.records import FUNDING_STAGE_SCORES, valuation_bucket
from winter_days.records.checks import record_errors
from winter_days.stores.lake import LocalLake

START = date(2026, 1, 1)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    day=st.dates(date(2025, 6, 1), date(2027, 6, 1)),
    size=st.integers(1, 400),
    gap=st.integers(1, 60),
)
def test_full_and_delta_records_keep_the_contract(seed, day, size, gap):
    full = startup_table(seed, START, day, None, size, pseudonyms=TEST_PSEUDONYMS).to_pylist()
    delta = startup_table(seed, START, day + timedelta(days=gap), day, size, pseudonyms=TEST_PSEUDONYMS).to_pylist()
    for row in full + delta:
        assert record_errors("startups", row) == [], row
        assert row["valuation_bucket"] == valuation_bucket(row["valuation_usd"])
        assert row["funding_stage_score"] == FUNDING_STAGE_SCORES[row["funding_stage"]]
        assert row["founded_year"] <= int(row["updated_at"][:4])
    assert {r["load_type"] for r in full} <= {"full"} and {r["load_type"] for r in delta} <= {"delta"}
    assert all(day.isoformat() < r["updated_at"][:10] <= (day + timedelta(days=gap)).isoformat() for r in delta)


def test_a_full_load_plus_its_deltas_is_the_later_full_load():
    loads = [date(2026, 1, 2), date(2026, 1, 9), date(2026, 1, 16), date(2026, 2, 20)]
    state = {r["startup_id"]: r for r in startup_table(42, START, loads[0], pseudonyms=TEST_PSEUDONYMS).to_pylist()}
    changed = new = 0
    for previous, day in zip(loads, loads[1:], strict=False):
        for row in startup_table(42, START, day, previous, pseudonyms=TEST_PSEUDONYMS).to_pylist():
            if row["startup_id"] in state:
                changed += 1
                assert row["funding_stage_score"] >= state[row["startup_id"]]["funding_stage_score"]
            else:
                new += 1
            state[row["startup_id"]] = row
    assert changed > 5 and new > 5
    expected = startup_table(42, START, loads[-1], pseudonyms=TEST_PSEUDONYMS).to_pylist()
    strip = lambda r: {k: v for k, v in r.items() if k != "load_type"}  # noqa: E731
    assert sorted(map(strip, state.values()), key=lambda r: r["startup_id"]) == list(map(strip, expected))


def test_first_load_is_full_later_loads_are_deltas_and_reruns_change_nothing(tmp_path):
    lake = LocalLake(tmp_path)
    with pytest.raises(ValueError, match="first load must be full"):
        write_startups(lake, 42, START, date(2026, 3, 6), load_type="delta", pseudonyms=TEST_PSEUDONYMS)
    first = write_startups(lake, 42, START, date(2026, 3, 6), pseudonyms=TEST_PSEUDONYMS)
    assert first.load_type == "full" and 100 <= first.records <= 130
    second = write_startups(lake, 42, START, date(2026, 3, 13), pseudonyms=TEST_PSEUDONYMS)
    assert second.load_type == "delta" and second.previous_load == date(2026, 3, 6) and 0 < second.records < 40
    again = write_startups(lake, 42, START, date(2026, 3, 13), pseudonyms=TEST_PSEUDONYMS)
    assert again == second
    forced = write_startups(lake, 42, START, date(2026, 3, 20), load_type="full", pseudonyms=TEST_PSEUDONYMS)
    assert forced.load_type == "full" and forced.records > first.records
    rows = [json.loads(line) for line in lake.get(second.key).splitlines()]
    assert {r["load_type"] for r in rows} == {"delta"} and len(rows) == second.records
    assert all(b"@" not in lake.get(k) for k in lake.list("bronze/startups/"))
