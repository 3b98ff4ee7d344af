"""What each page query reads, from its SQL: only tables it declares (so an unpublished one
gives the page's hint rather than a failed query), and no staging table.

On BigQuery a page view is billed for every table it scans, so the pages read gold tables.
The one exception is the pipeline page, which shows the published run's row accounting and
quarantine reasons: those live beside the staging tables but are small (one row per flow,
one per quarantined row), never the click events of stg_click.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlglot
from sqlglot import exp

from winter_days.dashboard import churn_page, pipeline_page, sales_page
from winter_days.dashboard.filters import DashboardFilters
from winter_days.warehouse import tables

PAGES = {"sales": sales_page.QUERIES, "churn": churn_page.QUERIES, "pipeline": pipeline_page.QUERIES}
SMALL_STAGING_TABLES = {
    tables.FLOW_ROW_ACCOUNTING,
    tables.STG_SALES_QUARANTINE,
    tables.STG_CLICK_QUARANTINE,
    tables.STG_STARTUP_QUARANTINE,
}
FILTERS = (
    DashboardFilters(),
    DashboardFilters(start=date(2026, 3, 1), end=date(2026, 3, 31), region="North", risk_tier="high", top_n=5),
)


def tables_read(sql: str) -> set[tables.TableName]:
    """Every dataset-qualified table the statement names (CTE names have no dataset)."""
    tree = sqlglot.parse_one(sql, read="bigquery")
    return {tables.TableName(t.db, t.name) for t in tree.find_all(exp.Table) if t.db}


@pytest.mark.parametrize(
    "page,query",
    [(p, q) for p, queries in PAGES.items() for q in queries],
    ids=lambda v: v if isinstance(v, str) else v.id,
)
def test_a_page_query_reads_only_declared_tables_and_no_staging_table(page, query):
    for filters in FILTERS:
        read = tables_read(query.build(filters)[0])
        assert read <= set(query.needs), (
            f"{page}/{query.id} reads {sorted(map(str, read - set(query.needs)))} undeclared"
        )
        staging = {t for t in read if t.dataset == tables.STAGING}
        allowed = SMALL_STAGING_TABLES if page == "pipeline" else set()
        assert staging <= allowed, f"{page}/{query.id} scans staging tables {sorted(map(str, staging - allowed))}"
