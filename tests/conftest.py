"""Shared fixtures: every test gets its own installation under a temp folder."""

from __future__ import annotations

import pytest

from winter_days.config import Settings, load_settings
from winter_days.platform import Platform, build_platform

# The shared adapter contracts (tests/contracts) assert outside test modules: have pytest explain their failures.
pytest.register_assert_rewrite("contracts")


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    """Local-profile settings rooted in tmp_path, isolated from the caller's environment."""
    for name in list(__import__("os").environ):
        if name.startswith("WINTER_DAYS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WINTER_DAYS_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    return load_settings()


@pytest.fixture
def platform(settings) -> Platform:
    """The local platform of the `settings` installation; its connections closed after the test."""
    built = build_platform(settings)
    yield built
    built.close()


@pytest.fixture
def bigquery_fake():
    """A fake BigQuery (REST v2) on 127.0.0.1 for project winter-proj, location EU, running
    queries on an in-memory DuckDB (tests/fakes/bigquery)."""
    from fakes.bigquery import FakeBigQueryServer

    server = FakeBigQueryServer(project="winter-proj", location="EU").start()
    yield server
    server.stop()


@pytest.fixture
def bigquery_client(bigquery_fake):
    """The real google-cloud-bigquery client pointed at `bigquery_fake` (anonymous credentials).
    Read results with to_arrow(create_bqstorage_client=False): the fake has no Storage Read API."""
    pytest.importorskip("google.cloud.bigquery", reason="google-cloud-bigquery (the [gcp] extra) is not installed")
    client = bigquery_fake.client()
    yield client
    client.close()
