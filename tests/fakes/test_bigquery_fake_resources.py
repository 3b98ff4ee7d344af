"""The BigQuery fake's datasets, tables and tabledata, driven by the real client."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

bigquery = pytest.importorskip(
    "google.cloud.bigquery", reason="google-cloud-bigquery (the [gcp] extra) is not installed"
)
from google.api_core import exceptions  # noqa: E402

SchemaField = bigquery.SchemaField
ORDER_SCHEMA = [
    SchemaField("order_id", "INTEGER", mode="REQUIRED"),
    SchemaField("placed_at", "TIMESTAMP"),
    SchemaField("amount", "NUMERIC"),
    SchemaField("order_date", "DATE"),
    SchemaField(
        "customer", "RECORD", fields=[SchemaField("id", "STRING"), SchemaField("segments", "STRING", mode="REPEATED")]
    ),
    SchemaField(
        "lines", "RECORD", mode="REPEATED", fields=[SchemaField("sku", "STRING"), SchemaField("qty", "INTEGER")]
    ),
]


def _orders_table(client, table_id="winter-proj.sales.orders"):
    client.create_dataset("sales", exists_ok=True)
    table = bigquery.Table(table_id, schema=ORDER_SCHEMA)
    table.time_partitioning = bigquery.TimePartitioning(type_=bigquery.TimePartitioningType.DAY, field="order_date")
    table.clustering_fields = ["order_id"]
    table.description = "Sales orders"
    return client.create_table(table)


def test_dataset_lifecycle(bigquery_client):
    created = bigquery_client.create_dataset(bigquery.Dataset("winter-proj.staging"))
    assert (created.project, created.dataset_id, created.location) == ("winter-proj", "staging", "EU")
    with pytest.raises(exceptions.Conflict, match="Already Exists: Dataset winter-proj:staging"):
        bigquery_client.create_dataset("staging")
    bigquery_client.create_dataset("staging", exists_ok=True)

    created.labels = {"flow": "sales"}
    created.description = "silver layer"
    updated = bigquery_client.update_dataset(created, ["labels", "description"])
    assert (updated.labels, updated.description) == ({"flow": "sales"}, "silver layer")
    with pytest.raises(exceptions.PreconditionFailed):
        bigquery_client.update_dataset(created, ["description"])  # stale etag

    bigquery_client.create_dataset("_hidden")
    assert [d.dataset_id for d in bigquery_client.list_datasets()] == ["staging"]
    assert [d.dataset_id for d in bigquery_client.list_datasets(include_all=True)] == ["_hidden", "staging"]
    assert [d.dataset_id for d in bigquery_client.list_datasets(filter="labels.flow:sales")] == ["staging"]

    bigquery_client.query_and_wait("CREATE TABLE staging.t (x INT64)")
    with pytest.raises(exceptions.BadRequest, match="still in use"):
        bigquery_client.delete_dataset("staging")
    bigquery_client.delete_dataset("staging", delete_contents=True)
    with pytest.raises(exceptions.NotFound, match="Dataset winter-proj:staging was not found"):
        bigquery_client.get_dataset("staging")


def test_bad_ids_and_labels_are_refused_as_bigquery_refuses_them(bigquery_client):
    with pytest.raises(exceptions.BadRequest, match="Invalid dataset ID"):
        bigquery_client.create_dataset("sales-eu")
    dataset = bigquery.Dataset("winter-proj.sales")
    dataset.labels = {"Flow": "sales"}
    with pytest.raises(exceptions.BadRequest, match="Invalid label key"):
        bigquery_client.create_dataset(dataset)
    with pytest.raises(exceptions.NotFound, match="Project other-proj"):
        bigquery_client.get_dataset("other-proj.sales")


def test_table_with_nested_schema_partitioning_and_clustering(bigquery_client):
    created = _orders_table(bigquery_client)
    fetched = bigquery_client.get_table("sales.orders")
    assert fetched.schema == ORDER_SCHEMA == created.schema
    assert fetched.time_partitioning.field == "order_date" and fetched.time_partitioning.type_ == "DAY"
    assert fetched.clustering_fields == ["order_id"]
    assert (fetched.description, fetched.table_type, fetched.num_rows, fetched.num_bytes) == (
        "Sales orders",
        "TABLE",
        0,
        0,
    )
    assert fetched.created <= fetched.modified
    assert [t.table_id for t in bigquery_client.list_tables("sales")] == ["orders"]

    with pytest.raises(exceptions.Conflict):
        _orders_table(bigquery_client)
    standard = bigquery.Table(
        "winter-proj.sales.standard",
        schema=[SchemaField("n", "INT64"), SchemaField("s", "STRUCT", fields=[SchemaField("b", "BOOL")])],
    )
    legacy = bigquery_client.create_table(standard).schema  # BigQuery answers with the legacy type names
    assert [(f.field_type, f.fields[0].field_type if f.fields else None) for f in legacy] == [
        ("INTEGER", None),
        ("RECORD", "BOOLEAN"),
    ]
    bad = bigquery.Table("winter-proj.sales.bad", schema=[SchemaField("day", "STRING")])
    bad.time_partitioning = bigquery.TimePartitioning(field="day")
    with pytest.raises(exceptions.BadRequest, match="must be of type DATE, DATETIME or TIMESTAMP"):
        bigquery_client.create_table(bad)

    bigquery_client.delete_table("sales.orders")
    with pytest.raises(exceptions.NotFound, match="Table winter-proj:sales.orders was not found"):
        bigquery_client.get_table("sales.orders")


def test_rows_round_trip_with_bigquery_value_types(bigquery_client):
    _orders_table(bigquery_client)
    rows = [
        {
            "order_id": 1,
            "placed_at": "2024-03-01 10:15:00.250000 UTC",
            "amount": "19.990000001",
            "order_date": "2024-03-01",
            "customer": {"id": "c-1", "segments": ["b2b", "eu"]},
            "lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}],
        },
        {
            "order_id": 2,
            "placed_at": 1709288100.5,
            "amount": 5,
            "order_date": "2024-03-01",
            "customer": None,
            "lines": [],
        },
    ]
    assert bigquery_client.insert_rows_json("sales.orders", rows, row_ids=["r1", "r2"]) == []
    assert bigquery_client.insert_rows_json("sales.orders", rows[:1], row_ids=["r1"]) == []  # insertId seen: not again

    table = bigquery_client.get_table("sales.orders")
    assert table.num_rows == 2 and table.num_bytes > 0
    read = bigquery_client.list_rows(table).to_arrow(create_bqstorage_client=False).to_pylist()
    assert read[0] == {
        "order_id": 1,
        "placed_at": dt.datetime(2024, 3, 1, 10, 15, 0, 250000, tzinfo=dt.UTC),
        "amount": Decimal("19.990000001"),
        "order_date": dt.date(2024, 3, 1),
        "customer": {"id": "c-1", "segments": ["b2b", "eu"]},
        "lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}],
    }
    assert read[1]["placed_at"] == dt.datetime(2024, 3, 1, 10, 15, 0, 500000, tzinfo=dt.UTC)
    assert read[1]["customer"] is None and read[1]["lines"] == []


def test_insert_all_reports_bad_rows_and_inserts_none_of_them_by_default(bigquery_client, bigquery_fake):
    _orders_table(bigquery_client)
    errors = bigquery_client.insert_rows_json(
        "sales.orders", [{"order_id": 1}, {"order_id": "x"}, {"order_id": 3, "nope": 1}]
    )
    assert [e["index"] for e in errors] == [0, 1, 2]
    assert errors[0]["errors"][0]["reason"] == "stopped"
    assert "Cannot convert value to integer" in errors[1]["errors"][0]["message"]
    assert errors[2]["errors"][0]["message"] == "no such field: nope."
    assert bigquery_fake.sql("SELECT COUNT(*) FROM sales.orders") == [(0,)]

    errors = bigquery_client.insert_rows_json(
        "sales.orders", [{"order_id": 1}, {"order_id": None}], skip_invalid_rows=True
    )
    assert [(e["index"], e["errors"][0]["message"]) for e in errors] == [(1, "Missing required field: order_id.")]
    assert bigquery_fake.sql("SELECT order_id FROM sales.orders") == [(1,)]


def test_list_rows_pages_with_start_index_and_selected_fields(bigquery_client, bigquery_fake):
    bigquery_client.create_dataset("sales")
    bigquery_client.query_and_wait(
        "CREATE TABLE sales.numbers AS SELECT n, CAST(n AS STRING) AS label FROM UNNEST(GENERATE_ARRAY(0, 9)) AS n"
    )
    rows = bigquery_client.list_rows(
        "sales.numbers", page_size=3, start_index=2, selected_fields=[SchemaField("n", "INT64")]
    )
    assert [tuple(r.values()) for r in rows] == [(n,) for n in range(2, 10)]
    pages = bigquery_fake.requests_to("GET", "/tables/numbers/data")
    assert len(pages) == 3 and pages[1].query["pageToken"] == ["row-5"]
    assert rows.total_rows == 10


def test_schema_may_grow_but_not_change(bigquery_client, bigquery_fake):
    bigquery_client.insert_rows_json(_orders_table(bigquery_client), [{"order_id": 1, "customer": {"id": "c-1"}}])
    table = bigquery_client.get_table("sales.orders")  # the write moved its etag
    customer = SchemaField(
        "customer",
        "RECORD",
        fields=[*ORDER_SCHEMA[4].fields, SchemaField("tier", "STRING", description="loyalty tier")],
    )
    table.schema = [*ORDER_SCHEMA[:4], customer, ORDER_SCHEMA[5], SchemaField("channel", "STRING")]
    grown = bigquery_client.update_table(table, ["schema"])
    assert [f.name for f in grown.schema] == [
        "order_id",
        "placed_at",
        "amount",
        "order_date",
        "customer",
        "lines",
        "channel",
    ]
    assert grown.schema[4].fields[2].description == "loyalty tier"
    assert bigquery_fake.table_rows("sales", "orders")[0]["customer"] == {"id": "c-1", "segments": [], "tier": None}

    grown.schema = [SchemaField("order_id", "STRING", mode="REQUIRED"), *grown.schema[1:]]
    with pytest.raises(exceptions.BadRequest, match="Field order_id has changed type from INTEGER to STRING"):
        bigquery_client.update_table(grown, ["schema"])
    shrunk = bigquery_client.get_table("sales.orders")
    shrunk.schema = shrunk.schema[1:]
    with pytest.raises(exceptions.BadRequest, match="Field order_id is missing in new schema"):
        bigquery_client.update_table(shrunk, ["schema"])


def test_views_list_and_query_their_tables(bigquery_client, bigquery_fake):
    _orders_table(bigquery_client)
    bigquery_client.insert_rows_json("sales.orders", [{"order_id": 1, "amount": "2.5"}, {"order_id": 2, "amount": "4"}])
    view = bigquery.Table("winter-proj.sales.big_orders")
    view.view_query = "SELECT order_id FROM `winter-proj.sales.orders` WHERE amount > 3"
    created = bigquery_client.create_table(view)
    assert created.table_type == "VIEW" and created.view_query.startswith("SELECT order_id")
    assert [f.name for f in created.schema] == ["order_id"]
    assert [r.order_id for r in bigquery_client.query_and_wait("SELECT * FROM sales.big_orders")] == [2]
    with pytest.raises(exceptions.BadRequest, match="Cannot list a table of type VIEW"):
        list(bigquery_client.list_rows("sales.big_orders", selected_fields=[SchemaField("order_id", "INT64")]))


def test_rows_travel_in_bigquery_wire_encodings(bigquery_client):
    bigquery_client.create_dataset("sales")
    bigquery_client.query_and_wait(
        """CREATE TABLE sales.wire AS SELECT TIMESTAMP '2024-01-01 00:00:00.5+00' AS at, NUMERIC '1.50' AS amount, b'ab' AS raw,
           7 AS n, [STRUCT(1 AS qty)] AS lines, CAST(NULL AS STRING) AS note"""
    )
    path = "/projects/winter-proj/datasets/sales/tables/wire/data"
    raw = bigquery_client._connection.api_request(
        method="GET", path=path
    )  # the client's own transport, no format options
    assert raw["totalRows"] == "1"
    assert raw["rows"] == [
        {
            "f": [
                {"v": "1.7040672005E9"},
                {"v": "1.5"},
                {"v": "YWI="},
                {"v": "7"},
                {"v": [{"v": {"f": [{"v": "1"}]}}]},
                {"v": None},
            ]
        }
    ]
    iso = bigquery_client._connection.api_request(
        method="GET", path=path, query_params={"formatOptions.timestampOutputFormat": "ISO8601_STRING"}
    )
    micros = bigquery_client._connection.api_request(
        method="GET", path=path, query_params={"formatOptions.useInt64Timestamp": True}
    )
    assert (iso["rows"][0]["f"][0]["v"], micros["rows"][0]["f"][0]["v"]) == (
        "2024-01-01T00:00:00.500000Z",
        "1704067200500000",
    )


def test_a_database_file_keeps_datasets_and_tables_for_the_next_fake(tmp_path):
    from fakes.bigquery import FakeBigQueryServer

    for round_ in (1, 2):
        fake = FakeBigQueryServer(database=tmp_path / "bigquery.duckdb").start()
        client = fake.client()
        try:
            if round_ == 1:
                client.create_dataset("sales")
                client.query_and_wait(
                    "CREATE TABLE sales.totals AS SELECT 'c-1' AS customer_id, NUMERIC '9.5' AS total"
                )
            else:
                assert [t.table_id for t in client.list_tables("sales")] == ["totals"]
                assert [(r.customer_id, r.total) for r in client.query_and_wait("SELECT * FROM sales.totals")] == [
                    ("c-1", Decimal("9.5"))
                ]
        finally:
            client.close()
            fake.stop()
