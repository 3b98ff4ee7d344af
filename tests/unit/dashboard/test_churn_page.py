"""The SQL behind the Churn page: latest predictions only, region and tier filters, revenue at risk."""

from __future__ import annotations

import duckdb
import pytest
from support.dashboard_rows import build_small_warehouse, page_results

from winter_days.dashboard import churn_page
from winter_days.ml.registry import Registry
from winter_days.stores import LocalLake


def results(path, **filters):
    return page_results(path, churn_page.QUERIES, **filters)


def test_summary_uses_the_latest_batch_and_90_days_of_revenue(small_warehouse):
    summary = results(small_warehouse)["churn_summary"].records()[0]
    assert summary == {
        "as_of_date": "2026-03-05",
        "model_version": "v1",
        "customers_scored": 5,
        "high_risk_customers": 3,
        "mean_churn_probability": 0.544,
        "high_risk_revenue_90d": 70.0,
        "expected_revenue_at_risk_90d": 121.0,
    }


def test_customers_and_revenue_per_tier(small_warehouse):
    assert results(small_warehouse)["customers_per_tier"].rows == (
        ("high", 3, 70.0, 46.0),
        ("medium", 1, 200.0, 60.0),
        ("low", 1, 150.0, 15.0),
    )


def test_histogram_has_every_bin_and_counts_each_customer_once(small_warehouse):
    histogram = results(small_warehouse)["probability_histogram"]
    assert len(histogram) == churn_page.HISTOGRAM_BINS
    counts = dict(zip(histogram.column("bin_start"), histogram.column("customers"), strict=False))
    assert sum(counts.values()) == 5
    assert {k: v for k, v in counts.items() if v} == {0.1: 1, 0.3: 1, 0.55: 1, 0.8: 1, 0.95: 1}


@pytest.mark.parametrize(
    ("filters", "customers"),
    [
        # Expected revenue at risk: C4 0.30 x 200 = 60, C2 0.80 x 30 = 24, C3 0.55 x 40 = 22,
        # C1 0.10 x 150 = 15, C5 0.97 x 0 (nothing completed) = 0.
        ({}, ["C4", "C2", "C3", "C1", "C5"]),
        ({"top_n": 2}, ["C4", "C2"]),
        ({"region": "North"}, ["C3", "C1"]),
        ({"region": "North", "risk_tier": "high"}, ["C3"]),
        ({"risk_tier": "medium"}, ["C4"]),
    ],
)
def test_top_at_risk_follows_region_tier_and_top_n(small_warehouse, filters, customers):
    # Shown by label (no personal data), in the order of the customers' risk.
    assert results(small_warehouse, **filters)["top_at_risk"].column("customer_label") == [
        f"Customer {c[1:]}" for c in customers
    ]


def test_top_at_risk_shows_the_expected_loss_and_breaks_ties_by_value_then_absence(small_warehouse):
    con = duckdb.connect(str(small_warehouse))
    # Three customers with nothing at risk in the last 90 days and the same probability: the
    # one worth more comes first, then the one absent longer; never the id order.
    con.execute("""INSERT INTO winter_days_warehouse.dim_customer VALUES
        ('C6', 'Customer 6', 'East', TIMESTAMPTZ '2025-06-01 00:00:00+00', 10.0),
        ('C7', 'Customer 7', 'East', TIMESTAMPTZ '2025-09-01 00:00:00+00', 500.0),
        ('C8', 'Customer 8', 'East', TIMESTAMPTZ '2025-03-01 00:00:00+00', 10.0)""")
    con.execute("""INSERT INTO winter_days_warehouse.fact_predictions_churn VALUES
        ('C6', 0.6, 'high', 'v1', '2026-03-05', now()), ('C7', 0.6, 'high', 'v1', '2026-03-05', now()),
        ('C8', 0.6, 'high', 'v1', '2026-03-05', now())""")
    con.close()
    top = results(small_warehouse, top_n=20)["top_at_risk"]
    assert top.column("customer_label") == [f"Customer {n}" for n in (4, 2, 3, 1, 5, 7, 8, 6)]
    assert top.records()[0]["expected_revenue_at_risk_90d"] == 60.0 and top.records()[0]["revenue_90d"] == 200.0


def test_model_cards_show_the_gate_interval_the_calibration_and_the_lineage(tmp_path):
    lake = LocalLake(tmp_path / "lake")
    registry = Registry(lake)
    bins = [
        {"bin_lower": 0.1, "bin_upper": 0.2, "count": 40, "mean_predicted": 0.15, "observed_rate": 0.2},
        {"bin_lower": 0.6, "bin_upper": 0.7, "count": 10, "mean_predicted": 0.65, "observed_rate": 0.6},
    ]
    comparison = {
        "reference_version": "20260301-aaaa",
        "difference": 0.021,
        "interval": [0.004, 0.038],
        "confidence": 0.95,
        "rows": 812,
        "method": "DeLong",
        "candidate_auc": 0.85,
        "reference_auc": 0.829,
        "standard_error": 0.0087,
    }
    for version, metrics in (
        ("20260301-aaaa", {"candidate": {"roc_auc": 0.829}}),
        (
            "20260308-bbbb",
            {
                "candidate": {"roc_auc": 0.85, "ece": 0.012, "calibration": bins},
                "uncalibrated": {"calibration": bins[:1]},
                "comparison": comparison,
            },
        ),
    ):
        registry.save_version(
            version,
            model=b"m",
            baseline=b"b",
            metrics=metrics,
            features=["recency_days"],
            curves={},
            manifest={
                "as_of": f"2026-03-0{version[7]}",
                "training_fingerprint": version,
                "calibration": {
                    "method": "isotonic",
                    "rows": 900,
                    "brier_out_of_fold": {"isotonic": 0.151, "platt": 0.153},
                },
                "training_window": {
                    "train_as_of_dates": ["2026-01-01"],
                    "evaluation_as_of_date": "2026-02-06",
                    "labels_known_at": "2026-03-08",
                },
                "data_fingerprint": "ab" * 32,
                "source": {"commit": "c0ffee" * 6 + "abcd", "dirty": False},
                "package_version": "0.1.0",
            },
        )
    registry.apply_gate("20260301-aaaa", 0.0, 0.6)
    registry.apply_gate("20260308-bbbb", 0.0, 0.6, comparison)
    [card] = churn_page.model_cards(lake)
    assert (card.alias, card.version) == ("champion", "20260308-bbbb")
    assert card.comparison["interval"] == [0.004, 0.038]
    assert "not worse at 95% confidence" in card.decision
    assert card.calibration.startswith("isotonic calibration on 900 held-out rows")
    assert ("Source commit", "c0ffeec0ffee") in card.lineage and ("Labels as known on", "2026-03-08") in card.lineage
    assert ("Expected calibration error", 0.012) in card.metrics
    names = [trace["name"] for trace in card.reliability["data"]]
    assert names == ["Perfect", "Calibrated", "Before calibration"]
    assert card.reliability["data"][1]["y"] == [0.2, 0.6]
    assert len(card.reliability_rows) == 3


def test_region_filter_narrows_the_summary(small_warehouse):
    summary = results(small_warehouse, region="North")["churn_summary"].records()[0]
    assert (summary["customers_scored"], summary["high_risk_customers"]) == (2, 1)


def test_no_predictions_table_gives_the_run_the_pipeline_state(tmp_path):
    path = build_small_warehouse(tmp_path / "w.duckdb", with_predictions=False)
    found = results(path)
    assert found["churn_summary"] is None and found["top_at_risk"] is None
    assert "run the pipeline" in churn_page.NO_PREDICTIONS


def test_without_predictions_the_page_says_what_the_latest_ml_step_said():
    young = {
        "run_id": "r2",
        "steps": [
            {"name": "export_sales", "counts": {"rows": 40}},
            {
                "name": "ml",
                "counts": {
                    "as_of": "2026-01-12",
                    "training": "skipped: not enough history (11 of 74 days)",
                    "scoring": "skipped: no model trained on data up to 2026-01-12 yet",
                },
            },
        ],
    }
    without_ml = {
        "run_id": "r3",
        "steps": [{"name": "ml", "counts": {"skipped": "not requested for this run (ml=false)"}}],
    }
    hint = churn_page.no_predictions_hint([without_ml, young])
    assert hint == (
        "no predictions yet: the ML step of run r2 (as of 2026-01-12) says training skipped: not enough "
        "history (11 of 74 days); scoring skipped: no model trained on data up to 2026-01-12 yet"
    )
    empty = {
        "run_id": "r0",
        "steps": [{"name": "ml", "counts": {"as_of": None, "training": "skipped: no sales in the warehouse yet"}}],
    }
    assert churn_page.no_predictions_hint([empty]) == (
        "no predictions yet: the ML step of run r0 says training skipped: no sales in the warehouse yet"
    )
    failed_early = {"run_id": "r1", "steps": [{"name": "export_sales", "status": "FAILED", "counts": None}]}
    assert (
        churn_page.no_predictions_hint([failed_early])
        == churn_page.NO_PREDICTIONS
        == churn_page.no_predictions_hint([])
    )
