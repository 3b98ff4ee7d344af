"""The orchestrator's compile, invoke and poll steps driving the Dataform API backend on the fake."""

from __future__ import annotations

import pytest

from fakes.dataform_server import FakeAction
from dataclasses import replace

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
