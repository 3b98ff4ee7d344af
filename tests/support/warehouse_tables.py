"""Published warehouses for tests: the same Arrow tables in a DuckDB file (local profile) or
in the BigQuery fake (gcp profile), and the BigQuery adapter pointed at the fake.

A test builds the tables it reads once and publishes them to either adapter, so the same
assertions run against both (tests/contracts/warehouse.py), and a DuckDB warehouse built
by other test helpers can be copied table for table into the fake.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from winter_days.config import Settings, load_settings
from winter_days.warehouse.tables import TableName

FAKE_PROJECT = "winter-proj"


def publish_duckdb(path: Path, tables: Mapping[TableName, pa.Table]) -> Path:
    """Write the tables into the DuckDB file at `path` (made when absent)."""
    with duckdb.connect(str(path)) as con:
        con.execute("SET TimeZone = 'UTC'")
        for name, table in tables.items():
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {name.dataset}")
            con.register("published_rows", table)
            con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM published_rows")
            con.unregister("published_rows")
    return path


def publish_bigquery(client: Any, tables: Mapping[TableName, pa.Table], suffix: str = "") -> None:
    """Load the tables into BigQuery datasets (named with `suffix`) through load jobs."""
    from google.cloud import bigquery

    for name, table in tables.items():
        dataset = f"{name.dataset}_{suffix}" if suffix else name.dataset
        client.create_dataset(dataset, exists_ok=True)
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        buffer.seek(0)
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET, write_disposition=bigquery.WriteDisposition.WRITE_TRUNCATE
        )
        client.load_table_from_file(buffer, f"{client.project}.{dataset}.{name.name}", job_config=config).result()


def duckdb_tables(path: Path) -> dict[TableName, pa.Table]:
    """Every table of a DuckDB warehouse file, by logical name."""
    with duckdb.connect(str(path), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        names = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'"
        ).fetchall()
        return {TableName(s, t): con.sql(f'SELECT * FROM "{s}"."{t}"').to_arrow_table() for s, t in names}


def gcp_settings(root: Path, endpoint: str, **environ: str) -> Settings:
    """gcp-profile settings whose warehouse is the BigQuery fake at `endpoint`."""
    return load_settings(
        environ={
            "WINTER_DAYS_PROFILE": "gcp",
            "WINTER_DAYS_GCP_PROJECT_ID": FAKE_PROJECT,
            "WINTER_DAYS_GCP_BUCKET": "winter-lake",
            "WINTER_DAYS_BIGQUERY_API_ENDPOINT": endpoint,
            **environ,
        },
        cwd=root,
    )


def fast_retries() -> dict[str, Any]:
    """The client's own retry policies (same predicates) with millisecond back-off."""
    from google.cloud import bigquery
    from google.cloud.bigquery.retry import DEFAULT_JOB_RETRY

    return {
        "retry": bigquery.DEFAULT_RETRY.with_delay(initial=0.01, maximum=0.05, multiplier=2).with_timeout(30),
        "job_retry": DEFAULT_JOB_RETRY.with_delay(initial=0.01, maximum=0.05, multiplier=2).with_timeout(30),
    }


def bigquery_warehouse(settings: Settings) -> Any:
    """The gcp profile's BigQuery adapter for `settings`, with fast back-off."""
    from winter_days.warehouse.bigquery import BigQueryWarehouse

    return BigQueryWarehouse.from_settings(settings, **fast_retries())
