"""Each real step failing in turn: 500 naming it, the history recording it, the warehouse unchanged."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import date, timedelta

import duckdb
import pytest
from support.orchestrator_world import AUTH, service_app

from winter_days.elt.engines.duckdb.backend import DuckDBBackend
from winter_days.elt.sqlx import compile_project
from winter_days.generators.customers import pool_from_settings
from winter_days.generators.jobs import write_sales
from winter_days.ml.registry import Registry, version_key
from winter_days.orchestrator.pipeline import RunContext, RunParameters, RunPipeline, RunStep, execute_run
from winter_days.orchestrator.steps import SALES_WATERMARK, guarded, make_pipeline, ml_step
from winter_days.platform import build_platform
from winter_days.runs.sqlite import SqliteRunStore

pytestmark = pytest.mark.slow


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def predictions(settings) -> list[tuple]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(
            "SELECT customer_id, churn_probability, model_version, as_of_date"
            " FROM winter_days_warehouse.fact_predictions_churn ORDER BY ALL"
        ).fetchall()


def a_new_day_of_sales(settings) -> None:
    platform = build_platform(settings)
    store = platform.document_store()
    write_sales(store, platform.lake, pool_from_settings(settings, platform.pseudonymiser), date(2026, 4, 11), count=25)
    store.close()


def post_and_check_failure(settings, step: str, pipeline: RunPipeline | None = None, body: dict | None = None) -> dict:
    """POST /run, expect 500 naming `step`, and check the history recorded the same."""
    client = service_app(settings, pipeline).test_client()
    response = client.post("/run", headers=AUTH, json=body) if body else client.post("/run", headers=AUTH)
    assert response.status_code == 500, response.get_json()
    failure = response.get_json()
    assert failure["status"] == "failed" and failure["failed_step"] == step
    assert failure["error"].startswith(f"step {step} failed: ")
    assert "Traceback" not in response.get_data(as_text=True)
    recorded = client.get(f"/runs/{failure['run_id']}").get_json()
    assert recorded["status"] == "failed" and recorded["failed_step"] == step
    names = [s["name"] for s in recorded["steps"]]
    after = names.index(step) + 1
    assert {s["status"] for s in recorded["steps"][after:]} <= {"skipped"}
    return failure


def test_export_fails_on_an_unreadable_store(published):
    history = SqliteRunStore(published.run_store_path)
    before, watermark = digest(published.warehouse_path), history.watermark(SALES_WATERMARK)
    published.document_store_path.write_bytes(b"\0garbage" * 512)
    for suffix in ("-wal", "-shm"):
        published.document_store_path.with_name(published.document_store_path.name + suffix).unlink(missing_ok=True)

    failure = post_and_check_failure(published, "export_sales")

    assert "DatabaseError" in failure["error"]
    assert digest(published.warehouse_path) == before
    assert history.watermark(SALES_WATERMARK) == watermark


def test_compile_fails_on_a_bad_sqlx_file_and_names_it(published):
    before = digest(published.warehouse_path)
    a_new_day_of_sales(published)
    broken = published.dataform_dir / "definitions" / "sales" / "fct_sales_by_region.sqlx"
    broken.write_text(
        'config { type: "table" }\nSELECT region, SUM(total_amount) FROM ${ref("fct_sale")}\nGROUP BY 1\n'
    )

    failure = post_and_check_failure(published, "compile")

    assert "definitions/sales/fct_sales_by_region.sqlx:2" in failure["error"]
    assert "fct_sale" in failure["error"]
    assert digest(published.warehouse_path) == before
    # The export before it did succeed: its file stays in bronze for the next run.
    assert failure["steps"][0]["status"] == "succeeded" and failure["steps"][0]["counts"]["rows"] == 25


def test_invoke_fails_on_a_graph_it_cannot_run(published):
    before = digest(published.warehouse_path)
    graph = compile_project(published.dataform_dir)
    fct_sales = next(t for t in graph["tables"] if t["target"]["name"] == "fct_sales")
    missing = {**fct_sales["target"], "name": "fct_refunds"}
    fct_sales["dependencyTargets"] = [*fct_sales["dependencyTargets"], missing]

    def stale_graph_backend():
        return DuckDBBackend(published.dataform_dir, published.warehouse_path, published.lake_root, compiled=graph)

    pipeline = make_pipeline(build_platform(published), backend_factory=stale_graph_backend)
    failure = post_and_check_failure(published, "invoke", pipeline)

    assert "fct_refunds" in failure["error"] and "InvocationError" in failure["error"]
    assert digest(published.warehouse_path) == before


def test_invoke_fails_on_an_unreadable_warehouse_and_names_it_and_the_rebuild(published):
    published.warehouse_path.write_bytes(b"")

    failure = post_and_check_failure(published, "invoke")

    assert f"the warehouse {published.warehouse_path} cannot be read: it is empty" in failure["error"]
    assert "`winter-days elt rebuild`" in failure["error"] and ".build-" not in failure["error"]
    assert published.warehouse_path.read_bytes() == b""


def test_poll_fails_when_an_assertion_fails_and_nothing_is_published(published):
    before = digest(published.warehouse_path)
    a_new_day_of_sales(published)
    (published.dataform_dir / "definitions" / "sales" / "assert_no_large_orders.sqlx").write_text(
        'config { type: "assertion" }\nSELECT sale_id FROM ${ref("fct_sales")} WHERE quantity > 0\n'
    )

    failure = post_and_check_failure(published, "poll")

    assert "ended FAILED" in failure["error"] and "assert_no_large_orders" in failure["error"]
    assert digest(published.warehouse_path) == before


def test_ml_fails_on_a_tampered_champion_and_keeps_the_predictions(published):
    kept = predictions(published)
    registry = Registry(build_platform(published).lake)
    registry.lake.put(version_key(registry.alias("champion"), "model.skops"), b"not the registered model")

    failure = post_and_check_failure(published, "ml")

    assert "RegistryError" in failure["error"] and "model_sha256" in failure["error"]
    assert predictions(published) == kept


def test_a_run_as_of_a_date_before_the_champions_labels_succeeds_and_keeps_the_predictions(published):
    kept = predictions(published)
    early = published.population_start + timedelta(days=20)

    response = service_app(published).test_client().post("/run", headers=AUTH, json={"as_of": early.isoformat()})

    assert response.status_code == 200, response.get_json()
    counts = response.get_json()["steps"][-1]["counts"]
    assert counts["training"] == "skipped: not enough history (20 of 74 days)"
    assert counts["scoring"].startswith(f"skipped: no champion learnt from data up to {early}")
    assert predictions(published) == kept


HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(120)
"""


def test_a_held_warehouse_names_the_holding_process_instead_of_a_lock_error(published):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(published.warehouse_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        platform = build_platform(published)
        history = platform.run_store
        pipeline = RunPipeline((RunStep("ml", guarded(ml_step)),))
        started = history.start_run(pipeline.step_names, {"source": "cli"}, {})
        run = execute_run(pipeline, RunContext(started.run_id, platform, RunParameters(), history))
    finally:
        holder.kill()
        holder.wait()

    assert run["status"] == "failed"
    error = run["steps"][0]["error"]
    assert f"process {holder.pid}" in error and str(published.warehouse_path) in error
    assert "Wait for that process to finish" in error
    assert "Could not set lock" not in error


def test_poll_past_its_limit_cancels_the_invocation_and_publishes_nothing(published, monkeypatch):
    before = digest(published.warehouse_path)
    a_new_day_of_sales(published)
    from dataclasses import replace

    fast = replace(
        published, orchestrator=replace(published.orchestrator, poll_interval_seconds=0.01, poll_timeout_seconds=0.2)
    )
    failure = post_and_check_failure(fast, "poll")

    assert "did not finish within 0.2 s" in failure["error"] and "it was cancelled" in failure["error"]
    assert "still stopping" not in failure["error"]
    assert digest(published.warehouse_path) == before
