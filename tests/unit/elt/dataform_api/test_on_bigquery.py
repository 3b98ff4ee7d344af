"""The Dataform API backend on a Dataform fake that compiles the real dataform/ repository
and runs its invocations on the BigQuery fake, as Dataform's runner sends the SQL.

Bronze is written by the generators and the export into a folder that stands in for the
lake bucket (the BigQuery fake reads gs://winter-lake/<path> from <folder>/<path>).
"""

from __future__ import annotations

import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest

pytest.importorskip("google.cloud.bigquery", reason="google-cloud-bigquery (the [gcp] extra) is not installed")

from fakes.bigquery import FakeBigQueryServer
from fakes.dataform_server import FakeDataformServer

from winter_days.config import load_settings
from winter_days.elt.backend import ActionState, InvocationConfig, InvocationState
from winter_days.elt.engines.dataform_api import DataformApiBackend
from winter_days.export import export_sales
from winter_days.orchestrator.pipeline import RunContext, RunParameters, StepFailed
from winter_days.orchestrator.steps import compile_step, invoke_step, poll_step
from winter_days.platform import build_platform
from winter_days.runs.sqlite import SqliteRunStore
from winter_days.simulation import DailyVolumes, DaySimulator

pytestmark = pytest.mark.slow

REPOSITORY = Path(__file__).resolve().parents[4] / "dataform"
SA = "dataform-runner@winter-proj.iam.gserviceaccount.com"
# Generous: the invocation runs in the fake's thread; this only bounds a broken run.
RUN_LIMIT_SECONDS = 300


@pytest.fixture(scope="module")
def bronze(tmp_path_factory):
    """Two simulated days of all flows, the sales exported to bronze Parquet (read only by the tests)."""
    root = tmp_path_factory.mktemp("local-installation")
    platform = build_platform(load_settings(environ={"WINTER_DAYS_HOME": str(root / "home")}, cwd=root))
    simulator = DaySimulator(platform, DailyVolumes(sales=40, clicks=150, startups=10))
    try:
        watermark = None
        for offset in range(2):
            simulator.write_day(platform.settings.population_start + timedelta(days=offset))
            watermark = export_sales(
                simulator.store, platform.lake, watermark, f"run-{offset}", pseudonyms=platform.pseudonymiser
            ).new_watermark
    finally:
        simulator.close()
        platform.close()
    return platform.settings.lake_root


@pytest.fixture
def bigquery(bronze):
    fake = FakeBigQueryServer(project="winter-proj", location="EU", lake_root=bronze).start()
    yield fake
    fake.stop()


def dataform(bigquery, repository: Path = REPOSITORY) -> FakeDataformServer:
    return FakeDataformServer(repository_dir=repository, bigquery=bigquery).start()


def gcp_settings(root: Path, server: FakeDataformServer, bigquery: FakeBigQueryServer, **environ: str):
    return load_settings(
        environ={
            "WINTER_DAYS_PROFILE": "gcp",
            "WINTER_DAYS_GCP_PROJECT_ID": "winter-proj",
            "WINTER_DAYS_GCP_BUCKET": "winter-lake",
            "WINTER_DAYS_DATAFORM_REPOSITORY": "winter-days",
            "WINTER_DAYS_DATAFORM_WORKSPACE": "production",
            "WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT": SA,
            "WINTER_DAYS_DATAFORM_API_ENDPOINT": server.endpoint,
            "WINTER_DAYS_BIGQUERY_API_ENDPOINT": bigquery.endpoint,
            "WINTER_DAYS_BIGQUERY_LOCATION": "EU",
            "WINTER_DAYS_ORCHESTRATOR_POLL_INTERVAL_SECONDS": "0.05",
            **environ,
        },
        cwd=root,
    )


def finished(backend: DataformApiBackend, invocation):
    deadline = time.monotonic() + RUN_LIMIT_SECONDS
    while True:
        status = backend.get(invocation)
        if status.state.finished or time.monotonic() > deadline:
            return status
        time.sleep(0.05)


def test_an_invocation_runs_the_compiled_models_on_bigquery(tmp_path, bigquery):
    server = dataform(bigquery)
    try:
        settings = gcp_settings(tmp_path, server, bigquery, WINTER_DAYS_DATAFORM_SCHEMA_SUFFIX="ci")
        backend = DataformApiBackend.from_settings(settings)
        compilation = backend.compile()
        assert compilation.compilation_errors == ()
        targets = {a["target"]["name"]: a["target"] for s in ("tables", "operations") for a in compilation.graph[s]}
        assert targets["fct_sales"] == {
            "database": "winter-proj",
            "schema": "winter_days_warehouse_ci",
            "name": "fct_sales",
        }

        status = finished(backend, backend.invoke(compilation, InvocationConfig()))
        assert status.state is InvocationState.SUCCEEDED, [
            (str(a.target), a.failure_reason) for a in status.actions if a.failure_reason
        ]
        assert {a.state for a in status.actions} == {ActionState.SUCCEEDED}
        by_name = {a.target.name: a for a in status.actions}
        assert by_name["fct_sales"].sql_script.startswith(
            "create or replace table `winter-proj.winter_days_warehouse_ci.fct_sales` partition by sale_date cluster by customer_id"
        )
        assert (
            by_name["ext_sales_gcs"].kind == "operations"
            and "gs://winter-lake/bronze/sales/*.parquet" in by_name["ext_sales_gcs"].sql_script
        )
        first = bigquery.sql("SELECT COUNT(*) FROM winter_days_warehouse_ci.fct_sales")[0][0]
        assert first == 80

        # A second invocation takes the incremental paths: MERGE on the unique key, nothing doubled.
        status = finished(backend, backend.invoke(backend.compile(), InvocationConfig()))
        assert status.state is InvocationState.SUCCEEDED
        assert {a.target.name: a for a in status.actions}["fct_sales"].sql_script.startswith(
            "merge `winter-proj.winter_days_warehouse_ci.fct_sales` T"
        )
        assert bigquery.sql("SELECT COUNT(*) FROM winter_days_warehouse_ci.fct_sales")[0][0] == first
        assert bigquery.sql(
            "SELECT COUNT(*) FROM winter_days_assertions_ci.winter_days_warehouse_fct_sales_assertions_rowConditions"
        ) == [(0,)]
    finally:
        server.stop()


def broken_repository(tmp_path: Path, file: str, old: str, new: str) -> Path:
    copy = tmp_path / "dataform"
    shutil.copytree(REPOSITORY, copy, ignore=shutil.ignore_patterns("node_modules", ".df-*"))
    path = copy / file
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return copy


def steps_context(settings, tmp_path) -> RunContext:
    return RunContext("run-1", build_platform(settings), RunParameters(), SqliteRunStore(tmp_path / "runs.sqlite3"))


def test_a_failing_model_fails_its_action_by_name_and_skips_its_dependents(tmp_path, bigquery):
    repository = broken_repository(tmp_path, "definitions/sales/fct_sales.sqlx", "  s.product_id,", "  s.product_code,")
    server = dataform(bigquery, repository)
    try:
        settings = gcp_settings(tmp_path, server, bigquery)
        run = steps_context(settings, tmp_path)
        compile_step(lambda: DataformApiBackend.from_settings(settings))(run)
        invoke_step(run)
        with pytest.raises(StepFailed) as failed:
            poll_step(run)
        message = str(failed.value)
        assert "ended FAILED" in message
        assert (
            "winter-proj.winter_days_warehouse.fct_sales: bigquery error: Name product_code not found inside s"
            in message
        )

        status = run.handed_on["elt_backend"].get(run.handed_on["invocation"])
        states = {a.target.name: a.state for a in status.actions}
        assert states["fct_sales"] is ActionState.FAILED
        assert states["dim_customer"] is ActionState.SKIPPED and states["agg_cust_metrics"] is ActionState.SKIPPED
        assert states["stg_click"] is ActionState.SUCCEEDED  # another flow is not held back
    finally:
        server.stop()


def test_a_compile_error_names_the_file_and_line(tmp_path, bigquery):
    repository = broken_repository(
        tmp_path, "definitions/sales/fct_sales.sqlx", '${ref("stg_sales")}', '${ref("stg_sale")}'
    )
    server = dataform(bigquery, repository)
    try:
        settings = gcp_settings(tmp_path, server, bigquery)
        with pytest.raises(
            StepFailed, match=r"compilation error\(s\): definitions/sales/fct_sales.sqlx:\d+: .*stg_sale"
        ):
            compile_step(lambda: DataformApiBackend.from_settings(settings))(steps_context(settings, tmp_path))
        assert not bigquery.requests, "nothing may run after a failed compilation"
    finally:
        server.stop()


def test_the_elt_commands_drive_the_dataform_api(tmp_path, bigquery, monkeypatch):
    from click.testing import CliRunner

    from winter_days.cli import main

    server = dataform(bigquery)
    try:
        settings = gcp_settings(tmp_path, server, bigquery)
        for name in list(__import__("os").environ):
            if name.startswith("WINTER_DAYS_"):
                monkeypatch.delenv(name)
        for name, value in {
            "WINTER_DAYS_PROFILE": "gcp",
            "WINTER_DAYS_GCP_PROJECT_ID": "winter-proj",
            "WINTER_DAYS_GCP_BUCKET": "winter-lake",
            "WINTER_DAYS_DATAFORM_REPOSITORY": "winter-days",
            "WINTER_DAYS_DATAFORM_WORKSPACE": "production",
            "WINTER_DAYS_DATAFORM_SERVICE_ACCOUNT": SA,
            "WINTER_DAYS_DATAFORM_API_ENDPOINT": server.endpoint,
            "WINTER_DAYS_BIGQUERY_API_ENDPOINT": bigquery.endpoint,
            "WINTER_DAYS_BIGQUERY_LOCATION": "EU",
            "WINTER_DAYS_ORCHESTRATOR_POLL_INTERVAL_SECONDS": "0.05",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.chdir(tmp_path)
        assert settings.profile == "gcp"

        compiled = CliRunner().invoke(main, ["elt", "compile"])
        assert compiled.exit_code == 0, compiled.output
        assert "winter-proj.winter_days_warehouse.fct_sales" in compiled.output

        ran = CliRunner().invoke(main, ["elt", "run", "--actions", "winter_days_staging.stg_sales"])
        assert ran.exit_code == 0, ran.output
        assert "SUCCEEDED" in ran.output
        assert bigquery.sql("SELECT COUNT(*) FROM winter_days_staging.stg_sales")[0][0] == 80
        assert not bigquery.sql("SELECT table_name FROM information_schema.tables WHERE table_name = 'fct_sales'")
    finally:
        server.stop()
