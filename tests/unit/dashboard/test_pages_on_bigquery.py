"""The pages on the gcp profile's warehouse adapter: the small warehouse's tables loaded into
the BigQuery fake (driven by google-cloud-bigquery), the same numbers on the page as on
DuckDB, and a repeated view sends BigQuery no query."""

from __future__ import annotations

import io
import re

import duckdb
import pyarrow.parquet as pq
import pytest

bigquery = pytest.importorskip(
    "google.cloud.bigquery", reason="google-cloud-bigquery (the [gcp] extra) is not installed"
)

from support.dashboard_rows import make_client  # noqa: E402
from support.recording_warehouse import RecordingProfile  # noqa: E402

from winter_days.platform import Platform  # noqa: E402
from winter_days.warehouse.bigquery import BigQueryWarehouse  # noqa: E402


@pytest.fixture
def on_bigquery(install, bigquery_fake, bigquery_client):
    """A test client of the pages over the fake, holding every table of the small warehouse."""
    con = duckdb.connect(str(install.warehouse_path), read_only=True)
    tables = con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall()
    for dataset in sorted({schema for schema, _ in tables}):
        bigquery_client.create_dataset(dataset)
    for dataset, name in tables:
        buffer = io.BytesIO()
        pq.write_table(con.sql(f"SELECT * FROM {dataset}.{name}").to_arrow_table(), buffer)
        buffer.seek(0)
        config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.PARQUET)
        bigquery_client.load_table_from_file(buffer, f"winter-proj.{dataset}.{name}", job_config=config).result()
    con.close()
    warehouse = BigQueryWarehouse(bigquery_client, "winter-proj", location="EU")
    platform = Platform(install, RecordingProfile(lambda: warehouse))
    yield make_client(install, platform), platform.warehouse
    platform.close()


def test_the_sales_page_reads_bigquery_once_per_published_state(on_bigquery, bigquery_fake):
    client, warehouse = on_bigquery

    def jobs_inserted() -> int:
        return len(bigquery_fake.requests_to("POST", "/jobs"))

    loads = jobs_inserted()
    page = client.get("/dashboard/sales").get_data(as_text=True)
    assert re.search(r'data-kpi="revenue">420\.00<', page)
    assert 'id="chart-click_funnel-figure"' in page and 'id="chart-bounce_by_referrer-figure"' in page
    funnel = client.get("/dashboard/csv/sales/click_funnel.csv").get_data(as_text=True).splitlines()
    assert funnel[1:] == [
        "1,page_view,4,1.0",
        "2,product_view,2,0.5",
        "3,add_to_cart,1,0.25",
        "4,checkout,1,0.25",
        "5,purchase,1,0.25",
    ]
    queries = jobs_inserted() - loads
    assert queries == len(warehouse.queries) >= 10

    assert client.get("/dashboard/sales").get_data(as_text=True) == page
    assert jobs_inserted() - loads == queries
