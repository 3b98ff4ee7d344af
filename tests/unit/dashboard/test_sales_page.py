"""The SQL behind every Sales and activity chart, on a warehouse whose answers are known by hand."""

from __future__ import annotations

from datetime import date

import pytest
from support.dashboard_rows import page_results

from winter_days.dashboard import sales_page


def results(path, **filters):
    return page_results(path, sales_page.QUERIES, **filters)


def test_totals_count_completed_sales_only(small_warehouse):
    totals = results(small_warehouse)["sales_totals"].records()[0]
    assert totals == {
        "revenue": 420.0,
        "orders": 5,
        "avg_order_value": 84.0,
        "customers": 5,
        "first_sale_date": "2026-01-15",
        "last_sale_date": "2026-03-04",
    }


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"start": date(2026, 3, 1)}, (380.0, 4, 95.0)),
        ({"region": "North"}, (190.0, 3, 63.33)),
        ({"start": date(2026, 3, 2), "end": date(2026, 3, 2)}, (80.0, 2, 40.0)),
        ({"region": "West"}, (0.0, 0, 0.0)),
    ],
)
def test_totals_follow_date_range_and_region(small_warehouse, filters, expected):
    totals = results(small_warehouse, **filters)["sales_totals"].records()[0]
    assert (totals["revenue"], totals["orders"], totals["avg_order_value"]) == expected


def test_revenue_over_time_is_daily_for_a_short_range(small_warehouse):
    rows = results(small_warehouse)["sales_over_time"].rows
    assert rows == (
        ("2026-01-15", "day", 40.0, 1, 40.0),
        ("2026-03-01", "day", 100.0, 1, 100.0),
        ("2026-03-02", "day", 80.0, 2, 40.0),
        ("2026-03-04", "day", 200.0, 1, 200.0),
    )


def test_revenue_breakdowns_largest_first(small_warehouse):
    found = results(small_warehouse)
    assert found["revenue_by_region"].rows == (("East", 200.0, 1), ("North", 190.0, 3), ("South", 30.0, 1))
    assert found["revenue_by_category"].rows == (("Home", 200.0, 1), ("Books", 150.0, 2), ("Toys", 70.0, 2))
    assert found["revenue_by_payment_method"].rows == (
        ("debit_card", 200.0, 1),
        ("credit_card", 140.0, 2),
        ("paypal", 80.0, 2),
    )
    assert found["amount_by_status"].rows == (
        ("completed", 420.0, 5),
        ("cancelled", 70.0, 1),
        ("refunded", 20.0, 1),
        ("pending", 15.0, 1),
    )


def test_top_customers_respect_top_n_and_region(small_warehouse):
    assert results(small_warehouse, top_n=2)["top_customers"].rows == (
        ("Customer 4", "East", 1, 200.0),
        ("Customer 1", "North", 2, 150.0),
    )
    assert results(small_warehouse, region="North")["top_customers"].column("customer_label") == [
        "Customer 1",
        "Customer 3",
    ]


def test_funnel_counts_sessions_reaching_each_step(small_warehouse):
    funnel = results(small_warehouse)["click_funnel"]
    assert funnel.column("sessions") == [4, 2, 1, 1, 1]
    assert funnel.column("share_of_sessions") == [1.0, 0.5, 0.25, 0.25, 0.25]
    one_day = results(small_warehouse, start=date(2026, 3, 2), end=date(2026, 3, 2))["click_funnel"]
    assert one_day.column("sessions") == [2, 1, 0, 0, 0]


def test_funnel_is_empty_when_no_session_is_in_range(small_warehouse):
    assert len(results(small_warehouse, start=date(2027, 1, 1))["click_funnel"]) == 0


def test_bounce_rates_by_device_and_referrer(small_warehouse):
    found = results(small_warehouse)
    assert found["bounce_by_device"].rows == (("desktop", 1, 0, 0.0), ("mobile", 2, 1, 0.5), ("tablet", 1, 1, 1.0))
    assert found["bounce_by_referrer"].rows == (
        ("(direct)", 2, 2, 1.0),
        ("google.com", 1, 0, 0.0),
        ("news.example", 1, 0, 0.0),
    )


def test_startups_count_current_versions_in_domain_order(small_warehouse):
    found = results(small_warehouse)
    assert found["startups_by_sector"].rows == (("ai", 2, 92.0), ("fintech", 1, 6.0))
    assert found["startups_by_funding_stage"].column("funding_stage") == ["seed", "series_a", "growth"]
    assert found["startups_by_valuation"].column("valuation_bucket") == ["under_10m", "10m_100m", "over_1b"]
    assert sum(found["startups_by_valuation"].column("startups")) == 3
