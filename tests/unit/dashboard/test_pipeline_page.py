"""Run checks and the lineage picture: states recorded or inferred from the run history."""

from __future__ import annotations

from pathlib import Path

from winter_days.dashboard import pipeline_page
from winter_days.dashboard.lineage import lineage_nodes, lineage_svg
from winter_days.elt.sqlx.compiler import compile_project

from dashboard_rows import page_results

GRAPH = compile_project(Path(__file__).resolve().parents[3] / "dataform")
NAMES = pipeline_page.all_action_names(GRAPH)
ASSERTIONS = pipeline_page.assertion_names(GRAPH)


def run(poll_status: str, counts: dict | None = None, error: str | None = None) -> dict:
    return {
        "run_id": "R1", "status": poll_status,
        "steps": [{"name": "poll", "status": poll_status, "counts": counts or {}, "error": error, "duration_seconds": 1.0}],
    }


def test_a_failed_poll_marks_the_actions_its_error_names():
    error = (
        "invocation workflowInvocations/local-2 ended FAILED; failing action(s): "
        "winter-days-local.winter_days_assertions.assert_fct_sales_customers_in_dim: 3 rows failed; "
        "winter-days-local.winter_days_warehouse.dim_startup: Binder Error: x"
    )
    states = pipeline_page.action_states(run("failed", error=error), NAMES)
    assert states == {"assert_fct_sales_customers_in_dim": "FAILED", "dim_startup": "FAILED"}
    checks = pipeline_page.run_checks(run("failed", error=error), ASSERTIONS)
    assert (checks.assertions_passed, checks.assertions_failed) == (0, 1)


def test_recorded_action_states_win_over_inference():
    recorded = {"action_states": {"winter_days_staging.stg_sales": "failed", "fct_sales": "SKIPPED"}}
    assert pipeline_page.action_states(run("failed", counts=recorded), NAMES) == {
        "stg_sales": "FAILED", "fct_sales": "SKIPPED"
    }


def test_a_succeeded_poll_means_every_action_succeeded_and_counts_quarantine():
    checks = pipeline_page.run_checks(run("succeeded", counts={"rows_quarantined_sales": 4}), ASSERTIONS)
    assert (checks.assertions_passed, checks.assertions_failed) == (len(ASSERTIONS), 0)
    assert checks.quarantined == {"sales": 4}


def test_lineage_draws_tables_with_their_checks_and_colours_failures():
    nodes = lineage_nodes(GRAPH, {"fct_sales": "FAILED", "stg_sales": "SUCCEEDED"})
    by_name = {n.name: n for n in nodes}
    assert "winter_days_warehouse_fct_sales_assertions_uniqueKey_0" not in by_name  # a built-in check, not a box
    assert "assert_fct_sales_customers_in_dim" in by_name  # a rule across tables is a box
    assert len(by_name["fct_sales"].assertion_states) >= 1
    assert by_name["fct_sales"].layer > by_name["stg_sales"].layer > by_name["ext_sales_gcs"].layer
    svg = lineage_svg(nodes)
    assert 'data-action="fct_sales" data-state="FAILED"' in svg and "stroke-width=\"2.5\"" in svg
    assert svg.count('class="lineage-node"') == len(nodes)


def test_row_accounting_and_quarantine_reasons_from_the_warehouse(small_warehouse):
    found = page_results(small_warehouse, pipeline_page.QUERIES)
    assert found["row_accounting"].rows == (
        ("clickstream", 9, 9, 0, 0, 0), ("sales", 10, 7, 2, 1, 0), ("startup", 5, 4, 1, 0, 0)
    )
    assert found["quarantine_reasons"].rows == (
        ("sales", "invalid value: region", 2), ("startup", "unparseable JSON line", 1)
    )
