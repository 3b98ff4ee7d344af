"""The pages through Flask's test client: numbers on the page and in the CSV come from the SQL,
empty states say what to do, bad filters are 400s, and Plotly is served by the app itself."""

from __future__ import annotations

import csv
import io
import re

import duckdb
from support.dashboard_rows import make_client

from winter_days.runs.sqlite import SqliteRunStore


def test_sales_page_shows_the_totals_and_every_chart(install):
    page = make_client(install).get("/dashboard/sales").get_data(as_text=True)
    assert re.search(r'data-kpi="revenue">420\.00<', page)
    assert re.search(r'data-kpi="orders">5<', page)
    for chart in ("revenue_over_time", "revenue_by_region", "click_funnel", "bounce_by_referrer", "startups_by_sector"):
        assert f'id="chart-{chart}-figure"' in page
    assert "cdn" not in page.lower() and "https://" not in page


def test_csv_download_holds_the_rows_of_the_chart_with_the_filters(install):
    response = make_client(install).get("/dashboard/csv/sales/revenue_by_region.csv?region=North")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert list(csv.reader(io.StringIO(response.get_data(as_text=True)))) == [
        ["region", "revenue", "orders"],
        ["North", "190.0", "3"],
    ]


def test_churn_region_filter_changes_the_at_risk_table(install):
    client = make_client(install)
    everyone = client.get("/dashboard/churn").get_data(as_text=True)
    north = client.get("/dashboard/churn?region=North&risk_tier=high&top_n=5").get_data(as_text=True)

    def customers(page):
        table = page.split('id="top-at-risk-table"')[1].split("</table>")[0]
        return re.findall(r"<tr><td>Customer (\d)</td>", table)

    assert customers(everyone) == ["4", "2", "3", "1", "5"]  # by expected revenue at risk
    assert customers(north) == ["3"]
    assert 'href="/dashboard/churn?region=North"' in everyone


def test_pages_without_a_warehouse_say_to_run_the_pipeline(settings):
    client = make_client(settings)
    for page in ("sales", "churn", "pipeline"):
        response = client.get(f"/dashboard/{page}")
        assert response.status_code == 200
        assert "run the pipeline" in response.get_data(as_text=True)
    assert "no predictions yet: run the pipeline" in client.get("/dashboard/churn").get_data(as_text=True)


def test_a_bad_filter_is_a_400_naming_it(install):
    response = make_client(install).get("/dashboard/sales?start=yesterday")
    assert response.status_code == 400
    assert "start: expected a date YYYY-MM-DD" in response.get_data(as_text=True)


def test_a_warehouse_held_by_a_writer_answers_busy(install, monkeypatch):
    monkeypatch.setattr("winter_days.warehouse.duckdb.BUSY_RETRY_SECONDS", 0.3)
    writer = duckdb.connect(str(install.warehouse_path))  # a read-write holder in this process
    try:
        response = make_client(install).get("/dashboard/sales")
    finally:
        writer.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "try again in a few seconds" in response.get_data(as_text=True)


def test_an_unreadable_warehouse_names_the_file_and_the_rebuild_command(install):
    install.warehouse_path.write_bytes(b"")
    client = make_client(install)
    for page in ("sales", "churn", "pipeline"):
        response = client.get(f"/dashboard/{page}")
        assert response.status_code == 503
        text = response.get_data(as_text=True)
        assert f"the warehouse {install.warehouse_path} cannot be read" in text and "winter-days elt rebuild" in text


def test_plotly_is_served_from_the_installed_package(install):
    import plotly

    response = make_client(install).get("/dashboard/assets/plotly.min.js")
    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert b"plotly.js" in response.data[:2000] and len(response.data) > 1_000_000
    again = make_client(install).get(
        "/dashboard/assets/plotly.min.js", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304
    assert plotly.__version__


def test_pipeline_page_lists_runs_and_per_run_quarantine(install):
    history = SqliteRunStore(install.run_store_path)
    steps = ["export_sales", "compile", "invoke", "poll", "ml"]
    run_id = history.start_run(steps, {"kind": "test"}, {}).run_id
    for position, name in enumerate(steps):
        history.step_started(run_id, position)
        counts = {"rows_quarantined_sales": 2, "rows_quarantined_startup": 1} if name == "poll" else {}
        history.step_finished(run_id, position, "succeeded", 0.5 + position, counts)
    history.finish_run(run_id)
    page = make_client(install).get("/dashboard/pipeline").get_data(as_text=True)
    assert f'data-run="{run_id}"' in page
    checks = page.split('id="checks-table"')[1].split("</table>")[0]
    cells = re.findall(r"<td>(.*?)</td>", checks)
    # run, status, assertions passed, failed, then quarantined per flow the run counted: sales, startup
    assert cells[1:2] == ["succeeded"] and int(cells[2]) > 10 and cells[3:] == ["0", "2", "1"]
    assert 'class="lineage"' in page and 'data-state="SUCCEEDED"' in page


def test_csv_for_an_unknown_query_is_404(install):
    assert make_client(install).get("/dashboard/csv/sales/nothing.csv").status_code == 404
