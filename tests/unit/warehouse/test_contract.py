"""The warehouse port's contract on both adapters: DuckDB (local) and BigQuery (gcp, on the
BigQuery fake driven by the real google-cloud-bigquery client)."""

from __future__ import annotations

import pytest
from contracts.warehouse import WarehouseContract
from support.warehouse_tables import bigquery_warehouse, gcp_settings, publish_bigquery, publish_duckdb

from winter_days.warehouse.duckdb import DuckDBWarehouse


class TestDuckDBWarehouse(WarehouseContract):
    @pytest.fixture
    def publish(self, tmp_path):
        path = tmp_path / "warehouse.duckdb"
        return lambda tables: DuckDBWarehouse(publish_duckdb(path, tables))

    @pytest.fixture
    def unpublished(self, tmp_path):
        return DuckDBWarehouse(tmp_path / "warehouse.duckdb")


@pytest.mark.slow
class TestBigQueryWarehouse(WarehouseContract):
    @pytest.fixture
    def warehouse(self, tmp_path, bigquery_fake):
        built = bigquery_warehouse(gcp_settings(tmp_path, bigquery_fake.endpoint))
        yield built
        built.client.close()

    @pytest.fixture
    def publish(self, warehouse, bigquery_client):
        def published(tables):
            publish_bigquery(bigquery_client, tables)
            return warehouse

        return published

    @pytest.fixture
    def unpublished(self, warehouse):
        return warehouse
