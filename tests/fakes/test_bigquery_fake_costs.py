"""Bytes processed and billed on the BigQuery fake: dry runs, real runs and the byte cap."""

from __future__ import annotations

import pytest

bigquery = pytest.importorskip(
    "google.cloud.bigquery", reason="google-cloud-bigquery (the [gcp] extra) is not installed"
)
from google.api_core import exceptions  # noqa: E402

MIB = 1 << 20


@pytest.fixture
def customers(bigquery_client):
    """Three customers: id INT64 (8 bytes each), name STRING (2 + length), tags ARRAY<STRING>."""
    bigquery_client.create_dataset("crm")
    bigquery_client.query_and_wait(
        """CREATE TABLE crm.customers AS
           SELECT * FROM UNNEST([STRUCT(1 AS id, 'ada' AS name, ['vip'] AS tags), STRUCT(2, 'bo', []), STRUCT(3, NULL, ['a', 'bc'])])"""
    )
    return "crm.customers"


def dry_run(client, query):
    job = client.query(query, job_config=bigquery.QueryJobConfig(dry_run=True, use_query_cache=False))
    assert job.state == "DONE"
    return job.total_bytes_processed


def test_bytes_are_those_of_the_columns_read(bigquery_client, customers):
    ids, names, tags = 3 * 8, (2 + 3) + (2 + 2), (2 + 3) + (2 + 1) + (2 + 2)  # NULL and empty arrays are 0 bytes
    assert dry_run(bigquery_client, f"SELECT id FROM {customers}") == ids
    assert dry_run(bigquery_client, f"SELECT name FROM {customers} WHERE id > 1") == ids + names
    assert dry_run(bigquery_client, f"SELECT * FROM {customers}") == ids + names + tags
    assert dry_run(bigquery_client, f"SELECT COUNT(*) FROM {customers}") == 0
    assert dry_run(bigquery_client, "SELECT 1") == 0
    assert (
        dry_run(bigquery_client, f"UPDATE {customers} SET name = 'x' WHERE id = 1") == ids + names + tags
    )  # the whole target


def test_a_dry_run_reports_what_the_real_run_processes_and_runs_nothing(bigquery_client, bigquery_fake, customers):
    query = f"DELETE FROM {customers} WHERE id = 1"
    estimated = dry_run(bigquery_client, query)
    assert bigquery_fake.sql("SELECT COUNT(*) FROM crm.customers") == [(3,)]
    schema = bigquery_client.query(
        f"SELECT id, tags FROM {customers}", job_config=bigquery.QueryJobConfig(dry_run=True)
    ).schema
    assert [(f.name, f.mode) for f in schema] == [("id", "NULLABLE"), ("tags", "REPEATED")]

    job = bigquery_client.query(query)
    job.result()
    assert job.total_bytes_processed == estimated > 0
    assert job.total_bytes_billed == 10 * MIB  # rounded up, 10 MiB at least per table read
    assert job.cache_hit is False
    read = bigquery_client.query_and_wait(f"SELECT id FROM {customers}")
    assert read.total_bytes_processed == 2 * 8


def test_a_query_over_maximum_bytes_billed_fails_before_it_runs(bigquery_client, bigquery_fake, customers):
    capped = bigquery.QueryJobConfig(maximum_bytes_billed=10 * MIB - 1)
    job = bigquery_client.query(f"INSERT INTO {customers} (id) SELECT id + 10 FROM {customers}", job_config=capped)
    with pytest.raises(
        exceptions.GoogleAPICallError,
        match=r"Query exceeded limit for bytes billed: 10485759\. 10485760 or higher required",
    ) as refused:
        job.result()
    assert refused.value.errors[0]["reason"] == "bytesBilledLimitExceeded"
    assert job.job_id in str(refused.value)
    assert bigquery_fake.sql("SELECT COUNT(*) FROM crm.customers") == [(3,)]

    with pytest.raises(exceptions.BadRequest, match="Query exceeded limit for bytes billed"):
        bigquery_client.query_and_wait(f"SELECT id FROM {customers}", job_config=capped)
    assert [r.x for r in bigquery_client.query_and_wait("SELECT 1 AS x", job_config=capped)] == [
        1
    ]  # reads nothing, bills nothing
    roomy = bigquery.QueryJobConfig(maximum_bytes_billed=10 * MIB)
    assert len(list(bigquery_client.query_and_wait(f"SELECT id FROM {customers}", job_config=roomy))) == 3
