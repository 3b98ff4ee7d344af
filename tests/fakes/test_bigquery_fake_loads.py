"""Load jobs on the BigQuery fake: Parquet and JSON uploads (multipart and resumable), write
dispositions, partition decorators and schema updates, driven by the real client."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

bigquery = pytest.importorskip(
    "google.cloud.bigquery", reason="google-cloud-bigquery (the [gcp] extra) is not installed"
)
from google.api_core import exceptions  # noqa: E402

UTC = dt.UTC


def parquet(**columns) -> io.BytesIO:
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    buffer.seek(0)
    return buffer


def predictions(day: dt.date, customers: list[str]) -> io.BytesIO:
    return parquet(
        customer_id=pa.array(customers),
        as_of_date=pa.array([day] * len(customers), pa.date32()),
        churn_probability=pa.array([0.25] * len(customers), pa.float64()),
        scored_at=pa.array([dt.datetime(2024, 1, 1, tzinfo=UTC)] * len(customers), pa.timestamp("us", tz="UTC")),
        score=pa.array([Decimal("0.250000000")] * len(customers), pa.decimal128(38, 9)),
        reasons=pa.array([["tenure"]] * len(customers), pa.list_(pa.string())),
    )


def parquet_config(**kwargs) -> bigquery.LoadJobConfig:
    options = bigquery.format_options.ParquetOptions()
    options.enable_list_inference = True
    config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.PARQUET, **kwargs)
    config.parquet_options = options
    return config


@pytest.fixture
def warehouse(bigquery_client):
    bigquery_client.create_dataset("winter_days_warehouse")
    return "winter-proj.winter_days_warehouse"


def test_a_parquet_load_creates_a_partitioned_table_with_its_types(bigquery_client, bigquery_fake, warehouse):
    config = parquet_config(
        time_partitioning=bigquery.TimePartitioning(field="as_of_date"), clustering_fields=["customer_id"]
    )
    job = bigquery_client.load_table_from_file(
        predictions(dt.date(2024, 1, 1), ["c-1", "c-2"]), f"{warehouse}.fact_predictions_churn", job_config=config
    )
    job.result()
    assert (job.output_rows, job.state) == (2, "DONE")
    assert bigquery_fake.requests_to("POST", "/upload/")[0].query["uploadType"] == [
        "resumable"
    ]  # size unknown: resumable
    table = bigquery_client.get_table(f"{warehouse}.fact_predictions_churn")
    assert [(f.name, f.field_type, f.mode) for f in table.schema] == [
        ("customer_id", "STRING", "NULLABLE"),
        ("as_of_date", "DATE", "NULLABLE"),
        ("churn_probability", "FLOAT", "NULLABLE"),
        ("scored_at", "TIMESTAMP", "NULLABLE"),
        ("score", "NUMERIC", "NULLABLE"),
        ("reasons", "STRING", "REPEATED"),
    ]
    assert (table.time_partitioning.field, table.clustering_fields, table.num_rows) == (
        "as_of_date",
        ["customer_id"],
        2,
    )
    rows = bigquery_client.query_and_wait(f"SELECT * FROM `{warehouse}.fact_predictions_churn` ORDER BY customer_id")
    assert rows.to_arrow(create_bqstorage_client=False).to_pylist()[0] == {
        "customer_id": "c-1",
        "as_of_date": dt.date(2024, 1, 1),
        "churn_probability": 0.25,
        "scored_at": dt.datetime(2024, 1, 1, tzinfo=UTC),
        "score": Decimal("0.25"),
        "reasons": ["tenure"],
    }


def test_without_list_inference_a_parquet_list_keeps_its_three_level_shape(bigquery_client, warehouse):
    config = bigquery.LoadJobConfig(source_format=bigquery.SourceFormat.PARQUET)
    bigquery_client.load_table_from_file(
        parquet(tags=pa.array([["a", "b"]])), f"{warehouse}.raw", job_config=config
    ).result()
    tags = bigquery_client.get_table(f"{warehouse}.raw").schema[0]
    assert (tags.field_type, tags.fields[0].name, tags.fields[0].mode, tags.fields[0].fields[0].name) == (
        "RECORD",
        "list",
        "REPEATED",
        "element",
    )
    assert [r.tags for r in bigquery_client.list_rows(f"{warehouse}.raw")] == [
        {"list": [{"element": "a"}, {"element": "b"}]}
    ]


def test_a_rerun_of_one_day_replaces_only_that_partition(bigquery_client, bigquery_fake, warehouse):
    table = f"{warehouse}.fact_predictions_churn"
    config = parquet_config(
        time_partitioning=bigquery.TimePartitioning(field="as_of_date"), write_disposition="WRITE_TRUNCATE"
    )
    for day, customers in [
        (dt.date(2024, 1, 1), ["c-1", "c-2"]),
        (dt.date(2024, 1, 2), ["c-1"]),
        (dt.date(2024, 1, 2), ["c-3"]),
    ]:
        bigquery_client.load_table_from_file(
            predictions(day, customers), f"{table}${day:%Y%m%d}", job_config=config
        ).result()
    assert bigquery_fake.sql(
        "SELECT as_of_date::VARCHAR, customer_id FROM winter_days_warehouse.fact_predictions_churn ORDER BY 1, 2"
    ) == [("2024-01-01", "c-1"), ("2024-01-01", "c-2"), ("2024-01-02", "c-3")]

    with pytest.raises(exceptions.BadRequest, match="rather than destination partition 20240105"):
        bigquery_client.load_table_from_file(
            predictions(dt.date(2024, 1, 2), ["c-9"]), f"{table}$20240105", job_config=config
        ).result()
    assert bigquery_fake.sql("SELECT COUNT(*) FROM winter_days_warehouse.fact_predictions_churn") == [(3,)]


def test_new_columns_need_allow_field_addition(bigquery_client, bigquery_fake, warehouse):
    table = f"{warehouse}.scores"
    bigquery_client.load_table_from_file(
        parquet(customer_id=pa.array(["c-1"])), table, job_config=parquet_config()
    ).result()
    wider = parquet(customer_id=pa.array(["c-2"]), model_version=pa.array(["v2"]))
    with pytest.raises(exceptions.BadRequest, match="Cannot add fields \\(field: model_version\\)"):
        bigquery_client.load_table_from_file(wider, table, job_config=parquet_config()).result()
    wider.seek(0)
    config = parquet_config(schema_update_options=[bigquery.SchemaUpdateOption.ALLOW_FIELD_ADDITION])
    bigquery_client.load_table_from_file(wider, table, job_config=config).result()
    assert bigquery_fake.sql("SELECT customer_id, model_version FROM winter_days_warehouse.scores ORDER BY 1") == [
        ("c-1", None),
        ("c-2", "v2"),
    ]


def test_json_rows_load_by_autodetect_or_by_schema_and_bad_rows_fail_the_job(bigquery_client, bigquery_fake, warehouse):
    rows = [{"customer_id": "c-1", "visits": 3, "last_seen": "2024-01-02 10:00:00 UTC", "device": {"kind": "mobile"}}]
    job = bigquery_client.load_table_from_json(rows, f"{warehouse}.visits")
    job.result()
    assert bigquery_fake.requests_to("POST", "/upload/")[0].query["uploadType"] == ["multipart"]
    assert [(f.name, f.field_type) for f in bigquery_client.get_table(f"{warehouse}.visits").schema] == [
        ("customer_id", "STRING"),
        ("visits", "INTEGER"),
        ("last_seen", "TIMESTAMP"),
        ("device", "RECORD"),
    ]

    schema = [bigquery.SchemaField("customer_id", "STRING", mode="REQUIRED"), bigquery.SchemaField("visits", "INT64")]
    config = bigquery.LoadJobConfig(schema=schema, write_disposition="WRITE_TRUNCATE")
    bad = bigquery_client.load_table_from_json(
        [{"customer_id": "c-2", "visits": 1}, {"visits": "many"}], f"{warehouse}.counts", job_config=config
    )
    with pytest.raises(exceptions.BadRequest, match="JSON table encountered too many errors") as failed:
        bad.result()
    assert "Missing required field: customer_id." in str(failed.value)
    assert bad.error_result["reason"] == "invalid" and bad.errors[1]["location"] == "row 2"
    with pytest.raises(exceptions.NotFound):
        bigquery_client.get_table(f"{warehouse}.counts")

    config.max_bad_records = 1
    bigquery_client.load_table_from_json(
        [{"customer_id": "c-2", "visits": 1}, {"visits": "many"}], f"{warehouse}.counts", job_config=config
    ).result()
    assert bigquery_fake.sql("SELECT * FROM winter_days_warehouse.counts") == [("c-2", 1)]


def test_write_empty_and_create_never(bigquery_client, warehouse):
    table = f"{warehouse}.scores"
    with pytest.raises(exceptions.NotFound, match="Table winter-proj:winter_days_warehouse.scores was not found"):
        bigquery_client.load_table_from_file(
            parquet(x=pa.array([1])), table, job_config=parquet_config(create_disposition="CREATE_NEVER")
        ).result()
    bigquery_client.load_table_from_file(
        parquet(x=pa.array([1])), table, job_config=parquet_config(write_disposition="WRITE_EMPTY")
    ).result()
    with pytest.raises(exceptions.Conflict, match="Already Exists: Table winter-proj:winter_days_warehouse.scores"):
        bigquery_client.load_table_from_file(
            parquet(x=pa.array([2])), table, job_config=parquet_config(write_disposition="WRITE_EMPTY")
        ).result()
