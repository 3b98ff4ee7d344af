"""Run checks and the lineage picture: states recorded or inferred from the run history."""

from __future__ import annotations

from pathlib import Path

from support.dashboard_rows import page_results

from winter_days.dashboard import pipeline_page
from winter_days.dashboard.charts import QueryResult
from winter_days.dashboard.lineage import lineage_nodes, lineage_svg
from winter_days.elt.sqlx.compiler import compile_project

GRAPH = compile_project(Path(__file__).resolve().parents[3] / "dataform")
NAMES = pipeline_page.all_action_names(GRAPH)
ASSERTIONS = pipeline_page.assertion_names(GRAPH)


def run(poll_status: str, counts: dict | None = None, error: str | None = None) -> dict:
    return {
        "run_id": "R1",
        "status": poll_status,
        "steps": [
            {"name": "poll", "status": poll_status, "counts": counts or {}, "error": error, "duration_seconds": 1.0}
        ],
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
        "stg_sales": "FAILED",
        "fct_sales": "SKIPPED",
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
    assert 'data-action="fct_sales" data-state="FAILED"' in svg and 'stroke-width="2.5"' in svg
    assert svg.count('class="lineage-node"') == len(nodes)


def test_row_accounting_and_quarantine_reasons_from_the_warehouse(small_warehouse):
    found = page_results(small_warehouse, pipeline_page.QUERIES)
    assert found["row_accounting"].rows == (
        ("clickstream", 9, 9, 0, 0, 0),
        ("sales", 10, 7, 2, 1, 0),
        ("startup", 5, 4, 1, 0, 0),
    )
    assert found["quarantine_reasons"].rows == (
        ("sales", "invalid value: region", 2),
        ("startup", "unparseable JSON line", 1),
    )


def history(starts: list[str]) -> list[dict]:
    """Runs as the run store lists them (newest first), started at `starts` (oldest first)."""
    runs = []
    for number, start in enumerate(starts):
        steps = [
            {"name": name, "status": "succeeded", "duration_seconds": seconds}
            for name, seconds in (("export_sales", 1.0 + number), ("poll", 2.5))
        ]
        runs.append(
            {
                "run_id": f"{start[:10].replace('-', '')}T{number:09d}Z-{number:08x}",
                "status": "succeeded",
                "started_at": f"{start}+00:00",
                "steps": steps,
            }
        )
    return runs[::-1]


def figure_of(runs: list[dict]) -> dict:
    columns, rows = pipeline_page.step_duration_rows(runs)
    return pipeline_page.step_durations_figure(QueryResult(tuple(columns), tuple(rows)))


def test_step_chart_labels_a_bounded_number_of_runs_by_short_start_time():
    starts = [f"2026-03-{1 + n // 24:02d}T{n % 24:02d}:05:00.000" for n in range(30)]
    figure = figure_of(history(starts))
    axis = figure["layout"]["xaxis"]
    # Every third run is labelled, counted back from the newest.
    assert axis["tickvals"] == list(range(2, 30, 3)) and axis["tickangle"] == -45
    assert axis["ticktext"][:2] == ["03-01 02:05", "03-01 05:05"] and axis["ticktext"][-1] == "03-02 05:05"
    assert figure["layout"]["legend"]["yref"] == "container"  # below the labels, not over them
    for trace in figure["data"]:
        assert trace["x"] == list(range(30))  # one bar per run, even when labels are left out
        assert [c[0] for c in trace["customdata"]] == [run["run_id"] for run in reversed(history(starts))]
        assert "%{customdata[0]}" in trace["hovertemplate"]
    assert [t["name"] for t in figure["data"]] == ["export_sales", "poll"]
    assert figure["data"][0]["y"][:2] == [1.0, 2.0] and figure["data"][1]["y"][0] == 2.5


def test_run_labels_stay_distinct_when_runs_start_close_together():
    assert pipeline_page.run_labels(["2026-03-01 10:00:05", "2026-03-01 10:07:00"]) == ["03-01 10:00", "03-01 10:07"]
    assert pipeline_page.run_labels(["2026-03-01 10:00:05", "2026-03-01 10:00:40"]) == [
        "03-01 10:00:05",
        "03-01 10:00:40",
    ]
    assert pipeline_page.run_labels(["2026-03-01 10:00:05"] * 3) == [
        "03-01 10:00:05",
        "03-01 10:00:05 (2)",
        "03-01 10:00:05 (3)",
    ]
    figure = figure_of(history(["2026-03-01T10:00:05.100", "2026-03-01T10:00:05.900"]))
    assert figure["layout"]["xaxis"]["ticktext"] == ["03-01 10:00:05", "03-01 10:00:05 (2)"]
