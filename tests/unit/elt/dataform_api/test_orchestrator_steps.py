"""The orchestrator's compile, invoke and poll steps driving the Dataform API backend on the fake."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from fakes.dataform_server import FakeAction

from winter_days.orchestrator.pipeline import RunContext, RunParameters, StepFailed
from winter_days.orchestrator.steps import compile_step, invoke_step, poll_step
from winter_days.platform import build_platform
from winter_days.runs.sqlite import SqliteRunStore


@pytest.fixture
def context(gcp_settings, tmp_path):
    def make(timeout: float = 60.0, full_refresh: bool = False) -> RunContext:
        polls = replace(gcp_settings.orchestrator, poll_interval_seconds=0.01, poll_timeout_seconds=timeout)
        platform = build_platform(replace(gcp_settings, orchestrator=polls))
        history = SqliteRunStore(tmp_path / "orchestrator.sqlite3")
        return RunContext("run-1", platform, RunParameters(full_refresh=full_refresh), history)

    return make


def test_the_steps_run_the_graph_to_success(context, make_backend, dataform_server):
    dataform_server.running_polls = 2
    run = context(full_refresh=True)

    compiled = compile_step(make_backend)(run)
    invoked = invoke_step(run)
    polled = poll_step(run)

    assert compiled["actions"] == 6  # four tables, one operation, one assertion
    assert invoked == {"invocation": run.handed_on["invocation"].name, "full_refresh": True}
    (sent,) = dataform_server.requests_to("POST", "/workflowInvocations")
    assert sent.body["invocationConfig"]["fullyRefreshIncrementalTablesEnabled"] is True
    assert polled["polls"] == 3
    assert polled["actions_succeeded"] == 6
    # The API reports no row counts: quarantine counts are absent rather than a made-up zero.
    assert not [key for key in polled if key.startswith("rows_quarantined")]


def test_a_failed_action_fails_the_poll_step_naming_it(context, make_backend, dataform_server):
    dataform_server.actions[3] = FakeAction(
        "fct_sales", "winter_days_warehouse", "table", outcome="FAILED", failure_reason="Query error: Table not found"
    )
    run = context()
    compile_step(make_backend)(run)
    invoke_step(run)

    with pytest.raises(StepFailed) as raised:
        poll_step(run)

    message = str(raised.value)
    assert "ended FAILED" in message
    assert "winter-proj.winter_days_warehouse.fct_sales: Query error: Table not found" in message


def test_a_timeout_cancels_the_invocation(context, make_backend, dataform_server):
    dataform_server.running_polls = 10_000
    run = context(timeout=0.1)
    compile_step(make_backend)(run)
    invoke_step(run)

    with pytest.raises(StepFailed, match="it was cancelled"):
        poll_step(run)

    (cancel,) = dataform_server.requests_to("POST", ":cancel")
    assert cancel.path.endswith(run.handed_on["invocation"].name + ":cancel")
    assert make_backend().get(run.handed_on["invocation"]).state.value == "CANCELLED"


def test_compilation_errors_fail_the_compile_step_with_each_path(context, make_backend, dataform_server):
    dataform_server.compilation_errors = [{"message": "Syntax error", "path": "definitions/sales/stg_sales.sqlx"}]

    with pytest.raises(StepFailed, match="1 compilation error\\(s\\): definitions/sales/stg_sales.sqlx: Syntax error"):
        compile_step(make_backend)(context())


def test_the_poll_waits_at_most_what_is_left_of_the_run_deadline(context, make_backend, dataform_server):
    dataform_server.running_polls = 10_000
    run = context(timeout=3600.0)
    run.deadline = time.monotonic() + 0.2
    compile_step(make_backend)(run)
    invoke_step(run)

    with pytest.raises(StepFailed) as raised:
        poll_step(run)

    message = str(raised.value)
    assert "it was cancelled" in message
    assert "orchestrator.run_deadline_seconds (WINTER_DAYS_ORCHESTRATOR_RUN_DEADLINE_SECONDS)" in message
    assert dataform_server.requests_to("POST", ":cancel")


def test_each_action_sends_its_lineage_with_bigquery_names(gcp_settings, make_backend, dataform_server, tmp_path):
    from support.lineage_receiver import LineageReceiver

    receiver = LineageReceiver().start()
    try:
        settings = replace(
            gcp_settings,
            lineage=replace(gcp_settings.lineage, url=receiver.url),
            orchestrator=replace(gcp_settings.orchestrator, poll_interval_seconds=0.01),
        )
        platform = build_platform(settings)
        run = RunContext(
            "run-1",
            platform,
            RunParameters(),
            SqliteRunStore(tmp_path / "orchestrator.sqlite3"),
            lineage=platform.lineage.for_run("run-1"),
        )
        dataform_server.actions[3] = FakeAction(
            "fct_sales",
            "winter_days_warehouse",
            "table",
            outcome="FAILED",
            failure_reason="Query error: Table not found",
        )
        compile_step(make_backend)(run)
        invoke_step(run)
        with pytest.raises(StepFailed):
            poll_step(run)
    finally:
        receiver.stop()

    assert set(receiver.paths) == {"/api/v1/lineage"}
    sent = [(e["job"]["name"], e["eventType"]) for e in receiver.events]
    assert ("elt.winter_days_staging.stg_sales", "START") in sent
    assert ("elt.winter_days_staging.stg_sales", "COMPLETE") in sent
    assert ("elt.winter_days_warehouse.fct_sales", "FAIL") in sent
    failed = next(e for e in receiver.events if e["eventType"] == "FAIL")
    assert failed["run"]["facets"]["errorMessage"]["message"] == "Query error: Table not found"
    assert [(o["namespace"], o["name"]) for o in failed["outputs"]] == [
        ("bigquery", "winter-proj.winter_days_warehouse.fct_sales")
    ]
    # Each action that ran: one START, then one end; the declaration is no action.
    for job in {name for name, _ in sent}:
        kinds = [kind for name, kind in sent if name == job]
        assert kinds[0] == "START" and len(kinds) == 2 and kinds[1] in ("COMPLETE", "FAIL", "ABORT"), (job, kinds)
    assert "elt.winter_days_staging.ext_sales_gcs" not in {name for name, _ in sent}
