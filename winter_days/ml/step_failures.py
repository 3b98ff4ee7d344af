"""Why a churn pipeline step failed, kept in the lake beside the run's artefacts.

On Vertex AI a failed component's exception is only in its container's log: the job says
no more than that a task's replica exited with a non-zero status. So a component records
its step and its error under `mlops/runs/<run_id>/failed.json` before it fails, and the ML
step reports that message (which says what to do, as the in-process error would) next to
the job id and its console page.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from winter_days.stores import Lake

FAILURE_FILE = "failed.json"
log = logging.getLogger("winter_days.ml")


def step_run_id(step: str, args: Sequence[str]) -> str | None:
    """The run id a component's arguments carry: build_features gets it as an argument,
    every later step in the summary it takes from the one before."""
    try:
        if step == "build_features":
            return args[1] or None
        return str(json.loads(args[0])["run_id"])
    except (IndexError, KeyError, TypeError, ValueError):
        return None


def record_step_failure(lake: Lake, key: str, step: str, error: BaseException) -> None:
    """Keep `error` at `key` (the run's FAILURE_FILE); never raises (the step's own error matters more)."""
    text = " ".join(str(error).split()) or type(error).__name__
    try:
        lake.put(key, json.dumps({"step": step, "error": f"{type(error).__name__}: {text}"}).encode())
    except Exception as err:  # the lake itself may be what failed
        log.warning("could not record the failure of step %s at %s: %s", step, key, err)


def read_step_failure(lake: Lake, key: str) -> dict[str, Any] | None:
    """The failure a component recorded at `key`, if any."""
    try:
        return dict(json.loads(lake.get(key)))
    except Exception:
        return None
