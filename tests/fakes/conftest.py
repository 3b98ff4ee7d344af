"""Retry policies that keep the client's own retry logic but wait milliseconds, not seconds."""

from __future__ import annotations

import pytest


@pytest.fixture
def fast_retry():
    """The client's DEFAULT_RETRY (same predicate) with millisecond back-off."""
    bigquery = pytest.importorskip(
        "google.cloud.bigquery", reason="google-cloud-bigquery (the [gcp] extra) is not installed"
    )
    return bigquery.DEFAULT_RETRY.with_delay(initial=0.01, maximum=0.05, multiplier=2).with_timeout(20)


@pytest.fixture
def fast_job_retry():
    """The client's DEFAULT_JOB_RETRY (same predicate) with millisecond back-off."""
    retry = pytest.importorskip(
        "google.cloud.bigquery.retry", reason="google-cloud-bigquery (the [gcp] extra) is not installed"
    )
    return retry.DEFAULT_JOB_RETRY.with_delay(initial=0.01, maximum=0.05, multiplier=2).with_timeout(20)
