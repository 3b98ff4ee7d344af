"""Errors and injected faults on the BigQuery fake: the client raises its own exception
classes (naming the job) and its own retry policies ride out transient failures."""

from __future__ import annotations

import pytest

bigquery = pytest.importorskip(
    "google.cloud.bigquery", reason="google-cloud-bigquery (the [gcp] extra) is not installed"
)
from google.api_core import exceptions  # noqa: E402


@pytest.fixture
def ledger(bigquery_client):
    bigquery_client.create_dataset("ops")
    bigquery_client.query_and_wait("CREATE TABLE ops.ledger (entry INT64)")
    return "ops.ledger"


def test_a_failed_query_job_raises_the_reason_class_with_the_job_id(bigquery_client):
    job = bigquery_client.query("SELEC 1")
    with pytest.raises(exceptions.BadRequest, match="Syntax error") as bad:
        job.result()
    assert bad.value.errors[0]["reason"] == "invalidQuery"
    assert f"Job ID: {job.job_id}" in str(bad.value) and "Location: EU" in str(bad.value)
    assert job.error_result["reason"] == "invalidQuery"

    missing = bigquery_client.query("SELECT * FROM ops.nowhere")
    with pytest.raises(
        exceptions.NotFound, match="Not found: Dataset winter-proj:ops was not found in location EU"
    ) as absent:
        missing.result()
    assert f"Job ID: {missing.job_id}" in str(absent.value)


def test_a_job_id_can_be_used_once(bigquery_client):
    bigquery_client.query("SELECT 1", job_id="daily-load-2024-01-01", job_retry=None).result()
    with pytest.raises(exceptions.Conflict, match="Already Exists: Job winter-proj:EU.daily-load-2024-01-01"):
        bigquery_client.query("SELECT 2", job_id="daily-load-2024-01-01", job_retry=None)


@pytest.mark.parametrize(
    ("status", "reason"),
    [(429, "rateLimitExceeded"), (403, "rateLimitExceeded"), (500, "backendError"), (503, "backendError")],
)
def test_the_client_retries_transient_http_errors(bigquery_client, bigquery_fake, fast_retry, status, reason):
    bigquery_fake.fail(status, times=2, path_contains="/queries", reason=reason)
    rows = bigquery_client.query_and_wait("SELECT 'ok' AS answer", retry=fast_retry)
    assert [r.answer for r in rows] == ["ok"]
    assert len(bigquery_fake.requests_to("POST", "/queries")) == 3


def test_a_request_that_reached_bigquery_is_not_run_twice(bigquery_client, bigquery_fake, fast_retry, ledger):
    # jobs.query: the retry resends the same requestId, which names the job already made.
    bigquery_fake.fail(503, method="POST", path_contains="/queries", processed=True)
    bigquery_client.query_and_wait(f"INSERT INTO {ledger} VALUES (1)", retry=fast_retry)
    # jobs.insert: the retry meets its own job id (409) and the client fetches that job.
    bigquery_fake.fail(503, method="POST", path_contains="/jobs", processed=True)
    bigquery_client.query(f"INSERT INTO {ledger} VALUES (2)", retry=fast_retry).result(retry=fast_retry)
    assert bigquery_fake.sql("SELECT entry FROM ops.ledger ORDER BY 1") == [(1,), (2,)]


def test_other_client_errors_are_not_retried(bigquery_client, bigquery_fake, fast_retry):
    bigquery_fake.fail(400, times=5, path_contains="/datasets", message="Invalid request.")
    with pytest.raises(exceptions.BadRequest, match="Invalid request"):
        bigquery_client.get_dataset("ops", retry=fast_retry)
    assert len(bigquery_fake.requests_to("GET", "/datasets/ops")) == 1


def test_a_job_failing_for_a_transient_reason_is_run_again_as_a_new_job(
    bigquery_client, bigquery_fake, fast_retry, fast_job_retry, ledger
):
    bigquery_fake.fail_job("backendError", times=1, query_contains="INSERT")
    bigquery_fake.fail_job("rateLimitExceeded", times=1, query_contains="INSERT")
    job = bigquery_client.query(f"INSERT INTO {ledger} VALUES (7)", retry=fast_retry, job_retry=fast_job_retry)
    job.result(retry=fast_retry)
    inserted = [
        r
        for r in bigquery_fake.requests_to("POST", "/jobs")
        if r.body and "INSERT" in r.body["configuration"]["query"]["query"]
    ]
    assert len({r.body["jobReference"]["jobId"] for r in inserted}) == 3
    assert bigquery_fake.sql("SELECT entry FROM ops.ledger") == [(7,)]
    assert [j.error_result["reason"] for j in bigquery_client.list_jobs(state_filter="done") if j.error_result] == [
        "rateLimitExceeded",
        "backendError",
    ]


def test_a_failed_job_answers_get_query_results_with_its_error(bigquery_client, bigquery_fake):
    bigquery_fake.fail_job("quotaExceeded", message="Quota exceeded: too many bytes scanned today.")
    with pytest.raises(exceptions.Forbidden, match="too many bytes scanned today"):
        bigquery_client.query_and_wait("SELECT 1", job_retry=None)
