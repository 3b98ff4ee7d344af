"""Golden tests of the clickstream models over two daily loads: stg_click, its quarantine
(bad JSON line, wrong type, missing field, bad timestamp), fct_click_features, fct_web_sessions,
accounting."""

from __future__ import annotations

import json
from datetime import date

import pytest
from support.elt_models import LocalElt, click, utc

pytestmark = pytest.mark.slow

DAY1 = "bronze/clickstream/load_date=2024-05-01/clickstream-2024-05-01.jsonl"
DAY2 = "bronze/clickstream/load_date=2024-05-02/clickstream-2024-05-02.jsonl"


def without(record: dict, name: str) -> str:
    return json.dumps({k: v for k, v in record.items() if k != name})


def load_two_days(elt: LocalElt) -> None:
    load_day1(elt)
    load_day2(elt)


def load_day1(elt: LocalElt) -> None:
    elt.write_lines(
        DAY1,
        [
            click(
                "E1",
                "A",
                "C1",
                "page_view",
                "2024-05-01T10:00:00.000Z",
                referrer_domain="google.com",
                referrer_url="https://google.com/search",
            ),
            click("E2", "A", "C1", "product_view", "2024-05-01T10:01:00.000Z"),
            click("E3", "A", "C1", "add_to_cart", "2024-05-01T10:02:00.000Z"),
            click(
                "E4",
                "B",
                None,
                "page_view",
                "2024-05-01T11:00:00.000Z",
                is_bounce=True,
                device_type_category="mobile",
                referrer_domain="bing.com",
            ),
            click(
                "E5",
                "C",
                "C1",
                "page_view",
                "2024-05-01T20:00:00.000Z",
                is_bounce=True,
                device_type_category="tablet",
                referrer_domain="google.com",
            ),
            '{"event_id": "E99", "session_id": ',
            click("E90", "X", "C1", "page_view", "2024-05-01T12:00:00.000Z", is_bounce="yes"),
            without(click("E91", "Y", "C1", "page_view", "2024-05-01T12:00:00.000Z"), "session_id"),
            click("E92", "Z", "C1", "page_view", "2024-13-45T99:00:00Z"),
        ],
    )


def load_day2(elt: LocalElt) -> None:
    elt.write_lines(
        DAY2,
        [
            click("E6", "D", "C1", "checkout", "2024-05-02T09:00:00.000Z"),
            click("E7", "D", "C1", "purchase", "2024-05-02T09:05:00.000Z"),
            # Delivered again with the next day's load.
            click(
                "E2", "A", "C1", "product_view", "2024-05-01T10:01:00.000Z", load_timestamp="2024-05-02T23:59:59.999Z"
            ),
            # A late event of the first day.
            click(
                "E8",
                "B",
                None,
                "product_view",
                "2024-05-01T11:05:00.000Z",
                device_type_category="mobile",
                load_timestamp="2024-05-02T23:59:59.999Z",
            ),
        ],
    )


def test_stg_click_dedupes_and_quarantines_each_bad_line_with_its_reason(elt: LocalElt):
    load_two_days(elt)
    elt.run_ok("clickstream", "accounting")
    staged = {r["event_id"]: r for r in elt.rows("SELECT * FROM winter_days_staging.stg_click")}
    assert sorted(staged) == ["E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8"]
    assert staged["E2"]["source_file"] == f"gs://winter-days-lake/{DAY2}"
    assert staged["E3"]["funnel_step"] == 3 and staged["E7"]["funnel_step"] == 5
    assert staged["E4"]["user_id"] is None and staged["E4"]["is_bounce"] is True
    assert staged["E1"]["event_timestamp"] == utc("2024-05-01 10:00")

    quarantined = elt.rows("SELECT * FROM winter_days_staging.stg_click_quarantine ORDER BY reason")
    assert [(q["row_identity"], q["reason"]) for q in quarantined] == [
        ("E91", "missing required field: session_id"),
        ('{"event_id": "E99", "session_id": ', "unparseable JSON line"),
        ("E92", "unparseable timestamp: event_timestamp = 2024-13-45T99:00:00Z"),
        ("E90", "wrong type: is_bounce = yes is not a boolean"),
    ]
    assert {q["source_file"] for q in quarantined} == {f"gs://winter-days-lake/{DAY1}"}
    assert json.loads(quarantined[0]["raw_payload"])["event_id"] == "E91"

    accounting = elt.rows("SELECT * FROM winter_days_staging.flow_row_accounting WHERE flow = 'clickstream'")[0]
    assert (
        accounting["rows_in_bronze"],
        accounting["rows_staged"],
        accounting["rows_quarantined"],
        accounting["duplicates_removed"],
    ) == (13, 8, 4, 1)


def test_fct_click_features_per_visitor_and_day(elt: LocalElt):
    load_two_days(elt)
    elt.run_ok("clickstream")
    rows = {
        (r["event_date"], r["visitor_id"]): r
        for r in elt.rows("SELECT * FROM winter_days_warehouse.fct_click_features")
    }
    assert sorted(rows) == [(date(2024, 5, 1), "C1"), (date(2024, 5, 1), "anonymous:B"), (date(2024, 5, 2), "C1")]
    fields = (
        "user_id",
        "is_signed_in",
        "sessions",
        "events",
        "bounced_sessions",
        "bounce_rate",
        "page_views",
        "product_views",
        "add_to_cart_events",
        "checkout_events",
        "purchase_events",
        "funnel_depth",
        "converted",
        "distinct_pages",
        "first_event_at",
        "last_event_at",
        "main_device_category",
        "main_referrer_domain",
    )
    assert {k: rows[(date(2024, 5, 1), "C1")][k] for k in fields} == {
        "user_id": "C1",
        "is_signed_in": True,
        "sessions": 2,
        "events": 4,
        "bounced_sessions": 1,
        "bounce_rate": 0.5,
        "page_views": 2,
        "product_views": 1,
        "add_to_cart_events": 1,
        "checkout_events": 0,
        "purchase_events": 0,
        "funnel_depth": 3,
        "converted": False,
        "distinct_pages": 3,
        "first_event_at": utc("2024-05-01 10:00"),
        "last_event_at": utc("2024-05-01 20:00"),
        "main_device_category": "desktop",
        "main_referrer_domain": "google.com",
    }
    anonymous = rows[(date(2024, 5, 1), "anonymous:B")]
    assert {
        k: anonymous[k]
        for k in (
            "user_id",
            "is_signed_in",
            "sessions",
            "events",
            "bounced_sessions",
            "funnel_depth",
            "main_device_category",
            "main_referrer_domain",
        )
    } == {
        "user_id": None,
        "is_signed_in": False,
        "sessions": 1,
        "events": 2,
        "bounced_sessions": 1,
        "funnel_depth": 2,
        "main_device_category": "mobile",
        "main_referrer_domain": "bing.com",
    }
    day2 = rows[(date(2024, 5, 2), "C1")]
    assert (day2["events"], day2["funnel_depth"], day2["converted"], day2["main_referrer_domain"]) == (2, 5, True, None)


SESSION_FIELDS = (
    "event_date",
    "session_id",
    "user_id",
    "events",
    "funnel_depth",
    "is_bounce",
    "device_type_category",
    "referrer_domain",
    "first_event_at",
    "last_event_at",
)


def web_sessions(elt: LocalElt) -> list[tuple]:
    rows = elt.rows("SELECT * FROM winter_days_warehouse.fct_web_sessions ORDER BY event_date, session_id")
    return [tuple(r[k] for k in SESSION_FIELDS) for r in rows]


def test_fct_web_sessions_one_row_per_session_and_day_built_day_by_day(elt: LocalElt):
    load_day1(elt)
    elt.run_ok("clickstream")
    assert [(r[1], r[3]) for r in web_sessions(elt)] == [("A", 3), ("B", 1), ("C", 1)]

    load_day2(elt)  # the next day, a resent event and a late event of session B
    elt.run_ok("clickstream")
    day1, day2 = date(2024, 5, 1), date(2024, 5, 2)
    assert web_sessions(elt) == [
        # The referrer and device are the session's first event's; E2's repeat is one event.
        (day1, "A", "C1", 3, 3, False, "desktop", "google.com", utc("2024-05-01 10:00"), utc("2024-05-01 10:02")),
        # The late product view deepens the anonymous session B; it bounced by the source's flag.
        (day1, "B", None, 2, 2, True, "mobile", "bing.com", utc("2024-05-01 11:00"), utc("2024-05-01 11:05")),
        (day1, "C", "C1", 1, 1, True, "tablet", "google.com", utc("2024-05-01 20:00"), utc("2024-05-01 20:00")),
        (day2, "D", "C1", 2, 5, False, "desktop", None, utc("2024-05-02 09:00"), utc("2024-05-02 09:05")),
    ]
    incremental = web_sessions(elt)
    elt.run_ok("clickstream", full_refresh=True)
    assert web_sessions(elt) == incremental


def test_web_sessions_that_disagree_with_stg_click_fail_their_check(elt: LocalElt):
    load_two_days(elt)
    elt.run_ok("clickstream")
    assert elt.run_check("assert_fct_web_sessions_match_stg_click").state.value == "SUCCEEDED"
    elt.tamper("UPDATE winter_days_warehouse.fct_web_sessions SET events = events + 1 WHERE session_id = 'D'")
    result = elt.run_check("assert_fct_web_sessions_match_stg_click")
    assert result.state.value == "FAILED"
    assert [
        (r["event_date"], r["events_staged"], r["events_modelled"]) for r in result.actions[0].failing_rows_sample
    ] == [("2024-05-02", 2, 3)]


def test_new_daily_file_is_read_without_recompiling(elt: LocalElt):
    compiled = elt.compile()
    elt.write_lines(DAY1, [click("E1", "A", "C1", "page_view", "2024-05-01T10:00:00.000Z")])
    elt.run_ok("clickstream", compiled=compiled)
    elt.write_lines(DAY2, [click("E6", "D", "C1", "checkout", "2024-05-02T09:00:00.000Z")])
    elt.run_ok("clickstream", compiled=compiled)
    assert [r["event_id"] for r in elt.rows("SELECT event_id FROM winter_days_staging.stg_click ORDER BY 1")] == [
        "E1",
        "E6",
    ]


@pytest.mark.parametrize(
    "copy_parsed_at", ["parsed_at", "parsed_at - INTERVAL 1 DAY"], ids=["same batch", "earlier batch"]
)
def test_an_event_id_staged_twice_fails_its_check_and_nothing_is_published(elt: LocalElt, copy_parsed_at: str):
    load_two_days(elt)
    elt.run_ok("clickstream")
    from winter_days.elt.backend import InvocationConfig, Target
    from winter_days.elt.engines.duckdb.executor import DuckDBExecutor, open_session

    check = Target("", "winter_days_assertions", "assert_stg_click_event_ids_unique")
    clean = DuckDBExecutor(elt.warehouse, elt.lake).run(elt.compile(), InvocationConfig(included_targets=(check,)))
    assert clean.state.value == "SUCCEEDED" and clean.actions[0].rows == 0
    # Break the published table behind the models' back: a second row for an event of the
    # latest batch, staged by the same run or by an earlier one.
    con = open_session(elt.warehouse)
    con.execute(
        f"INSERT INTO winter_days_staging.stg_click SELECT * REPLACE ({copy_parsed_at} AS parsed_at) "
        "FROM winter_days_staging.stg_click WHERE event_id = 'E6'"
    )
    con.close()
    published = elt.warehouse.read_bytes()
    result = DuckDBExecutor(elt.warehouse, elt.lake).run(elt.compile(), InvocationConfig(included_targets=(check,)))
    assert result.state.value == "FAILED" and not result.published
    assert [dict(r) for r in result.actions[0].failing_rows_sample] == [{"event_id": "E6", "rows_staged": 2}]
    assert elt.warehouse.read_bytes() == published


def test_a_blank_line_is_quarantined_as_empty_and_counted(elt: LocalElt):
    elt.write_lines(
        DAY1,
        [
            click("E1", "A", "C1", "page_view", "2024-05-01T10:00:00.000Z"),
            "   \t ",
            click("E2", "A", "C1", "page_view", "2024-05-01T10:01:00.000Z"),
        ],
    )
    elt.run_ok("clickstream", "accounting")
    quarantined = elt.rows("SELECT row_identity, reason FROM winter_days_staging.stg_click_quarantine")
    assert quarantined == [{"row_identity": "   \t ", "reason": "empty line"}]
    accounting = elt.rows("SELECT * FROM winter_days_staging.flow_row_accounting WHERE flow = 'clickstream'")[0]
    assert (accounting["rows_in_bronze"], accounting["rows_staged"], accounting["rows_quarantined"]) == (3, 2, 1)
