"""A run's lineage file holds, line for line, the JSON openlineage-python's own serialiser writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from openlineage.client.serde import Serde

from winter_days.elt.backend import (
    ActionState,
    InvocationConfig,
    InvocationState,
    InvocationStatus,
    InvocationTiming,
    Target,
    WorkflowInvocation,
    WorkflowInvocationAction,
)
from winter_days.lineage import FileNaming, LineageSink, RunLineage

STARTED = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)
ENDED = datetime(2026, 6, 1, 2, 1, tzinfo=UTC)


class Recorded:
    """Keeps each event object the run hands its transport, then passes it on."""

    def __init__(self, transport):
        self.transport = transport
        self.events: list = []

    def emit(self, event) -> None:
        self.events.append(event)
        self.transport.emit(event)


def action(name: str, state: ActionState, reason: str | None = None) -> WorkflowInvocationAction:
    return WorkflowInvocationAction(
        target=Target("", "winter_days_warehouse", name),
        kind="table",
        state=state,
        failure_reason=reason,
        invocation_timing=InvocationTiming(STARTED, None if state is ActionState.RUNNING else ENDED),
    )


def status(*actions: WorkflowInvocationAction) -> InvocationStatus:
    invocation = WorkflowInvocation(
        name="workflowInvocations/local-1",
        compilation_result="compilationResults/local-1",
        invocation_config=InvocationConfig(),
        state=InvocationState.RUNNING,
        invocation_timing=InvocationTiming(STARTED),
    )
    return InvocationStatus(invocation, tuple(actions))


def test_the_run_file_is_what_openlineage_serialises_for_every_kind_of_event(tmp_path):
    naming = FileNaming(tmp_path / "warehouse.duckdb", tmp_path / "documents.sqlite3")
    sink = LineageSink(naming, folder=tmp_path / "lineage")
    run = RunLineage(sink, "20260601T020000Z-abc")
    graph = {
        "tables": [
            {
                "target": {"schema": "winter_days_warehouse", "name": "fct_sales"},
                "dependencyTargets": [{"schema": "winter_days_staging", "name": "stg_sales"}],
            },
            {"target": {"schema": "winter_days_warehouse", "name": "dim_customer"}},
        ]
    }

    run.run_started()
    recorded = Recorded(run._transport)
    run._transport = recorded
    run.step_started("poll")
    run.elt_actions(
        graph, status(action("fct_sales", ActionState.RUNNING), action("dim_customer", ActionState.PENDING))
    )
    run.elt_actions(
        graph,
        status(
            action("fct_sales", ActionState.SUCCEEDED),
            action("dim_customer", ActionState.FAILED, 'Binder Error: no column "x"'),
        ),
    )
    run.step_finished("poll", succeeded=False, error="invocation ended FAILED", outputs=[naming.collection("sales")])
    run.run_finished("failed", error="poll: invocation ended FAILED")

    lines = sink.run_file(run.run_id).read_text(encoding="utf-8").splitlines()
    # START of the run went out before the recorder was in place; every later line is compared.
    assert len(recorded.events) == 7 and len(lines) == 8
    for event, line in zip(recorded.events, lines[1:], strict=True):
        assert line == Serde.to_json(event)
    kinds = [(e["job"]["name"], e["eventType"]) for e in map(json.loads, lines)]
    assert kinds == [
        ("orchestrator.run", "START"),
        ("orchestrator.poll", "START"),
        ("elt.winter_days_warehouse.fct_sales", "START"),
        ("elt.winter_days_warehouse.fct_sales", "COMPLETE"),
        ("elt.winter_days_warehouse.dim_customer", "START"),
        ("elt.winter_days_warehouse.dim_customer", "FAIL"),
        ("orchestrator.poll", "FAIL"),
        ("orchestrator.run", "FAIL"),
    ]
    failed = json.loads(lines[5])
    assert failed["run"]["facets"]["errorMessage"]["message"] == 'Binder Error: no column "x"'
    assert [d["name"] for d in failed["outputs"]] == ["winter_days_warehouse.dim_customer"]
    assert [d["name"] for d in json.loads(lines[3])["inputs"]] == ["winter_days_staging.stg_sales"]
    # Every step and action names the same parent run, the run's own id.
    parents = {e["run"]["facets"]["parent"]["run"]["runId"] for e in map(json.loads, lines[1:7])}
    assert parents == {json.loads(lines[0])["run"]["runId"]}
