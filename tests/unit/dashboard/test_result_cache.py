"""Page results kept per published warehouse state: a repeated view reads no table, a publish
or a predictions write is seen on the next view, and memory stays bounded."""

from __future__ import annotations

import itertools
import os
import re
from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa
import pytest
from support.dashboard_rows import build_small_warehouse, make_client
from support.recording_warehouse import RecordingProfile

from winter_days.dashboard.result_cache import PageResultCache
from winter_days.platform import Platform
from winter_days.warehouse.duckdb.files import wait_for_after_write
from winter_days.warehouse.tables import PREDICTIONS


@pytest.fixture
def counted(install):
    """A test client, and the warehouse whose `queries` lists every query the pages sent."""
    platform = Platform(install, RecordingProfile())
    yield make_client(install, platform), platform.warehouse
    wait_for_after_write()
    platform.close()


def kpi(page: str, name: str) -> str:
    return re.search(rf'data-kpi="{name}">([^<]*)<', page).group(1)


def test_a_second_view_issues_no_query(counted):
    client, warehouse = counted
    first = client.get("/dashboard/sales?region=North").get_data(as_text=True)
    assert len(warehouse.queries) >= 10
    sent = len(warehouse.queries)

    again = client.get("/dashboard/sales?region=North").get_data(as_text=True)
    csv = client.get("/dashboard/csv/sales/revenue_by_region.csv?region=North")
    assert len(warehouse.queries) == sent
    assert again == first and csv.get_data(as_text=True).splitlines()[1] == "North,190.0,3"

    client.get("/dashboard/sales?region=South")  # other filters: other rows
    assert len(warehouse.queries) == 2 * sent


def test_a_publish_changes_what_the_page_shows(counted, install, tmp_path):
    client, _ = counted
    assert kpi(client.get("/dashboard/sales").get_data(as_text=True), "revenue") == "420.00"
    # A run publishes by moving a complete new file over the published one.
    staged = build_small_warehouse(tmp_path / "next.duckdb")
    con = duckdb.connect(str(staged))
    con.execute(
        "INSERT INTO winter_days_warehouse.fct_sales VALUES ('S9', 'C6', 'South', 'Toys', 'paypal', 'completed',"
        " 100.0, TIMESTAMPTZ '2026-03-06 10:00:00+00', DATE '2026-03-06', TRUE)"
    )
    con.close()
    os.replace(staged, install.warehouse_path)
    assert kpi(client.get("/dashboard/sales").get_data(as_text=True), "revenue") == "520.00"


def test_a_predictions_write_changes_the_churn_page(counted):
    client, warehouse = counted

    def at_risk() -> list[str]:
        page = client.get("/dashboard/churn").get_data(as_text=True)
        table = page.split('id="top-at-risk-table"')[1].split("</table>")[0]
        return [f"C{n}" for n in re.findall(r"<tr><td>Customer (\d)</td>", table)]

    assert at_risk() == ["C4", "C2", "C3", "C1", "C5"]  # by expected revenue at risk
    as_of = date(2026, 3, 6)
    warehouse.replace_partition(
        PREDICTIONS,
        pa.table(
            {
                "customer_id": ["C1"],
                "churn_probability": [0.9],
                "risk_tier": ["high"],
                "model_version": ["v2"],
                "as_of_date": [as_of],
                "scored_at": [datetime(2026, 3, 6, 2, tzinfo=UTC)],
            }
        ),
        as_of,
    )
    assert at_risk() == ["C1"]


def test_the_least_recently_used_entry_goes_first():
    cache: PageResultCache[str] = PageResultCache(max_entries=2)
    cache.put("a", "rows of a")
    cache.put("b", "rows of b")
    assert cache.get("a") == "rows of a"  # now b is the least recently used
    cache.put("c", "rows of c")
    assert (cache.get("a"), cache.get("b"), cache.get("c"), len(cache)) == ("rows of a", None, "rows of c", 2)


def test_nothing_is_kept_unpublished_or_across_a_publish_during_the_read():
    cache: PageResultCache[str] = PageResultCache()
    versions = itertools.chain(["v1"], itertools.repeat("v2"))
    computed: list[str] = []

    def compute() -> str:
        computed.append("x")
        return f"rows {len(computed)}"

    # v1 when the read began, v2 when it ended: the rows may be either state's.
    assert cache.read_through(lambda: next(versions), "page", compute) == "rows 1"
    assert cache.read_through(lambda: next(versions), "page", compute) == "rows 2"
    assert cache.read_through(lambda: next(versions), "page", compute) == "rows 2"
    assert cache.read_through(lambda: None, "page", compute) == "rows 3"
    assert cache.read_through(lambda: None, "page", compute) == "rows 4"
