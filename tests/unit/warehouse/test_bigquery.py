"""What the BigQuery warehouse adds to the port, on the BigQuery fake with the real client:
the cost cap, bytes logged per query, errors naming the job and the query, back-off on rate
limits, and table names with the installation's project and schema suffix."""

from __future__ import annotations

import logging
import re
from datetime import date

import pytest
from contracts.warehouse import SALES, predictions
from support.warehouse_tables import bigquery_warehouse, gcp_settings, publish_bigquery

from winter_days.warehouse import WarehouseError
from winter_days.warehouse.tables import FCT_SALES, PREDICTIONS

pytestmark = pytest.mark.slow

MIB = 1 << 20
READ_SALES = f"SELECT sale_id FROM {FCT_SALES} ORDER BY sale_id"
JOB_ID = re.compile(r"BigQuery job (\S+) failed")


@pytest.fixture
def make_warehouse(tmp_path, bigquery_fake):
    built = []

    def make(**environ):
        warehouse = bigquery_warehouse(gcp_settings(tmp_path, bigquery_fake.endpoint, **environ))
        built.append(warehouse)
        return warehouse

    yield make
    for warehouse in built:
        warehouse.client.close()


@pytest.fixture
def published(bigquery_client):
    publish_bigquery(bigquery_client, {FCT_SALES: SALES})


def failed_job_id(error: BaseException) -> str:
    match = JOB_ID.search(str(error))
    assert match, str(error)
    return match.group(1)


def test_a_query_over_the_cost_cap_fails_before_it_runs_naming_the_setting(make_warehouse, published, bigquery_fake):
    capped = make_warehouse(WINTER_DAYS_BIGQUERY_MAXIMUM_BYTES_BILLED=str(10 * MIB - 1))
    with pytest.raises(WarehouseError) as refused:
        capped.read(READ_SALES)
    message = str(refused.value)
    assert "WINTER_DAYS_BIGQUERY_MAXIMUM_BYTES_BILLED" in message and "did not run" in message
    assert "query: SELECT sale_id FROM `winter-proj`.winter_days_warehouse.fct_sales" in message
    job = bigquery_fake.job(failed_job_id(refused.value))
    assert job["status"]["errorResult"]["reason"] == "bytesBilledLimitExceeded"
    assert "query" not in job["statistics"], "the refused query ran"

    assert capped.read("SELECT 1 AS x").to_pylist() == [{"x": 1}]  # reads no table, bills nothing
    assert make_warehouse(WINTER_DAYS_BIGQUERY_MAXIMUM_BYTES_BILLED=str(10 * MIB)).read(READ_SALES).num_rows == 4


def test_every_query_logs_the_bytes_it_processed_and_billed(make_warehouse, published, caplog):
    warehouse = make_warehouse()
    with caplog.at_level(logging.INFO, logger="winter_days.warehouse"):
        warehouse.read(READ_SALES)
        warehouse.read("SELECT 1 AS x")
    logged = [r for r in caplog.records if hasattr(r, "bytes_processed")]
    assert [(r.bytes_processed, r.bytes_billed) for r in logged] == [(4 * (2 + 2), 10 * MIB), (0, 0)]
    assert all(r.bigquery_job_id and r.bigquery_job_id in r.getMessage() for r in logged)


def test_a_failed_query_names_its_job_and_the_query(make_warehouse, published, bigquery_fake):
    warehouse = make_warehouse()
    with pytest.raises(
        WarehouseError, match=r"Unrecognized name: region_name.*; query: SELECT region_name FROM `winter-proj`"
    ) as failed:
        warehouse.read(f"SELECT region_name FROM {FCT_SALES}")
    assert failed_job_id(failed.value) in bigquery_fake.jobs.jobs

    bigquery_fake.fail_job(
        "resourcesExceeded", message="Resources exceeded during query execution.", query_contains="sale_id"
    )
    with pytest.raises(
        WarehouseError, match=r"Resources exceeded during query execution\.; query: SELECT sale_id"
    ) as failed:
        warehouse.read(READ_SALES)
    assert bigquery_fake.job(failed_job_id(failed.value))["status"]["errorResult"]["reason"] == "resourcesExceeded"


@pytest.mark.parametrize(("status", "reason"), [(429, None), (403, "rateLimitExceeded"), (503, None)])
def test_rate_limits_and_unavailability_are_retried_with_backoff(
    make_warehouse, published, bigquery_fake, status, reason
):
    warehouse = make_warehouse()
    bigquery_fake.fail(status, times=2, method="POST", path_contains="/jobs", reason=reason)
    assert warehouse.read(READ_SALES).num_rows == 4
    inserts = [
        r for r in bigquery_fake.requests if r.method == "POST" and r.path == "/bigquery/v2/projects/winter-proj/jobs"
    ]
    assert len(inserts) == 3


def test_a_job_that_failed_on_a_rate_limit_runs_again_as_a_new_job(make_warehouse, published, bigquery_fake):
    warehouse = make_warehouse()
    bigquery_fake.fail_job("rateLimitExceeded", query_contains="sale_id")
    assert warehouse.read(READ_SALES).num_rows == 4
    assert [
        j.resource["status"].get("errorResult", {}).get("reason")
        for j in bigquery_fake.jobs.jobs.values()
        if "sale_id" in str(j.config.get("query"))
    ] == ["rateLimitExceeded", None]


def test_a_rate_limited_write_is_loaded_again_without_doubling(make_warehouse, published, bigquery_fake):
    warehouse = make_warehouse()
    day = date(2026, 3, 1)
    bigquery_fake.fail_job("rateLimitExceeded", job_type="LOAD")
    assert warehouse.replace_partition(PREDICTIONS, predictions({"C1": 0.2, "C2": 0.6}, day), day) == 2
    assert sorted(
        r["customer_id"] for r in bigquery_fake.table_rows("winter_days_warehouse", "fact_predictions_churn")
    ) == ["C1", "C2"]


def test_a_failed_write_names_its_load_job_and_the_partition(make_warehouse, published, bigquery_fake):
    warehouse = make_warehouse()
    day = date(2026, 3, 1)
    bigquery_fake.fail_job("invalid", message="Error while reading data, error message: bad parquet", job_type="LOAD")
    with pytest.raises(
        WarehouseError,
        match=r"bad parquet; query: load into winter-proj\.winter_days_warehouse\.fact_predictions_churn\$20260301",
    ) as failed:
        warehouse.replace_partition(PREDICTIONS, predictions({"C1": 0.2}, day), day)
    assert bigquery_fake.job(failed_job_id(failed.value))["configuration"]["jobType"] == "LOAD"


def test_the_schema_suffix_names_the_datasets_read_and_written(make_warehouse, bigquery_client, bigquery_fake):
    publish_bigquery(bigquery_client, {FCT_SALES: SALES}, suffix="dev")
    publish_bigquery(bigquery_client, {FCT_SALES: SALES.slice(0, 1)})  # another environment's rows
    warehouse = make_warehouse(WINTER_DAYS_DATAFORM_SCHEMA_SUFFIX="dev")
    assert warehouse.read(READ_SALES).num_rows == 4
    with warehouse.reader() as reader:
        assert FCT_SALES in reader.tables()
    day = date(2026, 3, 1)
    warehouse.replace_partition(PREDICTIONS, predictions({"C1": 0.2}, day), day)
    assert len(bigquery_fake.table_rows("winter_days_warehouse_dev", "fact_predictions_churn")) == 1
    assert "fact_predictions_churn" not in [t.table_id for t in bigquery_client.list_tables("winter_days_warehouse")]
    assert (
        warehouse.describe()
        == "BigQuery project winter-proj (datasets winter_days_staging_dev, winter_days_warehouse_dev)"
    )


def test_tables_are_named_in_the_data_project_and_jobs_run_in_the_gcp_project(tmp_path):
    pytest.importorskip("google.cloud.bigquery")
    settings = gcp_settings(
        tmp_path,
        "http://127.0.0.1:9",
        WINTER_DAYS_DATAFORM_DEFAULT_DATABASE="winter-data",
        WINTER_DAYS_DATAFORM_SCHEMA_SUFFIX="prod",
    )
    warehouse = bigquery_warehouse(settings)
    sql = warehouse.qualify(
        f"SELECT s.sale_id FROM {FCT_SALES} AS s JOIN other_dataset.t AS o ON o.id = s.sale_id WHERE s.region = @region"
    )
    assert sql == (
        "SELECT s.sale_id FROM `winter-data`.winter_days_warehouse_prod.fct_sales AS s "
        "JOIN other_dataset.t AS o ON o.id = s.sale_id WHERE s.region = @region"
    )
    assert warehouse.client.project == "winter-proj"
    assert warehouse.table_id(PREDICTIONS.name) == "winter-data.winter_days_warehouse_prod.fact_predictions_churn"


def test_a_refused_listing_names_the_dataset(make_warehouse, bigquery_fake):
    bigquery_fake.fail(
        403, reason="accessDenied", message="Access Denied: Dataset winter-proj:winter_days_staging", method="GET"
    )
    with pytest.raises(
        WarehouseError,
        match=r"cannot list the tables of BigQuery dataset winter-proj\.winter_days_staging: "
        r"Access Denied: Dataset winter-proj:winter_days_staging",
    ):
        with make_warehouse().reader():
            pass


def test_only_bigquery_errors_are_explained_by_the_warehouse(make_warehouse, bigquery_fake):
    from google.api_core import exceptions

    warehouse = make_warehouse()
    bigquery_fake.fail(
        403, reason="accessDenied", message="Access Denied: Dataset winter-proj:winter_days_warehouse", method="GET"
    )
    with pytest.raises(exceptions.Forbidden) as denied:
        list(warehouse.client.list_tables("winter-proj.winter_days_warehouse", retry=None))
    assert warehouse.explain(denied.value).startswith("BigQuery job (not created) failed: Access Denied: Dataset")
    # The same exception type from another Google client (Firestore, Cloud Storage) is not BigQuery's to explain.
    assert warehouse.explain(exceptions.Forbidden("Missing or insufficient permissions.")) is None
    assert warehouse.explain(ValueError("x")) is None
