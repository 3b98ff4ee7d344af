"""Fixtures for the orchestrator: an installation in a temp folder, real stores, the service."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from support.orchestrator_requests import TOKEN

from winter_days.config import load_settings
from winter_days.orchestrator.launcher import RunLauncher
from winter_days.orchestrator.pipeline import RunPipeline, RunStep
from winter_days.orchestrator.steps import export_step, guarded
from winter_days.platform import build_platform
from winter_days.runs.sqlite import SqliteRunStore
from winter_days.service import create_app

FAST_POLLS = {
    "WINTER_DAYS_ORCHESTRATOR_POLL_INTERVAL_SECONDS": "0.01",
    "WINTER_DAYS_ORCHESTRATOR_POLL_TIMEOUT_SECONDS": "5",
}


@pytest.fixture
def settings(tmp_path, monkeypatch):
    """An installation whose service takes the test token and polls fast."""
    for name in list(__import__("os").environ):
        if name.startswith("WINTER_DAYS_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return load_settings(
        environ={"WINTER_DAYS_HOME": str(tmp_path / "home"), "WINTER_DAYS_AUTH_TOKEN": TOKEN, **FAST_POLLS}
    )


@pytest.fixture
def history(platform) -> SqliteRunStore:
    return platform.run_store


@pytest.fixture
def export_pipeline() -> RunPipeline:
    """The real export step alone, over the installation's document store and lake."""
    return RunPipeline((RunStep("export_sales", guarded(export_step)),))


@pytest.fixture
def make_app(platform):
    """Build the service over a given pipeline; logs go to a buffer the test can read."""

    def build(pipeline: RunPipeline, platform=platform, **kwargs):
        log_stream = io.StringIO()
        app = create_app(
            platform,
            launcher=RunLauncher(platform, pipeline),
            log_stream=log_stream,
            config={"TESTING": True},
            **kwargs,
        )
        app.log_stream = log_stream
        return app

    return build


@pytest.fixture
def open_platform(settings):
    """The installation with auth turned off."""
    built = build_platform(replace(settings, auth=replace(settings.auth, disabled=True, token="")))
    yield built
    built.close()
