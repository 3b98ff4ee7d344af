"""Faults around the Dataform API: reads retried with backoff, and a graph that runs once whatever is lost.

Each case drives the official client against the fake server, which can fail a request
before serving it, or serve it and then lose the answer (HTTP 503, a dropped connection,
an answer that never comes).
"""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from fakes.dataform_server import run_to_end

from winter_days.elt.backend import InvocationConfig, InvocationState
from winter_days.elt.engines.dataform_api import DataformApiError, RetryPolicy
from winter_days.elt.engines.dataform_api.calls import parse_retry_after

INVOCATIONS = "/workflowInvocations"


def creates(server):
    return server.requests_to("POST", INVOCATIONS)


def listings(server):
    return server.requests_to("GET", INVOCATIONS)


def assert_ran_once(server, backend, invocation):
    """One invocation of the graph exists (or any other was cancelled before running), and it succeeds."""
    running = [name for name, tracked in server.invocations.items() if tracked.resource["state"] != "CANCELLED"]
    assert running == [invocation.name]
    assert run_to_end(backend, invocation).state is InvocationState.SUCCEEDED


# -- reads ---------------------------------------------------------------------------------


def test_429_on_polls_waits_as_long_as_retry_after_says(backend, dataform_server, sleeps):
    invocation = backend.invoke(backend.compile(), InvocationConfig())
    dataform_server.fail(
        429,
        times=2,
        method="GET",
        path_contains="/workflowInvocations/",
        retry_after="7",
        message="Quota exceeded for quota metric 'Read requests'.",
    )

    status = backend.get(invocation)

    assert status.state is InvocationState.SUCCEEDED
    assert sleeps == [7.0, 7.0]


def test_a_429_burst_on_every_read_still_runs_the_graph_once(backend, dataform_server, sleeps):
    dataform_server.running_polls = 2
    compilation = backend.compile()
    invocation = backend.invoke(compilation, InvocationConfig())
    dataform_server.fail(429, times=3, method="GET", path_contains=":query", retry_after="1")
    dataform_server.fail(429, times=3, method="GET", path_contains="/workflowInvocations/", retry_after="2")

    assert_ran_once(dataform_server, backend, invocation)
    assert sorted(sleeps) == [1.0] * 3 + [2.0] * 3


def test_retry_after_as_an_http_date():
    now = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=lambda: now) == 30.0
    assert parse_retry_after("not a date") is None


def test_backoff_is_capped_and_attempts_are_bounded(backend, dataform_server, sleeps):
    dataform_server.fail(500, times=100, message="Internal error encountered.")

    with pytest.raises(DataformApiError) as raised:
        backend.compile()

    assert len(dataform_server.requests) == RetryPolicy().max_attempts
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]
    message = str(raised.value)
    assert (
        "compilationResults.create projects/winter-proj/locations/europe-west1/repositories/winter-days/compilationResults"
        in message
    )
    assert "HTTP 500 INTERNAL: Internal error encountered." in message
    assert "gave up after 6 attempts" in message
    assert raised.value.status == 500


@pytest.mark.parametrize(
    ("status", "rpc_status", "text"),
    [
        (400, "INVALID_ARGUMENT", "Invalid workspace."),
        (403, "PERMISSION_DENIED", "Permission 'dataform.compilationResults.create' denied."),
    ],
)
def test_other_4xx_fail_at_once_with_the_api_message(backend, dataform_server, sleeps, status, rpc_status, text):
    dataform_server.fail(status, times=5, message=text)

    with pytest.raises(DataformApiError) as raised:
        backend.compile()

    assert len(dataform_server.requests) == 1 and sleeps == []
    assert raised.value.status == status and raised.value.rpc_status == rpc_status
    assert f"HTTP {status} {rpc_status}: {text}" in str(raised.value)
    assert "gave up" not in str(raised.value) and "http://" not in str(raised.value)


def test_errors_name_the_resource_and_never_the_token(make_backend, dataform_server):
    from google.oauth2.credentials import Credentials

    dataform_server.token = "ya29.test-access-token-never-shown"
    backend = make_backend(credentials=Credentials(token=dataform_server.token))

    with pytest.raises(DataformApiError) as raised:
        backend.get("0badc0ffee00")

    message = str(raised.value)
    assert (
        "workflowInvocations.get projects/winter-proj/locations/europe-west1/repositories/winter-days/workflowInvocations/0badc0ffee00"
        in message
    )
    assert "HTTP 404 NOT_FOUND" in message
    assert dataform_server.token not in message and "Bearer" not in message
    assert dataform_server.requests[0].headers["authorization"] == f"Bearer {dataform_server.token}"


def test_a_wrong_repository_is_a_not_found_naming_it(make_backend):
    with pytest.raises(DataformApiError, match="HTTP 404 NOT_FOUND: Repository '.*repositories/missing' not found"):
        make_backend(repository="missing").compile()


def _closed_port_endpoint() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_reads_are_retried_when_the_service_does_not_answer(make_backend, sleeps):
    backend = make_backend(api_endpoint=_closed_port_endpoint())

    with pytest.raises(DataformApiError, match=r"no answer \(ConnectionError\) after 6 attempt"):
        backend.get("0badc0ffee00")

    assert len(sleeps) == 5


def test_a_compilation_whose_answer_was_lost_is_compiled_again(backend, dataform_server, sleeps):
    dataform_server.fail(503, method="POST", path_contains="/compilationResults", after=True)

    compilation = backend.compile()

    # Two compilation results exist; the orphan is harmless (nothing runs it) and the run uses the second.
    assert len(dataform_server.compilations) == 2 and sleeps == [1.0]
    assert compilation.name == list(dataform_server.compilations)[-1]
    assert_ran_once(dataform_server, backend, backend.invoke(compilation, InvocationConfig()))


# -- creating an invocation ----------------------------------------------------------------


@pytest.mark.parametrize("fault", [503, "drop", "hang"], ids=["503", "connection-reset", "timeout"])
def test_an_invocation_created_before_its_answer_was_lost_is_adopted(make_backend, dataform_server, sleeps, fault):
    backend = make_backend(timeout=1.0)
    compilation = backend.compile()
    dataform_server.fail(fault, method="POST", path_contains=INVOCATIONS, after=True)

    invocation = backend.invoke(compilation, InvocationConfig(included_tags=("sales",)))

    assert len(creates(dataform_server)) == 1
    (listing,) = listings(dataform_server)
    assert listing.query["filter"] == [f'compilation_result = "{compilation.name}"']
    assert invocation.name in dataform_server.invocations and invocation.invocation_config.included_tags == ("sales",)
    assert_ran_once(dataform_server, backend, invocation)


def test_a_503_before_creation_is_resent_after_looking(backend, dataform_server, sleeps):
    compilation = backend.compile()
    dataform_server.fail(503, method="POST", path_contains=INVOCATIONS)

    invocation = backend.invoke(compilation, InvocationConfig())

    assert len(creates(dataform_server)) == 2
    # One listing before the resend found nothing; one after it found no stray.
    assert len(listings(dataform_server)) == 2 and sleeps == [1.0]
    assert_ran_once(dataform_server, backend, invocation)


def test_a_429_burst_on_create_is_waited_out_without_looking(backend, dataform_server, sleeps):
    compilation = backend.compile()
    dataform_server.fail(
        429,
        times=3,
        method="POST",
        path_contains=INVOCATIONS,
        retry_after="2",
        message="Quota exceeded for quota metric 'Write requests'.",
    )

    invocation = backend.invoke(compilation, InvocationConfig())

    assert len(creates(dataform_server)) == 4 and listings(dataform_server) == []
    assert sleeps == [2.0, 2.0, 2.0]
    assert_ran_once(dataform_server, backend, invocation)


def test_a_lost_create_that_surfaces_after_the_resend_is_cancelled(backend, dataform_server, sleeps):
    compilation = backend.compile()
    dataform_server.list_lag = 1  # the first listing after a create does not show it yet
    dataform_server.fail(503, method="POST", path_contains=INVOCATIONS, after=True)

    invocation = backend.invoke(compilation, InvocationConfig())

    assert len(creates(dataform_server)) == 2 and len(dataform_server.invocations) == 2
    (stray,) = [name for name in dataform_server.invocations if name != invocation.name]
    assert dataform_server.requests_to("POST", f"{stray}:cancel")
    assert backend.get(stray).state is InvocationState.CANCELLED
    assert_ran_once(dataform_server, backend, invocation)


def test_an_invocation_of_the_same_compilation_started_earlier_is_not_adopted(backend, dataform_server):
    compilation = backend.compile()
    first = backend.invoke(compilation, InvocationConfig(included_tags=("ops",)))
    run_to_end(backend, first)
    other_config = backend.invoke(compilation, InvocationConfig(included_tags=("sales",)))
    dataform_server.fail(503, method="POST", path_contains=INVOCATIONS)

    again = backend.invoke(compilation, InvocationConfig(included_tags=("ops",)))

    assert again.name not in (first.name, other_config.name)
    assert len(dataform_server.invocations) == 3


def test_when_the_list_filter_is_refused_the_listing_is_filtered_here(backend, dataform_server):
    compilation = backend.compile()
    dataform_server.list_filters = False
    dataform_server.fail(503, method="POST", path_contains=INVOCATIONS, after=True)

    invocation = backend.invoke(compilation, InvocationConfig())

    assert [r.query.get("filter") for r in listings(dataform_server)] == [
        [f'compilation_result = "{compilation.name}"'],
        None,
    ]
    assert_ran_once(dataform_server, backend, invocation)


def test_a_create_that_keeps_failing_stops_without_a_run(backend, dataform_server, sleeps):
    compilation = backend.compile()
    dataform_server.fail(503, times=100, method="POST", path_contains=INVOCATIONS)

    with pytest.raises(
        DataformApiError, match=f"after 6 attempt\\(s\\); no invocation of {compilation.name} was created"
    ):
        backend.invoke(compilation, InvocationConfig())

    assert len(creates(dataform_server)) == 6 and len(listings(dataform_server)) == 6
    assert dataform_server.invocations == {}


def test_when_the_invocations_cannot_be_listed_the_create_is_not_resent(backend, dataform_server):
    compilation = backend.compile()
    dataform_server.fail(503, method="POST", path_contains=INVOCATIONS, after=True)
    dataform_server.fail(
        403, method="GET", path_contains=INVOCATIONS, message="Permission 'dataform.workflowInvocations.list' denied."
    )

    with pytest.raises(DataformApiError) as raised:
        backend.invoke(compilation, InvocationConfig())

    message = str(raised.value)
    assert "whether it started the graph is unknown" in message and "dataform.workflowInvocations.list" in message
    assert "Look at the repository's workflow invocations" in message
    assert len(creates(dataform_server)) == 1 and len(dataform_server.invocations) == 1
