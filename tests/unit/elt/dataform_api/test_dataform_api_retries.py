"""Retries of the Dataform API backend: 429/5xx with backoff and Retry-After, no retry on other 4xx."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from winter_days.elt.backend import InvocationConfig, InvocationState
from winter_days.elt.engines.dataform_api import DataformApiError
from winter_days.elt.engines.dataform_api.transport import RetryPolicy, parse_retry_after


def test_503_is_retried_with_exponential_backoff(backend, dataform_server, sleeps):
    dataform_server.fail(503, times=3, method="POST", path_contains="/compilationResults")

    compilation = backend.compile()

    assert compilation.compilation_errors == ()
    assert len(dataform_server.requests_to("POST", "/compilationResults")) == 4
    assert sleeps == [1.0, 2.0, 4.0]


def test_429_waits_as_long_as_retry_after_says(backend, dataform_server, sleeps):
    compilation = backend.compile()
    invocation = backend.invoke(compilation, InvocationConfig())
    dataform_server.fail(429, times=2, method="GET", path_contains="/workflowInvocations/", retry_after="7",
                         message="Quota exceeded for quota metric 'Read requests'.")

    status = backend.get(invocation)

    assert status.state is InvocationState.SUCCEEDED
    assert sleeps == [7.0, 7.0]


def test_retry_after_as_an_http_date():
    now = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=lambda: now) == 30.0
    assert parse_retry_after("not a date") is None


def test_backoff_is_capped_and_attempts_are_bounded(make_backend, dataform_server, sleeps):
    dataform_server.fail(500, times=100, message="Internal error encountered.")
    backend = make_backend()

    with pytest.raises(DataformApiError) as raised:
        backend.compile()

    assert len(dataform_server.requests) == RetryPolicy().max_attempts
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0]
    message = str(raised.value)
    assert "POST projects/winter-proj/locations/europe-west1/repositories/winter-days/compilationResults" in message
    assert "HTTP 500 INTERNAL: Internal error encountered." in message
    assert "gave up after 6 attempts" in message
    assert raised.value.status == 500


@pytest.mark.parametrize(
    ("status", "rpc_status", "text"),
    [(400, "INVALID_ARGUMENT", "Invalid workspace."), (403, "PERMISSION_DENIED", "Permission 'dataform.compilationResults.create' denied.")],
)
def test_other_4xx_fail_at_once_with_the_api_message(backend, dataform_server, sleeps, status, rpc_status, text):
    dataform_server.fail(status, times=5, message=text)

    with pytest.raises(DataformApiError) as raised:
        backend.compile()

    assert len(dataform_server.requests) == 1 and sleeps == []
    assert raised.value.status == status and raised.value.rpc_status == rpc_status
    assert f"HTTP {status} {rpc_status}: {text}" in str(raised.value)
    assert "gave up" not in str(raised.value)


def test_errors_name_the_resource_and_never_the_token(backend, dataform_server, access_token):
    with pytest.raises(DataformApiError) as raised:
        backend.get("0badc0ffee00")

    message = str(raised.value)
    assert "GET projects/winter-proj/locations/europe-west1/repositories/winter-days/workflowInvocations/0badc0ffee00" in message
    assert "HTTP 404 NOT_FOUND" in message
    assert access_token not in message and "Bearer" not in message
    # The token was sent: the fake refuses requests without one.
    assert dataform_server.requests[0].headers["authorization"] == f"Bearer {access_token}"


def test_a_wrong_repository_is_a_not_found_naming_it(make_backend):
    with pytest.raises(DataformApiError, match="HTTP 404 NOT_FOUND: Repository '.*repositories/missing' not found"):
        make_backend(repository="missing").compile()


def _closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def test_reads_are_retried_when_the_service_does_not_answer(make_backend, sleeps):
    backend = make_backend(api_url=_closed_port_url())

    with pytest.raises(DataformApiError, match="no answer after 6 attempt"):
        backend.get("0badc0ffee00")

    assert len(sleeps) == 5


def test_creating_an_invocation_is_never_resent_after_a_lost_answer(make_backend, dataform_server, sleeps):
    compilation = make_backend().compile()
    backend = make_backend(api_url=_closed_port_url())

    with pytest.raises(DataformApiError, match=r"POST .*/workflowInvocations: no answer after 1 attempt"):
        backend.invoke(compilation, InvocationConfig())

    assert sleeps == []
