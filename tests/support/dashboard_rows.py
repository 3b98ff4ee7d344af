"""A small published warehouse with hand-written rows, so expected numbers are computed by hand."""

from __future__ import annotations

from pathlib import Path

import duckdb
from flask import Flask

from winter_days.dashboard import make_dashboard_blueprint
from winter_days.dashboard.charts import run_queries
from winter_days.dashboard.filters import DashboardFilters
from winter_days.platform import Platform, build_platform
from winter_days.warehouse.duckdb import DuckDBWarehouse

REPOSITORY = Path(__file__).resolve().parents[2]

# sale_id, customer, region, category, payment, status, amount, timestamp (UTC)
SALES = [
    ("S1", "C1", "North", "Books", "credit_card", "completed", 100.0, "2026-03-01 10:00:00"),
    ("S2", "C1", "North", "Books", "paypal", "completed", 50.0, "2026-03-02 11:00:00"),
    ("S3", "C2", "South", "Toys", "paypal", "completed", 30.0, "2026-03-02 12:00:00"),
    ("S4", "C2", "South", "Toys", "paypal", "refunded", 20.0, "2026-03-03 09:00:00"),
    ("S5", "C3", "North", "Home", "gift_card", "cancelled", 70.0, "2026-03-03 23:30:00"),
    ("S6", "C4", "East", "Home", "debit_card", "completed", 200.0, "2026-03-04 08:00:00"),
    ("S7", "C5", "West", "Books", "bank_transfer", "pending", 15.0, "2026-03-04 09:00:00"),
    ("S8", "C3", "North", "Toys", "credit_card", "completed", 40.0, "2026-01-15 09:00:00"),
]

# Web sessions (fct_web_sessions): event_date, session, user, events, funnel depth
# (1 page_view .. 5 purchase), bounced, device and referrer of the first event. The pages
# never read the click events (stg_click), so this warehouse has none.
WEB_SESSIONS = [
    ("2026-03-01", "A", "C1", 5, 5, False, "desktop", "google.com"),
    ("2026-03-02", "B", None, 1, 1, True, "mobile", None),
    ("2026-03-02", "C", None, 2, 2, False, "mobile", "news.example"),
    ("2026-03-05", "D", "C2", 1, 1, True, "tablet", None),
]

# startup_id, version, sector, stage, stage score, bucket, funding, is_current
STARTUPS = [
    ("T1", 1, "fintech", "seed", 2, "under_10m", 1_000_000.0, False),
    ("T1", 2, "fintech", "series_a", 3, "10m_100m", 6_000_000.0, True),
    ("T2", 1, "ai", "seed", 2, "under_10m", 2_000_000.0, True),
    ("T3", 1, "ai", "growth", 6, "over_1b", 90_000_000.0, True),
]

# customer_id, churn probability, tier
PREDICTIONS = [
    ("C1", 0.10, "low"),
    ("C2", 0.80, "high"),
    ("C3", 0.55, "high"),
    ("C4", 0.30, "medium"),
    ("C5", 0.97, "high"),
]
AS_OF = "2026-03-05"


def build_small_warehouse(path: Path, with_predictions: bool = True) -> Path:
    """Write the tables the dashboards read, with the rows above."""
    con = duckdb.connect(str(path))
    con.execute("SET TimeZone = 'UTC'")
    for schema in ("winter_days_staging", "winter_days_warehouse"):
        con.execute(f"CREATE SCHEMA {schema}")
    con.execute(
        """CREATE TABLE winter_days_warehouse.fct_sales (sale_id VARCHAR, customer_id VARCHAR, region VARCHAR,
        product_category VARCHAR, payment_method VARCHAR, status VARCHAR, total_amount DOUBLE,
        sale_timestamp TIMESTAMPTZ, sale_date DATE, is_completed BOOLEAN)"""
    )
    con.executemany(
        "INSERT INTO winter_days_warehouse.fct_sales VALUES (?, ?, ?, ?, ?, ?, ?, ?::TIMESTAMPTZ,"
        " CAST(?::TIMESTAMPTZ AS DATE), ? = 'completed')",
        [(*row, row[7], row[5]) for row in SALES],
    )
    con.execute(
        """CREATE TABLE winter_days_warehouse.fct_web_sessions (event_date DATE, session_id VARCHAR, user_id VARCHAR,
        events BIGINT, funnel_depth BIGINT, is_bounce BOOLEAN, device_type_category VARCHAR, referrer_domain VARCHAR)"""
    )
    con.executemany("INSERT INTO winter_days_warehouse.fct_web_sessions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", WEB_SESSIONS)
    con.execute(
        """CREATE TABLE winter_days_warehouse.dim_startup (startup_id VARCHAR, version BIGINT, sector VARCHAR,
        funding_stage VARCHAR, funding_stage_score BIGINT, valuation_bucket VARCHAR, total_funding_usd DOUBLE,
        is_current BOOLEAN)"""
    )
    con.executemany("INSERT INTO winter_days_warehouse.dim_startup VALUES (?, ?, ?, ?, ?, ?, ?, ?)", STARTUPS)
    con.execute(
        """CREATE TABLE winter_days_warehouse.dim_customer AS
        SELECT customer_id, 'Customer ' || substr(customer_id, 2) AS customer_label, arg_max(region, sale_timestamp) AS region,
               MAX(sale_timestamp) AS last_purchase_at,
               ROUND(SUM(IF(status = 'completed', total_amount, 0)), 2) AS lifetime_value
        FROM winter_days_warehouse.fct_sales GROUP BY customer_id"""
    )
    if with_predictions:
        con.execute(
            """CREATE TABLE winter_days_warehouse.fact_predictions_churn (customer_id VARCHAR NOT NULL,
            churn_probability DOUBLE NOT NULL, risk_tier VARCHAR NOT NULL, model_version VARCHAR NOT NULL,
            as_of_date DATE NOT NULL, scored_at TIMESTAMPTZ NOT NULL)"""
        )
        con.executemany(
            "INSERT INTO winter_days_warehouse.fact_predictions_churn VALUES (?, ?, ?, 'v1', ?, now())",
            [(c, p, t, AS_OF) for c, p, t in PREDICTIONS],
        )
        # An older batch that the page must not mix in.
        con.execute(
            "INSERT INTO winter_days_warehouse.fact_predictions_churn VALUES ('C1', 0.99, 'high', 'v0', '2026-02-01', now())"
        )
    con.execute(
        """CREATE TABLE winter_days_staging.flow_row_accounting AS SELECT * FROM (VALUES
        ('sales', 10, 7, 2, 1), ('clickstream', 9, 9, 0, 0), ('startup', 5, 4, 1, 0))
        AS t(flow, rows_in_bronze, rows_staged, rows_quarantined, duplicates_removed)"""
    )
    for table, rows in (
        (
            "stg_sales_quarantine",
            [("sales", "invalid value: region = Mars"), ("sales", "invalid value: region = Moon")],
        ),
        ("stg_click_quarantine", []),
        ("stg_startup_quarantine", [("startup", "unparseable JSON line")]),
    ):
        con.execute(f"CREATE TABLE winter_days_staging.{table} (flow VARCHAR, reason VARCHAR)")
        if rows:
            con.executemany(f"INSERT INTO winter_days_staging.{table} VALUES (?, ?)", rows)
    con.close()
    return path


def page_results(path: Path, queries, **filters):
    """Every query of a page over the warehouse at `path`, with the given filters."""
    with DuckDBWarehouse(path).reader() as reader:
        return run_queries(reader, queries, DashboardFilters(**filters))


def make_client(settings, platform: Platform | None = None):
    """A Flask test client of the dashboards over `platform` (default: the settings' own)."""
    app = Flask("dashboard_test")
    app.register_blueprint(make_dashboard_blueprint(platform or build_platform(settings)))
    return app.test_client()
