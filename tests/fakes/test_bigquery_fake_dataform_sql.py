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

bigquery = pytest.importorskip("google.cloud.bigquery", reason="google-cloud-bigquery (the [gcp] extra) is not installed")

from fakes.bigquery import FakeBigQueryServer  # noqa: E402
from winter_days.elt.backend import InvocationConfig, InvocationState  # noqa: E402
from winter_days.elt.engines.duckdb.executor import DuckDBExecutor, open_session  # noqa: E402
from winter_days.elt.sqlx import compile_project  # noqa: E402
from winter_days.export import export_sales  # noqa: E402
from winter_days.simulation import DailyVolumes, DaySimulator  # noqa: E402
from winter_days.stores import open_lake  # noqa: E402

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
    "winter_days_warehouse.dim_startup": "startup_id",
}
# Stamped with CURRENT_TIMESTAMP() when the row was written (or copied from such a stamp).
RUN_TIME_COLUMNS = {"parsed_at", "staged_at", "loaded_at"}


def dataform_sql(action: dict[str, Any], section: str, client: Any) -> str:
    """The SQL the Dataform runner sends for one action (execution_sql.ts)."""
    target = "`{database}.{schema}.{name}`".format(**action["target"])
    if section == "operations":
        return ";\n".join(q.strip().rstrip(";") for q in action["queries"])
    if section == "assertions" or action["type"] == "view":
        return f"create or replace view {target} as {action['query']}"
    exists = action["type"] == "incremental" and _exists(client, target)
    if not exists:
        bq = action.get("bigquery") or {}
        partition = f"partition by {bq['partitionBy']} " if bq.get("partitionBy") else ""
        cluster = f"cluster by {', '.join(bq['clusterBy'])} " if bq.get("clusterBy") else ""
        statements = [*action.get("preOps", []), f"create or replace table {target} {partition}{cluster}\n    as {action['query']}"]
        return ";\n".join(s.strip().rstrip(";") for s in statements)
    columns = [f.name for f in client.get_table(target.strip("`")).schema]
    quoted = ",".join(f"`{c}`" for c in columns)
    query = action.get("incrementalQuery") or action["query"]
    if action.get("uniqueKey"):
        on = " and ".join(f"T.{k} = S.{k}" for k in action["uniqueKey"])
        updates = ",".join(f"`{c}` = S.{c}" for c in columns)
        main = f"merge {target} T\nusing ({query}\n) S\non {on}\nwhen matched then\n  update set {updates}\nwhen not matched then\n  insert ({quoted}) values ({quoted})"
    else:
        main = f"insert into {target}\n({quoted})\nselect {quoted}\nfrom ({query}) as insertions"
    return ";\n".join([*(s.strip().rstrip(";") for s in action.get("incrementalPreOps", [])), main])


def _exists(client: Any, target: str) -> bool:
    try:
        client.get_table(target.strip("`"))
        return True
    except Exception:
        return False


def run_on_fake(client: Any, graph: dict[str, Any]) -> None:
    actions = {(a["target"]["schema"], a["target"]["name"]): (a, s) for s in ("tables", "operations", "assertions") for a in graph.get(s, [])}
    order: list[tuple[str, str]] = []

    def visit(key: tuple[str, str]) -> None:
        if key in order or key not in actions:
            return
        for dependency in actions[key][0].get("dependencyTargets", []):
            visit((dependency["schema"], dependency["name"]))
        order.append(key)

    for key in sorted(actions):
        visit(key)
    for dataset in sorted({schema for schema, _ in actions}):
        client.create_dataset(dataset, exists_ok=True)
    for key in order:
        action, section = actions[key]
        client.query(dataform_sql(action, section, client), job_retry=None).result()
        if section == "assertions":
            failing = list(client.query_and_wait("select sum(1) as row_count from `{database}.{schema}.{name}`".format(**action["target"])))
            assert failing[0].row_count is None, f"assertion {key} fails on the fake"


def comparable(rows: list[dict[str, Any]]) -> list[tuple]:
    return [tuple((k, v) for k, v in row.items() if k not in RUN_TIME_COLUMNS) for row in rows]


def test_models_give_the_local_engines_rows(settings, tmp_path):
    simulator = DaySimulator(settings, DailyVolumes(sales=60, clicks=300, startups=12))
    lake = open_lake(settings)
    graph = compile_project(DATAFORM)
    fake = FakeBigQueryServer(project=graph["projectConfig"]["defaultDatabase"], lake_root=settings.lake_root).start()
    client = fake.client()
    local = DuckDBExecutor(tmp_path / "warehouse.duckdb", settings.lake_root)
    watermark = None
    try:
        for offset, run_id in enumerate(("run-1", "run-2")):  # the second run takes the incremental paths
            simulator.write_day(settings.population_start + timedelta(days=offset))
            watermark = export_sales(simulator.store, lake, watermark, run_id).new_watermark
            result = local.run(graph, InvocationConfig())
            assert result.state is InvocationState.SUCCEEDED, [(str(a.target), a.failure_reason) for a in result.actions if a.failure_reason]
            run_on_fake(client, graph)

        session = open_session(tmp_path / "warehouse.duckdb", read_only=True)
        for table, key in COMPARED.items():
            expected = session.sql(f"SELECT * FROM {table} ORDER BY {key}").to_arrow_table().to_pylist()
            got = fake.sql(f"SELECT * FROM {table} ORDER BY {key}")
            columns = [f.name for f in client.get_table(table).schema]
            assert len(got) == len(expected) > 0, table
            assert comparable([dict(zip(columns, row)) for row in got]) == comparable(expected), table
        session.close()
    finally:
        client.close()
        fake.stop()
        simulator.store.close()
