"""The SQL behind the Churn page: latest predictions only, region and tier filters, revenue at risk."""

from __future__ import annotations

import pytest

from winter_days.dashboard import churn_page

from support.dashboard_rows import build_small_warehouse, page_results


def results(path, **filters):
    return page_results(path, churn_page.QUERIES, **filters)


def test_summary_uses_the_latest_batch_and_90_days_of_revenue(small_warehouse):
    summary = results(small_warehouse)["churn_summary"].records()[0]
    assert summary == {
        "as_of_date": "2026-03-05", "model_version": "v1", "customers_scored": 5, "high_risk_customers": 3,
        "mean_churn_probability": 0.544, "high_risk_revenue_90d": 70.0, "expected_revenue_at_risk_90d": 121.0,
    }


def test_customers_and_revenue_per_tier(small_warehouse):
    assert results(small_warehouse)["customers_per_tier"].rows == (
        ("high", 3, 70.0, 46.0), ("medium", 1, 200.0, 60.0), ("low", 1, 150.0, 15.0)
    )


def test_histogram_has_every_bin_and_counts_each_customer_once(small_warehouse):
    histogram = results(small_warehouse)["probability_histogram"]
    assert len(histogram) == churn_page.HISTOGRAM_BINS
    counts = dict(zip(histogram.column("bin_start"), histogram.column("customers")))
    assert sum(counts.values()) == 5
    assert {k: v for k, v in counts.items() if v} == {0.1: 1, 0.3: 1, 0.55: 1, 0.8: 1, 0.95: 1}


@pytest.mark.parametrize(
    ("filters", "customers"),
    [
        ({}, ["C5", "C2", "C3", "C4", "C1"]),
        ({"top_n": 2}, ["C5", "C2"]),
        ({"region": "North"}, ["C3", "C1"]),
        ({"region": "North", "risk_tier": "high"}, ["C3"]),
        ({"risk_tier": "medium"}, ["C4"]),
    ],
)
def test_top_at_risk_follows_region_tier_and_top_n(small_warehouse, filters, customers):
    # Shown by label (no personal data), in the order of the customers' risk.
    assert results(small_warehouse, **filters)["top_at_risk"].column("customer_label") == [f"Customer {c[1:]}" for c in customers]


def test_region_filter_narrows_the_summary(small_warehouse):
    summary = results(small_warehouse, region="North")["churn_summary"].records()[0]
    assert (summary["customers_scored"], summary["high_risk_customers"]) == (2, 1)


def test_no_predictions_table_gives_the_run_the_pipeline_state(tmp_path):
    path = build_small_warehouse(tmp_path / "w.duckdb", with_predictions=False)
    found = results(path)
    assert found["churn_summary"] is None and found["top_at_risk"] is None
    assert "run the pipeline" in churn_page.NO_PREDICTIONS
