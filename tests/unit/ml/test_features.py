from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest
from support.churn_rows import click, sale, write_warehouse

from winter_days.ml.features import (
    FEATURE_COLUMNS,
    DataSpan,
    FeatureError,
    build_feature_table,
    minimum_history_days,
    training_as_of_dates,
)
from winter_days.warehouse.duckdb import DuckDBWarehouse

T = date(2026, 2, 28)  # cutoff 2026-03-01 00:00 UTC


def rows_by_customer(path, as_of=T, horizon=30, label_until=None):
    with DuckDBWarehouse(path).reader() as reader:
        table = build_feature_table(reader, [as_of], horizon, label_until=label_until)
    return {r["customer_id"]: r for r in table.to_pylist()}


HISTORY = [
    sale("A", "2026-01-01T00:00:00", amount=100.0, payment="paypal"),
    sale("A", "2026-02-01T00:00:00", amount=50.0),
    sale("A", "2026-02-10T12:00:00", status="refunded", amount=30.0),
    sale("A", "2026-02-20T12:00:00", status="cancelled", amount=20.0, region="South"),
    sale("B", "2026-02-28T23:59:59", amount=5.0),  # last second of T: inside the features
    sale("C", "2026-02-15T00:00:00", status="cancelled"),  # never completed: not active
    sale("D", "2026-03-01T00:00:00"),  # first purchase at the cutoff: after T
]
HISTORY_CLICKS = [
    click("A", "2026-02-27T10:00:00", "add_to_cart", session="S1"),
    click("A", "2026-02-27T10:01:00", "checkout", session="S1"),
    click("A", "2026-02-10T10:00:00", bounce=True, session="S2"),
    click("A", "2026-01-20T10:00:00", session="S3"),  # 30..60 days before the cutoff
]


def test_features_are_the_hand_computed_values(tmp_path):
    rows = rows_by_customer(write_warehouse(tmp_path / "w.duckdb", HISTORY, HISTORY_CLICKS))
    assert set(rows) == {"A", "B"}  # C never completed a purchase, D's first is after T
    a = rows["A"]
    assert a["recency_days"] == pytest.approx(28.0)  # 2026-02-01 -> 2026-03-01
    assert a["tenure_days"] == pytest.approx(59.0)
    assert (a["frequency"], a["frequency_30d"], a["frequency_90d"]) == (2.0, 1.0, 2.0)
    assert (a["monetary"], a["monetary_90d"], a["avg_order_value"]) == (150.0, 150.0, 75.0)
    assert a["avg_gap_days"] == pytest.approx(31.0)
    assert a["recency_over_gap"] == pytest.approx(28.0 / 31.0)
    assert (a["refund_rate"], a["cancel_rate"], a["pending_rate"]) == (0.25, 0.25, 0.0)
    assert a["pay_share_paypal"] == 0.25 and a["pay_share_credit_card"] == 0.75
    assert a["region_south"] == 1.0 and a["region_north"] == 0.0  # the latest sale's region
    assert (a["clicks_7d"], a["clicks_30d"], a["clicks_prev_30d"], a["click_trend"]) == (2.0, 3.0, 1.0, 2.0)
    assert (a["sessions_30d"], a["cart_events_30d"]) == (2.0, 2.0)
    assert a["bounce_rate_30d"] == pytest.approx(1 / 3)
    assert a["days_since_last_click"] == pytest.approx((24 * 60 - 10 * 60 - 1) / (24 * 60) + 1)
    # Orders of any status: the refunded (Feb 10) and cancelled (Feb 20 12:00) ones count.
    assert (a["orders"], a["orders_30d"], a["orders_14d"]) == (4.0, 3.0, 1.0)
    assert a["order_recency_days"] == pytest.approx(8.5)
    assert a["order_rate_30d"] == pytest.approx(30 * 4 / 59)
    assert (a["history_days"], a["first_activity_days"]) == (pytest.approx(59.0), pytest.approx(59.0))
    first_click_days = 39 + 14 / 24  # 2026-01-20 10:00 -> 2026-03-01
    assert a["click_rate_30d"] == pytest.approx(30 * 4 / first_click_days)
    assert a["click_pace_ratio"] == pytest.approx(3 / (30 * 4 / first_click_days))
    assert (a["sessions_total"], a["sessions_14d"]) == (3.0, 1.0)
    assert a["session_rate_30d"] == pytest.approx(30 * 3 / 59)
    b = rows["B"]
    assert b["recency_days"] == pytest.approx(1 / 86400)
    assert b["avg_gap_days"] is None and b["recency_over_gap"] is None
    assert b["clicks_30d"] == 0.0 and b["days_since_last_click"] is None


def test_labels_count_only_completed_purchases_inside_the_horizon(tmp_path):
    future = [
        sale("A", "2026-03-30T23:59:59"),  # T+30, last second: inside (T, T+H]
        sale("B", "2026-03-31T00:00:00"),  # T+31: outside
        sale("E", "2026-01-05T00:00:00"),
        sale("E", "2026-03-10T00:00:00", status="refunded"),  # not completed: still churned
        sale("Z", "2026-06-30T00:00:00"),  # data runs well past the window
    ]
    rows = rows_by_customer(write_warehouse(tmp_path / "w.duckdb", HISTORY + future))
    assert rows["A"]["churned"] == 0
    assert rows["B"]["churned"] == 1
    assert rows["E"]["churned"] == 1


def test_labels_are_null_when_the_window_passes_the_data(tmp_path):
    path = write_warehouse(
        tmp_path / "w.duckdb", HISTORY + [sale("A", "2026-03-05T00:00:00"), sale("Z", "2026-03-15T00:00:00")]
    )
    assert {r["churned"] for r in rows_by_customer(path).values()} == {None}
    assert {r["churned"] for r in rows_by_customer(path, horizon=10).values()} == {0, 1}


def test_data_after_the_as_of_date_never_changes_the_features(tmp_path):
    """Leakage check: the future differs (A buys a lot and browses after T, B never comes
    back): the labels follow the future, the features do not move at all."""
    churner_future = [sale("Z", "2026-06-30T00:00:00")]
    loyal_future = churner_future + [
        sale("A", "2026-03-01T00:00:00", amount=999.0),  # exactly the cutoff: future
        sale("A", "2026-03-05T00:00:00", status="refunded", amount=500.0),
        sale("B", "2026-03-20T00:00:00"),
        click("A", "2026-03-01T00:00:00", "checkout", session="S9"),
        click("B", "2026-03-02T00:00:00", session="S8"),
    ]
    future_sales = [r for r in loyal_future if "sale_id" in r]
    future_clicks = [r for r in loyal_future if "user_id" in r]
    quiet = rows_by_customer(write_warehouse(tmp_path / "quiet.duckdb", HISTORY + churner_future, HISTORY_CLICKS))
    busy = rows_by_customer(
        write_warehouse(tmp_path / "busy.duckdb", HISTORY + future_sales, HISTORY_CLICKS + future_clicks)
    )
    for customer in ("A", "B"):
        assert {f: quiet[customer][f] for f in FEATURE_COLUMNS} == {f: busy[customer][f] for f in FEATURE_COLUMNS}
        assert (quiet[customer]["churned"], busy[customer]["churned"]) == (1, 0)


def test_missing_table_or_column_is_named(tmp_path):
    path = write_warehouse(tmp_path / "w.duckdb", HISTORY)
    with duckdb.connect(str(path)) as con:
        con.execute("ALTER TABLE winter_days_staging.stg_click DROP COLUMN is_bounce")
    with pytest.raises(FeatureError, match=r"winter_days_staging.stg_click lacks column\(s\) is_bounce"):
        rows_by_customer(path)
    with duckdb.connect(str(path)) as con:
        con.execute("DROP TABLE winter_days_warehouse.fct_sales_status_history")
    with pytest.raises(FeatureError, match="fct_sales_status_history does not exist"):
        rows_by_customer(path)


def test_as_of_dates_split_by_time_without_overlapping_label_windows():
    span = DataSpan(date(2026, 1, 1), date(2026, 6, 30))
    train, evaluation = training_as_of_dates(
        span, date(2026, 6, 30), 30, train_dates=4, step_days=14, min_history_days=14
    )
    assert evaluation == date(2026, 5, 31)
    assert train == [date(2026, 3, 20), date(2026, 4, 3), date(2026, 4, 17), date(2026, 5, 1)]
    # The last training label window (May 1, May 31] ends where evaluation starts.
    assert max(train).toordinal() + 30 <= evaluation.toordinal()


def test_too_short_a_history_is_a_clear_error():
    span = DataSpan(date(2026, 1, 1), date(2026, 2, 15))
    with pytest.raises(FeatureError, match="spans 45 days.*needs at least 74 days"):
        training_as_of_dates(span, span.last_day, 30, 4, 14, 14)
    assert minimum_history_days(30) == 74
    # Exactly the minimum gives one training date, on the first day it may be.
    enough = DataSpan(date(2026, 1, 1), date(2026, 1, 1) + timedelta(days=74))
    train, _ = training_as_of_dates(enough, enough.last_day, 30, 4, 14, 14)
    assert train == [date(2026, 1, 15)]


def test_features_see_each_sale_as_the_warehouse_knew_it_at_the_cutoff(tmp_path):
    """A refund and a late sale known only after T, and a click loaded after T, leave the
    rows of T as they were; a date after their arrival sees them."""
    paid = sale("A", "2026-02-25T12:00:00", amount=40.0, sale_id="X", seq=1)
    then = rows_by_customer(write_warehouse(tmp_path / "then.duckdb", HISTORY + [paid], HISTORY_CLICKS))
    arrived = [
        sale("A", "2026-02-25T12:00:00", "refunded", 40.0, sale_id="X", seq=2, known="2026-03-03T00:00:00"),
        sale("B", "2026-02-20T12:00:00", amount=7.0, known="2026-03-02T00:00:00"),
        sale("C", "2026-02-16T00:00:00", known="2026-03-04T00:00:00"),  # C's first completed purchase
    ]
    late_click = click("B", "2026-02-27T10:00:00", "add_to_cart", session="S7", loaded="2026-03-02T23:59:59")
    path = write_warehouse(tmp_path / "now.duckdb", HISTORY + [paid] + arrived, HISTORY_CLICKS + [late_click])
    assert rows_by_customer(path) == then

    later = rows_by_customer(path, as_of=date(2026, 3, 4))
    assert later["A"]["refund_rate"] == 2 / 5 and later["A"]["frequency"] == 2.0
    assert later["B"]["frequency"] == 2.0 and later["B"]["cart_events_30d"] == 1.0
    assert "C" in later


def test_labels_read_the_purchases_known_at_label_until(tmp_path):
    """A purchase inside the window that only arrives after label_until does not count yet:
    a training run repeated later gets the same labels."""
    comeback = sale("B", "2026-03-10T00:00:00", known="2026-04-15T00:00:00")
    path = write_warehouse(tmp_path / "w.duckdb", HISTORY + [comeback, sale("Z", "2026-04-20T00:00:00")])
    assert rows_by_customer(path, label_until=date(2026, 4, 10))["B"]["churned"] == 1
    assert rows_by_customer(path, label_until=date(2026, 4, 20))["B"]["churned"] == 0
