"""The platform's own SQL models on the BigQuery fake give the rows the local engine gives.

The compiled dataform/ graph is run on the fake as the Dataform runner sends it to
BigQuery (cli/api/dbadapters/execution_sql.ts of dataform-co/dataform): `create or replace
table ... partition by ... cluster by ... as <query>` the first time, the incremental
pre-operations then `merge ... using (<incrementalQuery>)` (unique key) or `insert into
... select ... from (<incrementalQuery>)` once the table exists, assertions as views. Two
days of simulated data go through both engines; their gold and silver tables must match.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

bigquery = pytest.importorskip(
    "google.cloud.bigquery", reason="google-cloud-bigquery (the [gcp] extra) is not installed"
)

from fakes.bigquery import FakeBigQueryServer  # noqa: E402
from fakes.dataform_runner import GraphRun  # noqa: E402
from winter_days.elt.backend import InvocationConfig, InvocationState  # noqa: E402
from winter_days.elt.compilation_config import code_compilation_config  # noqa: E402
from winter_days.elt.engines.duckdb.executor import DuckDBExecutor, open_session  # noqa: E402
from winter_days.elt.sqlx import compile_project  # noqa: E402
from winter_days.export import export_sales  # noqa: E402
from winter_days.simulation import DailyVolumes, DaySimulator  # noqa: E402

pytestmark = pytest.mark.slow

DATAFORM = Path(__file__).resolve().parents[2] / "dataform"
COMPARED = {
    "winter_days_staging.stg_sales": "sale_id",
    "winter_days_staging.stg_click": "event_id",
    "winter_days_staging.stg_startup": "startup_id, updated_at",
    "winter_days_warehouse.fct_sales": "sale_id",
    "winter_days_warehouse.fct_sales_status_history": "sale_id, document_update_seq",
    "winter_days_warehouse.dim_customer": "customer_id",
    "winter_days_warehouse.agg_cust_metrics": "customer_id",
    "winter_days_warehouse.fct_click_features": "event_date, visitor_id",
    "winter_days_warehouse.fct_web_sessions": "event_date, session_id",
    "winter_days_warehouse.dim_startup": "startup_id",
}
# Stamped with CURRENT_TIMESTAMP() when the row was written (or copied from such a stamp).
RUN_TIME_COLUMNS = {"parsed_at", "staged_at", "loaded_at"}


def comparable(rows: list[dict[str, Any]]) -> list[tuple]:
    return [tuple((k, v) for k, v in row.items() if k not in RUN_TIME_COLUMNS) for row in rows]


def test_models_give_the_local_engines_rows(platform, tmp_path):
    simulator = DaySimulator(platform, DailyVolumes(sales=60, clicks=300, startups=12))
    settings, lake = platform.settings, platform.lake
    graph = compile_project(DATAFORM, code_compilation_config(settings)["vars"])
    fake = FakeBigQueryServer(project="winter-proj", lake_root=settings.lake_root).start()
    client = fake.client()
    local = DuckDBExecutor(tmp_path / "warehouse.duckdb", settings.lake_root)
    watermark = None
    try:
        for offset, run_id in enumerate(("run-1", "run-2")):  # the second run takes the incremental paths
            simulator.write_day(settings.population_start + timedelta(days=offset))
            watermark = export_sales(
                simulator.store, lake, watermark, run_id, pseudonyms=platform.pseudonymiser
            ).new_watermark
            result = local.run(graph, InvocationConfig())
            assert result.state is InvocationState.SUCCEEDED, [
                (str(a.target), a.failure_reason) for a in result.actions if a.failure_reason
            ]
            run = GraphRun(graph, fake.client, "winter-proj").run()
            assert run.state == "SUCCEEDED", [
                (a.item.key, a.failure_reason) for a in run.actions if a.state != "SUCCEEDED"
            ]
            assert {a.state for a in run.actions} == {"SUCCEEDED"}

        session = open_session(tmp_path / "warehouse.duckdb", read_only=True)
        for table, key in COMPARED.items():
            expected = session.sql(f"SELECT * FROM {table} ORDER BY {key}").to_arrow_table().to_pylist()
            got = fake.sql(f"SELECT * FROM {table} ORDER BY {key}")
            columns = [f.name for f in client.get_table(table).schema]
            assert len(got) == len(expected) > 0, table
            assert comparable([dict(zip(columns, row, strict=False)) for row in got]) == comparable(expected), table
        session.close()
    finally:
        client.close()
        fake.stop()
        simulator.close()
