"""Queries on the BigQuery fake: parameters, result types, DML, MERGE, DDL, scripts and
partition replaces, driven by the real client."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest

bigquery = pytest.importorskip(
    "google.cloud.bigquery", reason="google-cloud-bigquery (the [gcp] extra) is not installed"
)
from google.api_core import exceptions  # noqa: E402

UTC = dt.UTC


@pytest.fixture
def events(bigquery_client):
    """winter_days_warehouse.events, partitioned by day: two rows on Jan 1, one on Jan 2."""
    bigquery_client.create_dataset("winter_days_warehouse")
    bigquery_client.query_and_wait(
        """
        CREATE TABLE `winter-proj.winter_days_warehouse.events`
        PARTITION BY event_date CLUSTER BY customer_id OPTIONS (description = "one row per event")
        AS SELECT * FROM UNNEST([
          STRUCT(1 AS event_id, 'c-1' AS customer_id, DATE '2024-01-01' AS event_date, NUMERIC '10.50' AS amount),
          STRUCT(2, 'c-2', DATE '2024-01-01', NUMERIC '3'),
          STRUCT(3, 'c-1', DATE '2024-01-02', NUMERIC '7.25')])
        """
    )
    return "winter_days_warehouse.events"


def test_result_types_reach_arrow_as_bigquery_types(bigquery_client):
    rows = bigquery_client.query_and_wait(
        """
        SELECT 42 AS n, NUMERIC '123.456000001' AS amount, TIMESTAMP '2024-05-01 12:30:00.123456+02' AS at,
               DATE '2024-05-01' AS day, DATETIME '2024-05-01 08:00:00' AS local_time, TIME '23:59:59' AS t,
               b'\\x00\\xff' AS raw, TRUE AS flag, 'é' AS text,
               STRUCT('c-1' AS id, [1, 2] AS scores) AS customer,
               [STRUCT('A' AS sku, 2 AS qty), STRUCT('B', 1)] AS lines,
               CAST(NULL AS STRING) AS missing, COUNT(*) OVER ()
        """
    )
    table = rows.to_arrow(create_bqstorage_client=False)
    assert [f.name for f in rows.schema][-1] == "f0_"
    assert str(table.schema.field("at").type) == "timestamp[us, tz=UTC]"
    assert table.to_pylist() == [
        {
            "n": 42,
            "amount": Decimal("123.456000001"),
            "at": dt.datetime(2024, 5, 1, 10, 30, 0, 123456, tzinfo=UTC),
            "day": dt.date(2024, 5, 1),
            "local_time": dt.datetime(2024, 5, 1, 8, 0),
            "t": dt.time(23, 59, 59),
            "raw": b"\x00\xff",
            "flag": True,
            "text": "é",
            "customer": {"id": "c-1", "scores": [1, 2]},
            "lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}],
            "missing": None,
            "f0_": 1,
        }
    ]


def test_named_and_positional_parameters(bigquery_client, events):
    config = bigquery.QueryJobConfig(
        labels={"flow": "sales"},
        query_parameters=[
            bigquery.ScalarQueryParameter("day", "DATE", dt.date(2024, 1, 1)),
            bigquery.ScalarQueryParameter("at_least", "NUMERIC", Decimal("5")),
            bigquery.ArrayQueryParameter("customers", "STRING", ["c-1", "c-9"]),
            bigquery.ScalarQueryParameter("seen", "TIMESTAMP", dt.datetime(2024, 1, 1, 6, tzinfo=UTC)),
        ],
    )
    rows = bigquery_client.query_and_wait(
        f"SELECT event_id, @seen AS seen FROM {events} WHERE event_date = @day AND amount >= @at_least AND customer_id IN UNNEST(@customers)",
        job_config=config,
    )
    assert [(r.event_id, r.seen) for r in rows] == [(1, dt.datetime(2024, 1, 1, 6, tzinfo=UTC))]
    assert bigquery_client.get_job(rows.job_id).labels == {"flow": "sales"}

    record = bigquery.StructQueryParameter(
        "customer",
        bigquery.ScalarQueryParameter("id", "STRING", "c-2"),
        bigquery.ScalarQueryParameter("since", "DATETIME", dt.datetime(2024, 1, 1, 5)),
    )
    rows = bigquery_client.query_and_wait(
        f"SELECT event_id, @customer AS customer FROM {events} WHERE customer_id = @customer.id",
        job_config=bigquery.QueryJobConfig(query_parameters=[record]),
    )
    assert [(r.event_id, r.customer) for r in rows] == [(2, {"id": "c-2", "since": dt.datetime(2024, 1, 1, 5)})]

    positional = bigquery.QueryJobConfig(
        query_parameters=[
            bigquery.ScalarQueryParameter(None, "INT64", 2),
            bigquery.ScalarQueryParameter(None, "STRING", "c-1"),
        ]
    )
    rows = bigquery_client.query_and_wait(
        f"SELECT event_id FROM {events} WHERE event_id >= ? AND customer_id = ? ", job_config=positional
    )
    assert [r.event_id for r in rows] == [3]

    with pytest.raises(exceptions.BadRequest, match="Query parameter 'nope' not found"):
        bigquery_client.query_and_wait("SELECT @nope", job_config=config)


def test_dml_reports_affected_rows(bigquery_client, bigquery_fake, events):
    inserted = bigquery_client.query(
        f"INSERT INTO {events} (event_id, customer_id, event_date, amount) VALUES (4, 'c-3', '2024-01-02', 1), (5, 'c-3', '2024-01-03', 2)"
    )
    inserted.result()
    assert (inserted.statement_type, inserted.num_dml_affected_rows) == ("INSERT", 2)
    updated = bigquery_client.query_and_wait(f"UPDATE {events} SET amount = amount * 2 WHERE customer_id = 'c-3'")
    assert updated.num_dml_affected_rows == 2
    deleted = bigquery_client.query(f"DELETE FROM {events} WHERE event_date = '2024-01-03'")
    deleted.result()
    assert deleted.num_dml_affected_rows == 1 and deleted.dml_stats.deleted_row_count == 1
    assert bigquery_fake.sql("SELECT event_id, amount FROM winter_days_warehouse.events WHERE customer_id = 'c-3'") == [
        (4, Decimal("2"))
    ]
    with pytest.raises(exceptions.BadRequest, match="DELETE must have a WHERE clause"):
        bigquery_client.query_and_wait(f"DELETE FROM {events}")


def test_merge_upserts_and_refuses_a_target_row_matched_twice(bigquery_client, bigquery_fake, events):
    merge = f"""
        MERGE {events} T
        USING (SELECT * FROM UNNEST([STRUCT(2 AS event_id, NUMERIC '30' AS amount), STRUCT(9, NUMERIC '1')])) S
        ON T.event_id = S.event_id
        WHEN MATCHED THEN UPDATE SET amount = S.amount
        WHEN NOT MATCHED THEN INSERT (event_id, customer_id, event_date, amount) VALUES (S.event_id, 'c-9', DATE '2024-01-09', S.amount)
    """
    job = bigquery_client.query(merge)
    job.result()
    assert (job.statement_type, job.num_dml_affected_rows) == ("MERGE", 2)
    assert bigquery_fake.sql(
        "SELECT event_id, amount FROM winter_days_warehouse.events WHERE event_id IN (2, 9) ORDER BY 1"
    ) == [(2, Decimal("30")), (9, Decimal("1"))]

    twice = merge.replace("STRUCT(9, NUMERIC '1')", "STRUCT(2, NUMERIC '31')")
    with pytest.raises(exceptions.BadRequest, match="must match at most one source row for each target row"):
        bigquery_client.query_and_wait(twice)
    assert bigquery_fake.sql("SELECT amount FROM winter_days_warehouse.events WHERE event_id = 2") == [(Decimal("30"),)]


def test_ddl_keeps_partitioning_clustering_and_options(bigquery_client, events):
    table = bigquery_client.get_table(events)
    assert (table.time_partitioning.field, table.clustering_fields, table.description) == (
        "event_date",
        ["customer_id"],
        "one row per event",
    )
    assert [(f.name, f.field_type) for f in table.schema] == [
        ("event_id", "INTEGER"),
        ("customer_id", "STRING"),
        ("event_date", "DATE"),
        ("amount", "NUMERIC"),
    ]
    job = bigquery_client.query(
        f"CREATE OR REPLACE TABLE {events} PARTITION BY DATE_TRUNC(event_date, MONTH) AS SELECT * FROM {events}"
    )
    job.result()
    assert (job.statement_type, job.ddl_operation_performed) == ("CREATE_TABLE_AS_SELECT", "REPLACE")
    assert bigquery_client.get_table(events).time_partitioning.type_ == "MONTH"

    with pytest.raises(exceptions.Conflict, match="Already Exists: Table winter-proj:winter_days_warehouse.events"):
        bigquery_client.query_and_wait(f"CREATE TABLE {events} (x INT64)")
    bigquery_client.query_and_wait("CREATE SCHEMA IF NOT EXISTS `winter-proj.winter_days_staging`")
    bigquery_client.query_and_wait(
        "CREATE VIEW winter_days_staging.v AS SELECT event_id FROM winter_days_warehouse.events"
    )
    assert bigquery_client.get_table("winter_days_staging.v").table_type == "VIEW"
    bigquery_client.query_and_wait("DROP SCHEMA winter_days_staging CASCADE")
    assert [d.dataset_id for d in bigquery_client.list_datasets()] == ["winter_days_warehouse"]


def test_names_resolve_through_the_project_or_the_default_dataset(bigquery_client, events):
    assert bigquery_client.query_and_wait(f"SELECT COUNT(*) AS n FROM `winter-proj.{events}`").to_arrow(
        create_bqstorage_client=False
    ).to_pylist() == [{"n": 3}]
    config = bigquery.QueryJobConfig(default_dataset="winter-proj.winter_days_warehouse")
    assert [r.n for r in bigquery_client.query_and_wait("SELECT COUNT(*) AS n FROM events", job_config=config)] == [3]
    with pytest.raises(exceptions.BadRequest, match='Table "events" must be qualified with a dataset'):
        bigquery_client.query_and_wait("SELECT * FROM events")
    with pytest.raises(exceptions.NotFound, match="Project other-proj"):
        bigquery_client.query_and_wait("SELECT * FROM `other-proj.winter_days_warehouse.events`")
    with pytest.raises(exceptions.NotFound, match="Table winter-proj:winter_days_warehouse.nope was not found"):
        bigquery_client.query_and_wait("SELECT * FROM winter_days_warehouse.nope")


def test_destination_table_dispositions(bigquery_client, bigquery_fake, events):
    def run(query, disposition):
        config = bigquery.QueryJobConfig(
            destination="winter-proj.winter_days_warehouse.daily", write_disposition=disposition
        )
        bigquery_client.query(query, job_config=config).result()

    run(f"SELECT event_date, SUM(amount) AS total FROM {events} GROUP BY 1", "WRITE_EMPTY")
    with pytest.raises(exceptions.Conflict, match="Already Exists: Table winter-proj:winter_days_warehouse.daily"):
        run("SELECT DATE '2024-02-01' AS event_date, NUMERIC '1' AS total", "WRITE_EMPTY")
    run("SELECT DATE '2024-02-01' AS event_date, NUMERIC '1' AS total", "WRITE_APPEND")
    assert bigquery_fake.sql("SELECT COUNT(*) FROM winter_days_warehouse.daily") == [(3,)]
    with pytest.raises(exceptions.BadRequest, match="Field total has changed type from NUMERIC to STRING"):
        run("SELECT DATE '2024-02-02' AS event_date, 'x' AS total", "WRITE_APPEND")
    run("SELECT 'replaced' AS note", "WRITE_TRUNCATE")
    assert [f.name for f in bigquery_client.get_table("winter_days_warehouse.daily").schema] == ["note"]


def test_partition_replace_through_a_decorator(bigquery_client, bigquery_fake, events):
    config = bigquery.QueryJobConfig(destination=f"winter-proj.{events}$20240101", write_disposition="WRITE_TRUNCATE")
    bigquery_client.query(
        "SELECT 7 AS event_id, 'c-7' AS customer_id, DATE '2024-01-01' AS event_date, NUMERIC '1' AS amount",
        job_config=config,
    ).result()
    assert bigquery_fake.sql("SELECT event_id FROM winter_days_warehouse.events ORDER BY 1") == [(3,), (7,)]

    stray = "SELECT 8 AS event_id, 'c-8' AS customer_id, DATE '2024-01-05' AS event_date, NUMERIC '1' AS amount"
    with pytest.raises(exceptions.BadRequest, match="rather than destination partition 20240101"):
        bigquery_client.query(stray, job_config=config).result()
    assert bigquery_fake.sql("SELECT event_id FROM winter_days_warehouse.events ORDER BY 1") == [(3,), (7,)]


def test_partition_replace_in_a_transaction_is_all_or_nothing(bigquery_client, bigquery_fake, events):
    replace = f"""
        BEGIN TRANSACTION;
        DELETE FROM {events} WHERE event_date = DATE '2024-01-01';
        INSERT INTO {events} (event_id, customer_id, event_date, amount) VALUES (10, 'c-1', DATE '2024-01-01', {{amount}});
        COMMIT TRANSACTION;
    """
    job = bigquery_client.query(replace.format(amount="NUMERIC '5'"))
    job.result()
    assert job.statement_type == "SCRIPT"
    children = sorted(bigquery_client.list_jobs(parent_job=job), key=lambda j: j.job_id)
    assert [(c.statement_type, c.num_dml_affected_rows) for c in children] == [
        ("BEGIN_TRANSACTION", None),
        ("DELETE", 2),
        ("INSERT", 1),
        ("COMMIT_TRANSACTION", None),
    ]
    assert bigquery_fake.sql("SELECT event_id FROM winter_days_warehouse.events ORDER BY 1") == [(3,), (10,)]

    with pytest.raises(exceptions.BadRequest, match="Bad int64 value"):
        bigquery_client.query_and_wait(replace.format(amount="CAST('x' AS INT64)"))
    assert bigquery_fake.sql("SELECT event_id FROM winter_days_warehouse.events ORDER BY 1") == [(3,), (10,)]
    with pytest.raises(exceptions.BadRequest, match="CREATE_TABLE is not supported inside a transaction"):
        bigquery_client.query_and_wait(
            f"BEGIN TRANSACTION; DELETE FROM {events} WHERE TRUE; CREATE TABLE winter_days_warehouse.x (n INT64); COMMIT TRANSACTION"
        )
    assert bigquery_fake.sql("SELECT COUNT(*) FROM winter_days_warehouse.events") == [(2,)]


def test_scripting_beyond_transactions_is_refused_by_name(bigquery_client):
    with pytest.raises(exceptions.BadRequest, match="DECLARE x .*not supported by the BigQuery fake"):
        bigquery_client.query_and_wait("DECLARE x INT64 DEFAULT 1; SELECT x")


def test_a_running_job_is_polled_until_done_and_can_be_cancelled(bigquery_client, bigquery_fake, events):
    bigquery_fake.running_polls = 2
    job = bigquery_client.query(f"SELECT event_id FROM {events} ORDER BY 1")
    assert job.state == "RUNNING"
    assert [r.event_id for r in job.result(page_size=2)] == [1, 2, 3]
    assert len(bigquery_fake.requests_to("GET", job.job_id)) >= 2  # polled, not answered DONE at once

    rows = bigquery_client.query_and_wait(f"SELECT event_id FROM {events} ORDER BY 1", page_size=2)
    assert [r.event_id for r in rows] == [1, 2, 3]

    running = bigquery_client.query(f"DELETE FROM {events} WHERE TRUE")
    running.cancel()
    with pytest.raises(exceptions.GoogleAPICallError, match="Job execution was cancelled") as cancelled:
        running.result()  # the client maps reason "stopped" to its base exception class
    assert cancelled.value.errors[0]["reason"] == "stopped"
    assert bigquery_fake.sql("SELECT COUNT(*) FROM winter_days_warehouse.events") == [(3,)]


def test_writes_are_serialised_and_reads_run_beside_them(bigquery_client, bigquery_fake, events):
    errors = []

    def insert(worker):
        try:
            for n in range(5):
                bigquery_client.query_and_wait(
                    f"INSERT INTO {events} (event_id, event_date) VALUES ({100 + worker * 10 + n}, DATE '2024-01-03')"
                )
                bigquery_client.query_and_wait(f"SELECT COUNT(*) FROM {events}")
        except Exception as err:  # collected: an assertion in a thread would be lost
            errors.append(err)

    threads = [threading.Thread(target=insert, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert bigquery_fake.sql("SELECT COUNT(*) FROM winter_days_warehouse.events WHERE event_date = '2024-01-03'") == [
        (20,)
    ]
