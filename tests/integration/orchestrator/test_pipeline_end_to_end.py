"""The whole chain over generated data: bronze -> silver -> gold -> predictions, by HTTP and CLI."""

from __future__ import annotations

import json

import duckdb
import pytest
from click.testing import CliRunner
from support.orchestrator_world import AUTH, service_app

from winter_days.orchestrator.cli import run as run_command
from winter_days.platform import build_platform
from winter_days.records import SALES_COLLECTION

pytestmark = pytest.mark.slow
STEPS = ["export_sales", "compile", "invoke", "poll", "ml"]


def warehouse_counts(settings) -> dict[str, int]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return {
            table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in (
                "winter_days_staging.stg_sales",
                "winter_days_warehouse.fct_sales",
                "winter_days_warehouse.dim_customer",
                "winter_days_warehouse.agg_cust_metrics",
                "winter_days_warehouse.fct_click_features",
                "winter_days_warehouse.dim_startup",
                "winter_days_warehouse.fact_predictions_churn",
            )
        }


def test_post_run_takes_generated_sales_to_gold_and_predictions(installation):
    documents = build_platform(installation).document_store().count(SALES_COLLECTION)
    client = service_app(installation).test_client()

    response = client.post("/run", headers=AUTH)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [s["name"] for s in body["steps"]] == STEPS
    assert all(s["status"] == "succeeded" for s in body["steps"])
    export, compiled, _, poll, ml = body["steps"]
    assert export["counts"]["rows"] == documents
    assert poll["counts"]["actions_succeeded"] == compiled["counts"]["actions"]
    assert "actions_failed" not in poll["counts"]
    assert poll["counts"]["rows_quarantined_sales"] == 0
    counts = warehouse_counts(installation)
    assert counts["winter_days_staging.stg_sales"] == documents
    assert counts["winter_days_warehouse.fct_sales"] == documents
    assert all(n > 0 for n in counts.values()), counts
    assert counts["winter_days_warehouse.fact_predictions_churn"] == ml["counts"]["predictions_written"]
    assert ml["counts"]["model_version"] and 0.5 < ml["counts"]["candidate_roc_auc"] <= 1.0

    # Nothing changed since: the export writes no file, the rest runs again and replaces, never duplicates.
    again = client.post("/run", headers=AUTH).get_json()
    assert again["status"] == "succeeded"
    assert again["steps"][0]["counts"]["rows"] == 0 and again["steps"][0]["counts"]["key"] is None
    assert warehouse_counts(installation) == counts


def test_winter_days_run_shows_progress_and_shares_the_history(installation):
    result = CliRunner().invoke(run_command, ["--json"], obj=build_platform(installation))

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "succeeded" and summary["trigger"] == {"source": "cli"}
    for step in STEPS:
        assert f"ok {step}" in result.stderr
    listed = service_app(installation).test_client().get("/runs").get_json()["runs"]
    assert [r["run_id"] for r in listed] == [summary["run_id"]]
    assert warehouse_counts(installation)["winter_days_warehouse.fact_predictions_churn"] > 0
    assert_lineage_of_every_step_and_action(installation, summary)


def test_a_one_day_old_install_runs_and_says_why_the_model_does_not_train_yet(tmp_path, monkeypatch):
    """A fresh install's daily run succeeds from day one: the ML step scores nothing and
    says how much history the model's time split still needs, in the run and on the page."""
    import os
    import shutil

    from support.orchestrator_world import REPO, installation_environ

    from winter_days.cli import main
    from winter_days.config import load_settings
    from winter_days.simulation import DailyVolumes, DaySimulator

    for name in list(os.environ):
        if name.startswith("WINTER_DAYS_"):
            monkeypatch.delenv(name)
    shutil.copytree(REPO / "dataform", tmp_path / "dataform", ignore=shutil.ignore_patterns("node_modules", ".df-*"))
    for name, value in installation_environ(tmp_path).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    platform = build_platform(settings)
    simulator = DaySimulator(platform, DailyVolumes(sales=40, clicks=100, startups=5))
    simulator.write_day(settings.population_start)
    simulator.close()
    platform.close()

    result = CliRunner().invoke(main, ["run", "--json"])

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["status"] == "succeeded"
    ml = summary["steps"][-1]
    assert ml["name"] == "ml" and ml["status"] == "succeeded"
    assert ml["counts"]["training"] == "skipped: not enough history (0 of 74 days)"
    assert ml["counts"]["scoring"] == f"skipped: no model trained on data up to {settings.population_start} yet"
    assert ml["counts"]["predictions_written"] == 0
    client = service_app(settings).test_client()
    for page in ("pipeline", "churn"):
        shown = client.get(f"/dashboard/{page}").get_data(as_text=True)
        assert "training skipped: not enough history (0 of 74 days)" in shown, page


def assert_lineage_of_every_step_and_action(settings, run: dict) -> None:
    """The run's OpenLineage events (a file under <home>/lineage/): START then COMPLETE for the
    run, each step and each ELT action the run executed, with file-path datasets."""
    events = [
        json.loads(line) for line in (settings.home / "lineage" / f"{run['run_id']}.jsonl").read_text().splitlines()
    ]
    by_job: dict[str, list[dict]] = {}
    for event in events:
        assert event["job"]["namespace"] == "winter-days" and event["eventTime"]
        by_job.setdefault(event["job"]["name"], []).append(event)
    for job, sent in by_job.items():
        assert [e["eventType"] for e in sent] == ["START", "COMPLETE"], job
        assert len({e["run"]["runId"] for e in sent}) == 1, job
    root_run = by_job["orchestrator.run"][0]["run"]["runId"]
    assert {f"orchestrator.{step}" for step in STEPS} < set(by_job)
    actions = {job for job in by_job if job.startswith("elt.")}
    assert len(actions) == run["steps"][1]["counts"]["actions"]
    for job in actions | {f"orchestrator.{step}" for step in STEPS}:
        assert by_job[job][0]["run"]["facets"]["parent"]["run"]["runId"] == root_run
    warehouse = settings.warehouse_path.as_uri()
    fct_sales = by_job["elt.winter_days_warehouse.fct_sales"][-1]
    assert [(o["namespace"], o["name"]) for o in fct_sales["outputs"]] == [
        (warehouse, "winter_days_warehouse.fct_sales")
    ]
    assert (warehouse, "winter_days_staging.stg_sales") in {(i["namespace"], i["name"]) for i in fct_sales["inputs"]}
    export = by_job["orchestrator.export_sales"][-1]
    assert [(i["namespace"], i["name"]) for i in export["inputs"]] == [
        (settings.document_store_path.as_uri(), "winter_sales")
    ]
    assert [(o["namespace"], o["name"]) for o in export["outputs"]] == [
        ("file", str(settings.lake_root / run["steps"][0]["counts"]["key"]))
    ]
    ml = by_job["orchestrator.ml"][-1]
    assert (warehouse, "winter_days_warehouse.fact_predictions_churn") in {
        (o["namespace"], o["name"]) for o in ml["outputs"]
    }


def test_after_a_key_rotation_a_full_export_gives_every_customer_the_new_pseudonym(published):
    """docs/pseudonyms.md: rotate the key, then `winter-days run --full-export`; staging keeps
    one row per sale, and every customer's name pseudonym is the new key's."""
    from winter_days.orchestrator.launcher import RunLauncher
    from winter_days.orchestrator.pipeline import RunParameters
    from winter_days.pseudonyms import Pseudonymiser, key_from_file

    def gold() -> tuple[dict[str, str], int]:
        with duckdb.connect(str(published.warehouse_path), read_only=True) as con:
            names = dict(
                con.execute(
                    "SELECT customer_id, customer_name_pseudonym FROM winter_days_warehouse.dim_customer"
                ).fetchall()
            )
            sales = con.execute("SELECT count(*) FROM winter_days_staging.stg_sales").fetchone()[0]
        return names, sales

    before, sales_before = gold()
    store = build_platform(published).document_store()
    try:
        documents = store.count(SALES_COLLECTION)
        latest_name: dict[str, tuple[int, str]] = {}
        for change in store.changed_since(SALES_COLLECTION, None):
            customer = change.document["customer_id"]
            if customer not in latest_name or change.seq > latest_name[customer][0]:
                latest_name[customer] = (change.seq, change.document["customer_name"])
    finally:
        store.close()
    key_file = published.pseudonym.key_file  # the settings make it absolute: <home>/pseudonym.key
    assert key_file is not None
    old = Pseudonymiser(key_from_file(key_file, create=False))
    assert before == {c: old.name(name) for c, (_, name) in latest_name.items()}
    key_file.unlink()  # rotation: the next run makes a new key

    platform = build_platform(published)
    try:
        run = RunLauncher(platform).trigger({"source": "test"}, RunParameters(ml=False, full_export=True)).run
    finally:
        platform.close()

    assert run is not None and run["status"] == "succeeded", run
    assert run["steps"][0]["counts"]["rows"] == documents
    new = Pseudonymiser(key_from_file(key_file, create=False))
    after, sales_after = gold()
    assert after == {c: new.name(name) for c, (_, name) in latest_name.items()}
    assert not set(after.values()) & set(before.values())
    assert sales_after == sales_before  # the re-export added no sale
