"""Reading Dataform REST v1 resources: timestamps as Google writes them, unknown enums refused."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from winter_days.elt.backend import ActionState, InvocationState
from winter_days.elt.engines.dataform_api import DataformApiError
from winter_days.elt.engines.dataform_api.wire import parse_action, parse_timestamp, parse_workflow_invocation

NAME = "projects/p/locations/l/repositories/r/workflowInvocations/abc"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-03-01T02:00:00Z", datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)),
        ("2026-03-01T02:00:00.123456789Z", datetime(2026, 3, 1, 2, 0, 0, 123456, tzinfo=timezone.utc)),
        ("2026-03-01T03:00:00.5+01:00", datetime(2026, 3, 1, 2, 0, 0, 500000, tzinfo=timezone.utc)),
    ],
)
def test_timestamps_in_every_rfc3339_form(raw, expected):
    assert parse_timestamp(raw, NAME) == expected


def test_an_unreadable_timestamp_names_the_resource():
    with pytest.raises(DataformApiError, match=f"{NAME}: unreadable timestamp '01/03/2026'"):
        parse_timestamp("01/03/2026", NAME)


def test_an_invocation_with_defaults_omitted():
    invocation = parse_workflow_invocation({"name": NAME, "state": "CANCELING"}, NAME)
    assert invocation.state is InvocationState.CANCELING and not invocation.state.finished
    assert invocation.invocation_timing.start_time is None
    assert invocation.invocation_config.included_tags == ()


def test_an_unknown_state_is_an_error_not_a_guess():
    with pytest.raises(DataformApiError, match="unknown InvocationState 'PAUSED'"):
        parse_workflow_invocation({"name": NAME, "state": "PAUSED"}, NAME)


def test_an_action_without_state_is_pending_and_without_target_is_refused():
    action = parse_action({"target": {"schema": "s", "name": "t"}, "notebookAction": {}}, NAME, {})
    assert action.state is ActionState.PENDING and action.kind == "notebook"
    with pytest.raises(DataformApiError, match="an action without a target name"):
        parse_action({"state": "RUNNING"}, NAME, {})
