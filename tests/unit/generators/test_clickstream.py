from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.pseudonym_keys import TEST_PSEUDONYMS

from winter_days.generators import clickstream as clickstream_module
from winter_days.generators import jobs as jobs_module
from winter_days.generators.clickstream import clickstream_chunks, generate_clickstream
from winter_days.generators.customers import build_customer_pool
from winter_days.generators.jobs import write_clickstream
from winter_days.records import CLICKSTREAM_SCHEMA
from winter_days.records.checks import record_errors
from winter_days.stores.lake import LocalLake

START = date(2026, 1, 1)
FUNNEL = ["page_view", "product_view", "add_to_cart", "checkout", "purchase"]


def lines_of(pool, day, count):
    from winter_days.generators.jsonl import lines_bytes

    return b"".join(bytes(lines_bytes(c.jsonl())) for c in clickstream_chunks(pool, day, count))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), day=st.dates(date(2025, 1, 1), date(2027, 12, 31)), count=st.integers(0, 2500))
def test_every_event_keeps_the_contract_and_the_file_is_the_table(seed, day, count):
    pool = build_customer_pool(seed, 200, START, TEST_PSEUDONYMS)
    table = generate_clickstream(pool, day, count)
    assert table.schema == CLICKSTREAM_SCHEMA and table.num_rows == count
    rows = table.to_pylist()
    for row in rows:
        assert record_errors("clickstream", row) == [], row
        assert row["event_timestamp"][:10] == day.isoformat() <= row["load_timestamp"][:10]
        assert row["event_timestamp"] <= row["load_timestamp"]
    data = lines_of(pool, day, count)
    assert [json.loads(line) for line in data.splitlines()] == rows
    assert len({r["event_id"] for r in rows}) == count


def test_sessions_bounce_follow_the_funnel_and_belong_to_signed_up_customers(pool):
    day = date(2026, 3, 5)
    rows = generate_clickstream(pool, day, 20_000).to_pylist()
    sessions: dict[str, list[dict]] = {}
    for row in rows:
        sessions.setdefault(row["session_id"], []).append(row)
    signed_up = set(pool.customer_id[pool.signed_up_by(day)])
    bounces = 0
    for events in sessions.values():
        bounces += len(events) == 1
        assert all(e["is_bounce"] == (len(events) == 1) for e in events)
        assert len({(e["user_id"], e["device_type"]) for e in events}) == 1
        stages = [FUNNEL.index(e["event_type"]) for e in events]
        first_purchase = stages.index(4) if 4 in stages else len(stages)
        assert stages[:first_purchase] == sorted(stages[:first_purchase])
        assert all(s == 0 for s in stages[first_purchase + 1 :])
        if events[0]["user_id"] is None:
            assert max(stages) <= 2  # anonymous visitors cannot check out
        else:
            assert events[0]["user_id"] in signed_up
        for before, after in zip(events, events[1:], strict=False):
            assert after["referrer_url"] == before["page_url"] and after["referrer_domain"] == "winter-days.shop"
            assert after["event_timestamp"] >= before["event_timestamp"]
    assert 0.2 < bounces / len(sessions) < 0.5
    signed_in = sum(r["user_id"] is not None for r in rows) / len(rows)
    assert 0.4 < signed_in < 0.8
    assert {r["device_type_category"] for r in rows} == {"desktop", "mobile", "tablet"}


def test_chunks_split_a_day_without_changing_its_shape(pool, monkeypatch):
    monkeypatch.setattr(clickstream_module, "CHUNK_EVENTS", 700)
    monkeypatch.setattr(jobs_module, "CHUNK_EVENTS", 700)
    table = generate_clickstream(pool, date(2026, 3, 5), 2500)
    assert table.num_rows == 2500
    assert len(set(table.column("event_id").to_pylist())) == 2500
    sessions = table.column("session_id").to_pylist()
    assert all(a <= b for a, b in zip(sessions, sessions[1:], strict=False))  # sessions never interleave


def test_same_seed_same_bytes_other_seed_other_bytes_and_days_are_independent(tmp_path, pool):
    day = date(2026, 3, 9)
    first, second, third = (LocalLake(tmp_path / name) for name in ("a", "b", "c"))
    run = write_clickstream(first, pool, day, 5000)
    for d in range(4):
        write_clickstream(second, pool, day - timedelta(days=d + 1), 3000)
    write_clickstream(second, pool, day, 5000)
    assert second.get(run.key) == first.get(run.key)
    assert run.records == 5000 and first.get(run.key).count(b"\n") == 5000
    write_clickstream(third, build_customer_pool(43, 2000, START, TEST_PSEUDONYMS), day, 5000)
    assert third.get(run.key) != first.get(run.key)
    write_clickstream(first, pool, day, 5000)  # a rerun is a no-op, not an error
    data = first.get(run.key)
    assert b"@" not in data


def test_no_customers_yet_means_anonymous_visitors_only():
    pool = build_customer_pool(3, 50, START, TEST_PSEUDONYMS)
    early = START - timedelta(days=2000)
    table = generate_clickstream(pool, early, 500)
    assert table.num_rows == 500 and table.column("user_id").null_count == 500
    assert isinstance(table.column("is_bounce").chunk(0), pa.BooleanArray)
    assert np.all(pool.browse_weights(np.array([pool.day_offset(early)])) == 0)
