"""The service with a pipeline whose run stays active until the test creates a release file.

gunicorn loads it as `gated_service:create_gated_app()`; the release file is shared across
the workers and the test because it is a file, not a threading primitive.
"""

from __future__ import annotations

import time

from winter_days.config import load_settings
from winter_days.orchestrator.launcher import RunLauncher
from winter_days.orchestrator.pipeline import RunContext, RunPipeline, RunStep
from winter_days.orchestrator.steps import export_step, guarded
from winter_days.platform import build_platform
from winter_days.service import create_app

RELEASE_FILE = "release-gated-run"


def hold_until_released(context: RunContext) -> dict:
    release = context.platform.settings.home / RELEASE_FILE
    deadline = time.monotonic() + 120
    while not release.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{release} never appeared")
        time.sleep(0.05)
    return {"released": True}


def create_gated_app():
    platform = build_platform(load_settings())
    pipeline = RunPipeline((RunStep("export_sales", guarded(export_step)), RunStep("hold", hold_until_released)))
    return create_app(platform, launcher=RunLauncher(platform, pipeline))
