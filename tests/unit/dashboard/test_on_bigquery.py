"""Every dashboard query gives on BigQuery (the fake, through the real client and the gcp
adapter) the rows it gives on the local DuckDB warehouse, for the same published tables:
the pages' SQL is written once, in BigQuery dialect."""

from __future__ import annotations

from datetime import date

import pytest
from support.warehouse_tables import bigquery_warehouse, duckdb_tables, gcp_settings, publish_bigquery

from winter_days.dashboard.blueprint import PAGE_QUERIES
from winter_days.dashboard.charts import run_queries
from winter_days.dashboard.filters import DashboardFilters
from winter_days.warehouse.duckdb import DuckDBWarehouse

pytestmark = pytest.mark.slow

FILTERS = (
    DashboardFilters(),
    DashboardFilters(start=date(2026, 3, 1), end=date(2026, 3, 3), region="North"),
    DashboardFilters(risk_tier="high", top_n=2),
)


def close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return a == b


def test_every_page_query_gives_the_same_rows_on_bigquery(small_warehouse, tmp_path, bigquery_fake, bigquery_client):
    publish_bigquery(bigquery_client, duckdb_tables(small_warehouse))
    remote = bigquery_warehouse(gcp_settings(tmp_path, bigquery_fake.endpoint))
    compared = 0
    try:
        for page, queries in PAGE_QUERIES.items():
            for filters in FILTERS:
                with DuckDBWarehouse(small_warehouse).reader() as reader:
                    expected = run_queries(reader, queries, filters)
                with remote.reader() as reader:
                    got = run_queries(reader, queries, filters)
                for query_id, local in expected.items():
                    where = f"{page}/{query_id} with {filters}"
                    if local is None:
                        assert got[query_id] is None, where
                        continue
                    assert got[query_id].columns == local.columns, where
                    assert len(got[query_id].rows) == len(local.rows), where
                    for mine, theirs in zip(got[query_id].rows, local.rows, strict=True):
                        assert all(close(a, b) for a, b in zip(mine, theirs, strict=True)), (
                            f"{where}: {mine} != {theirs}"
                        )
                    compared += bool(local.rows)
    finally:
        remote.client.close()
    assert compared >= 15, "too few queries returned rows to compare"
