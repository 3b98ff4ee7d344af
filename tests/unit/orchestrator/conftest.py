"""Fixtures for the orchestrator: an installation in a temp folder, real stores, the service."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
from dataclasses import replace

import pytest
from orchestrator_support import TOKEN

from winter_days.orchestrator.app import create_app
from winter_days.runs.sqlite import SqliteRunStore
from winter_days.orchestrator.options import OrchestratorOptions
from winter_days.runs.owner import ProcessOwner, process_start_ticks
from winter_days.orchestrator.pipeline import RunPipeline, RunStep
from winter_days.orchestrator.steps import export_step, guarded


@pytest.fixture
def options(settings) -> OrchestratorOptions:
    return OrchestratorOptions(
        poll_interval_seconds=0.01,
        poll_timeout_seconds=5.0,
        auth_token=TOKEN,
        auth_token_source="test",
        history_path=settings.home / "orchestrator.sqlite3",
    )


@pytest.fixture
def history(options) -> SqliteRunStore:
    return SqliteRunStore(options.history_path)


@pytest.fixture
def export_pipeline(settings) -> RunPipeline:
    """The real export step alone, over the installation's document store and lake."""
    return RunPipeline((RunStep("export_sales", guarded(export_step, settings)),))


@pytest.fixture
def make_app(settings, options):
    """Build the service over a given pipeline; logs go to a buffer the test can read."""

    def build(pipeline: RunPipeline, **config):
        log_stream = io.StringIO()
        app = create_app(
            {"TESTING": True, "SETTINGS": settings, "OPTIONS": config.pop("OPTIONS", options), "PIPELINE": pipeline,
             "LOG_STREAM": log_stream, **config}
        )
        app.log_stream = log_stream
        return app

    return build


@pytest.fixture
def open_options(options) -> OrchestratorOptions:
    return replace(options, auth_token=None, auth_disabled=True)


@pytest.fixture
def live_owner():
    """A real process of this host that stays alive for the test."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield ProcessOwner(socket.gethostname(), proc.pid, process_start_ticks(proc.pid))
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def dead_owner():
    """A real process of this host that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    owner = ProcessOwner(socket.gethostname(), proc.pid, process_start_ticks(proc.pid))
    proc.kill()
    proc.wait()
    return owner
