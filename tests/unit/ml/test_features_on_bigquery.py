"""The churn features from BigQuery (the fake, through the real client and the gcp adapter)
equal those from the local DuckDB warehouse, point-in-time reads included: the feature SQL
is written once."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest
from support.churn_rows import click, sale, write_warehouse
from support.warehouse_tables import bigquery_warehouse, duckdb_tables, gcp_settings, publish_bigquery

from winter_days.ml.features import FEATURE_COLUMNS, build_feature_table, data_span
from winter_days.warehouse.duckdb import DuckDBWarehouse

pytestmark = pytest.mark.slow

T = date(2026, 2, 28)
SALES = [
    sale("A", "2026-01-01T00:00:00", amount=100.0, payment="paypal"),
    sale("A", "2026-02-01T00:00:00", amount=50.0),
    sale("A", "2026-02-10T12:00:00", status="refunded", amount=30.0),
    sale("A", "2026-02-20T12:00:00", status="cancelled", amount=20.0, region="South"),
    sale("B", "2026-01-15T08:00:00", amount=12.0, payment="gift_card", region="East"),
    sale("B", "2026-02-28T23:59:59", amount=5.0),
    sale("C", "2026-02-15T00:00:00", status="cancelled"),
    sale("D", "2026-03-01T00:00:00"),
    sale("E", "2026-01-05T10:00:00", amount=80.0, payment="bank_transfer", region="West"),
    # Point in time: a refund known between the two dates, one known only after T, a sale
    # that arrived after T, and a click loaded after T.
    sale(
        "E",
        "2026-01-05T10:00:00",
        status="refunded",
        amount=80.0,
        payment="bank_transfer",
        region="West",
        sale_id="E-2026-01-05T10:00:00-completed",
        seq=2,
        known="2026-02-20T00:00:00",
    ),
    sale(
        "A",
        "2026-02-01T00:00:00",
        status="refunded",
        amount=50.0,
        sale_id="A-2026-02-01T00:00:00-completed",
        seq=2,
        known="2026-03-05T00:00:00",
    ),
    sale("B", "2026-02-20T00:00:00", amount=7.0, known="2026-03-02T00:00:00"),
]
CLICKS = [
    click("A", "2026-02-27T10:00:00", "add_to_cart", session="S1"),
    click("A", "2026-02-27T10:01:00", "checkout", session="S1"),
    click("A", "2026-02-10T10:00:00", bounce=True, session="S2"),
    click("A", "2026-01-20T10:00:00", session="S3"),
    click("E", "2026-02-25T09:00:00", "product_view", session="S4"),
    click("E", "2026-02-26T09:00:00", "add_to_cart", session="S5", loaded="2026-03-01T01:00:00"),
]


def features(reader) -> tuple[object, dict[tuple, dict]]:
    table = build_feature_table(reader, [T - timedelta(days=30), T], 30, label_until=T)
    return data_span(reader), {(r["as_of_date"], r["customer_id"]): r for r in table.to_pylist()}


def test_the_feature_table_is_the_same_on_bigquery(tmp_path, bigquery_fake, bigquery_client):
    local_file = write_warehouse(tmp_path / "w.duckdb", SALES, CLICKS)
    publish_bigquery(bigquery_client, duckdb_tables(local_file))
    remote = bigquery_warehouse(gcp_settings(tmp_path, bigquery_fake.endpoint))
    try:
        with DuckDBWarehouse(local_file).reader() as reader:
            local_span, expected = features(reader)
        with remote.reader() as reader:
            remote_span, got = features(reader)
    finally:
        remote.client.close()
    assert remote_span == local_span
    assert set(got) == set(expected) and len(expected) >= 4
    for key, row in expected.items():
        for column in (*FEATURE_COLUMNS, "churned"):
            mine, theirs = got[key][column], row[column]
            same = (mine is None and theirs is None) or (
                mine is not None
                and theirs is not None
                and (
                    math.isclose(mine, theirs, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(mine) and math.isnan(theirs))
                )
            )
            assert same, f"{key} {column}: BigQuery {mine} != DuckDB {theirs}"
