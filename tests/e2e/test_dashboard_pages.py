"""The dashboards in headless Chromium over a warehouse built by the real pipeline: pages load
without console errors and with no request leaving 127.0.0.1, charts are drawn with data, the
numbers shown equal the SQL, and the region filter changes the at-risk table."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def shot(browser_page, path) -> None:
    browser_page.page.screenshot(path=str(path), full_page=True)


def assert_clean(browser_page) -> None:
    assert browser_page.errors == [], f"console errors: {browser_page.errors}"
    assert browser_page.blocked == [], f"requests that left 127.0.0.1: {browser_page.blocked}"


def test_sales_page_charts_match_the_warehouse(laptop, base_url, warehouse_sql, tmp_path):
    laptop.open(f"{base_url}/dashboard/sales")
    shot(laptop, tmp_path / "sales-laptop.png")
    assert_clean(laptop)

    expected = dict(
        warehouse_sql(
            "SELECT region, ROUND(SUM(total_amount), 2) FROM winter_days_warehouse.fct_sales"
            " WHERE status = 'completed' GROUP BY region"
        )
    )
    assert expected, "the pipeline published no completed sales"
    regions = laptop.plotted("chart-revenue_by_region", "x")
    revenue = laptop.plotted("chart-revenue_by_region", "y")
    assert dict(zip(regions, revenue, strict=False)) == pytest.approx(expected)

    (total,) = warehouse_sql(
        "SELECT ROUND(SUM(total_amount), 2) FROM winter_days_warehouse.fct_sales WHERE status = 'completed'"
    )[0]
    shown = laptop.page.inner_text('[data-kpi="revenue"]').replace(",", "")
    assert float(shown) == pytest.approx(total)

    # A web session is counted per day it was active, from the click events themselves.
    sessions = warehouse_sql(
        "SELECT COUNT(*) FROM (SELECT DISTINCT event_date, session_id FROM winter_days_staging.stg_click)"
    )[0][0]
    assert laptop.plotted("chart-click_funnel", "x")[0] == sessions
    startups = warehouse_sql("SELECT COUNT(*) FROM winter_days_warehouse.dim_startup WHERE is_current")[0][0]
    assert sum(laptop.plotted("chart-startups_by_sector", "y")) == startups
    for chart in ("revenue_over_time", "bounce_by_device", "startups_by_valuation"):
        assert laptop.plotted(f"chart-{chart}", "y"), f"chart {chart} has no data"


def test_sales_date_and_region_filters_apply(laptop, base_url, warehouse_sql):
    start, end = warehouse_sql("SELECT MIN(sale_date) + 10, MIN(sale_date) + 40 FROM winter_days_warehouse.fct_sales")[
        0
    ]
    laptop.open(f"{base_url}/dashboard/sales?start={start}&end={end}&region=North")
    assert_clean(laptop)
    (revenue,) = warehouse_sql(
        "SELECT ROUND(SUM(total_amount), 2) FROM winter_days_warehouse.fct_sales WHERE status = 'completed'"
        " AND sale_date BETWEEN ? AND ? AND region = 'North'",
        [start, end],
    )[0]
    assert float(laptop.page.inner_text('[data-kpi="revenue"]').replace(",", "")) == pytest.approx(revenue)
    assert laptop.plotted("chart-revenue_by_region", "x") == ["North"]


def test_churn_page_region_filter_changes_the_at_risk_table(laptop, base_url, warehouse_sql, tmp_path):
    laptop.open(f"{base_url}/dashboard/churn")
    shot(laptop, tmp_path / "churn-laptop.png")
    assert_clean(laptop)
    latest = "(SELECT MAX(as_of_date) FROM winter_days_warehouse.fact_predictions_churn)"
    counts = dict(
        warehouse_sql(
            f"SELECT risk_tier, COUNT(*) FROM winter_days_warehouse.fact_predictions_churn WHERE as_of_date = {latest}"
            " GROUP BY risk_tier"
        )
    )
    tiers = laptop.plotted("chart-customers_per_tier", "x")
    assert dict(zip(tiers, laptop.plotted("chart-customers_per_tier", "y"), strict=False)) == {
        t: counts.get(t, 0) for t in tiers
    }
    assert sum(laptop.plotted("chart-probability_histogram", "y")) == sum(counts.values())

    def table_customers() -> list[str]:
        return laptop.page.eval_on_selector_all(
            "#top-at-risk-table tbody tr td:first-child", "cells => cells.map(c => c.textContent)"
        )

    everyone = table_customers()
    laptop.page.click('[data-region-link="North"]')
    laptop.page.wait_for_url("**region=North**")
    north = table_customers()
    # By expected revenue at risk (probability x completed revenue of the last 90 days), then
    # probability, lifetime value and absence.
    expected = [
        row[0]
        for row in warehouse_sql(
            f"SELECT c.customer_label FROM winter_days_warehouse.fact_predictions_churn AS p"
            f" JOIN winter_days_warehouse.dim_customer AS c USING (customer_id)"
            f" LEFT JOIN (SELECT customer_id, SUM(total_amount) AS revenue FROM winter_days_warehouse.fct_sales"
            f"   WHERE is_completed AND sale_date > {latest} - 90 AND sale_date <= {latest} GROUP BY customer_id) AS r"
            f"   USING (customer_id)"
            f" WHERE p.as_of_date = {latest} AND c.region = 'North'"
            f" ORDER BY p.churn_probability * COALESCE(r.revenue, 0) DESC, p.churn_probability DESC,"
            f" c.lifetime_value DESC, c.last_purchase_at, p.customer_id LIMIT 10"
        )
    ]
    assert north == expected and north != everyone
    regions = laptop.page.eval_on_selector_all(
        "#top-at-risk-table tbody tr td:nth-child(2)", "cells => cells.map(c => c.textContent)"
    )
    assert set(regions) == {"North"}

    champion = laptop.page.locator('[data-alias="champion"]')
    assert champion.count() == 1
    assert laptop.page.evaluate("() => document.querySelector('[data-alias=champion] img.roc').naturalWidth") > 0
    # The reliability curve is drawn, and the tiers say they are cut on calibrated probabilities.
    assert laptop.plotted("reliability-champion", "y", trace=1), "the champion's reliability curve has no data"
    assert "calibrated probabilities" in laptop.page.inner_text("#tier-definition")


def test_pipeline_page_shows_the_run_and_the_lineage(laptop, base_url, tmp_path):
    laptop.open(f"{base_url}/dashboard/pipeline")
    shot(laptop, tmp_path / "pipeline-laptop.png")
    assert_clean(laptop)
    assert laptop.page.locator("#runs-table tbody tr").count() >= 1
    assert "succeeded" in laptop.page.inner_text("#runs-table tbody tr:first-child")
    states = laptop.page.eval_on_selector_all(".lineage-node", "nodes => nodes.map(n => n.dataset.state)")
    assert states and set(states) == {"SUCCEEDED"}
    assert laptop.plotted("chart-step_durations", "y"), "step durations chart has no data"
    assert laptop.plotted("chart-row_accounting", "y"), "row accounting chart has no data"


@pytest.mark.parametrize("page", ["sales", "churn", "pipeline"])
def test_pages_fit_a_phone(phone, base_url, tmp_path, page):
    phone.open(f"{base_url}/dashboard/{page}")
    shot(phone, tmp_path / f"{page}-phone.png")
    assert_clean(phone)
    # Nothing but the scrollable tables and the lineage picture is wider than the screen.
    overflow = phone.page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
