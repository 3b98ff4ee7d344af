"""A simulated day's lake flows (click events, the startup load), in this process or another.

The other process is a fresh interpreter running this module (`python -m`), not a
multiprocessing child: those re-run the caller's main script, which breaks any script that
lacks an `if __name__ == "__main__"` guard. The job goes to it pickled on stdin; the result,
or the failure with its traceback, comes back pickled on stdout.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from winter_days.generators.customers import CustomerPool
from winter_days.generators.jobs import write_clickstream, write_startups
from winter_days.stores import Lake

LAKE_FLOWS = "clickstream/startups"
STDERR_TAIL_CHARS = 2000

T = TypeVar("T")


class FlowError(Exception):
    """A flow of a simulated day that failed; the message names the day and the flow."""


def run_flow(name: str, day: date, action: Callable[[], T]) -> T:
    """`action()`, its failure raised as FlowError naming the flow and the day."""
    try:
        return action()
    except Exception as err:
        raise FlowError(f"{day}: the {name} flow failed: {type(err).__name__}: {err}") from err


@dataclass(frozen=True)
class LakeFlowsJob:
    """The day's lake flows. `lake` is None when whoever runs the job builds the platform's
    lake from `settings` (another process: a cloud lake's client need not survive pickling)."""

    settings: Any  # winter_days.config.Settings
    lake: Lake | None
    pool: CustomerPool
    day: date
    clicks: int
    startups: int | None  # None: not a startup load day


def write_lake_flows(job: LakeFlowsJob) -> tuple[int, int]:
    """Write the day's click events and, on a load day, its startup load; (clicks, startups)."""
    lake = job.lake if job.lake is not None else run_flow(LAKE_FLOWS, job.day, lambda: _platform_lake(job.settings))
    clicks = run_flow(
        "clickstream", job.day, lambda: write_clickstream(lake, job.pool, job.day, count=job.clicks)
    ).records
    startups = 0
    if job.startups is not None:
        load = lambda: write_startups(  # noqa: E731
            lake,
            job.settings.seed,
            job.settings.population_start,
            job.day,
            count=job.startups,
            pseudonyms=job.pool.pseudonyms,
        )
        startups = run_flow("startups", job.day, load).records
    return clicks, startups


def _platform_lake(settings: Any) -> Lake:
    from winter_days.platform import build_platform

    return build_platform(settings).lake


class LakeFlowsProcess:
    """`write_lake_flows(job)` running in another process from construction on; `result()`
    waits for it."""

    def __init__(self, job: LakeFlowsJob):
        self.day = job.day
        payload = pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)
        # The child imports the same code as this process, wherever that came from.
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self._process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self._output: tuple[bytes, bytes] = (b"", b"")
        # communicate() on a thread: the job is megabytes and the child reads it only once
        # it has imported numpy and Arrow, which this process need not wait for.
        self._thread = threading.Thread(
            target=self._communicate, args=(payload,), name=f"lake-flows-{job.day}", daemon=True
        )
        self._thread.start()

    def _communicate(self, payload: bytes) -> None:
        self._output = self._process.communicate(payload)

    def result(self) -> tuple[int, int]:
        """(clicks, startups) written; FlowError naming the flow if it failed."""
        self._thread.join()
        stdout, stderr = self._output
        try:
            outcome = pickle.loads(stdout) if stdout else None
        except Exception:
            outcome = None
        if isinstance(outcome, tuple) and outcome[0] == "written":
            return outcome[1]
        if isinstance(outcome, tuple) and outcome[0] == "failed":
            err = FlowError(outcome[1])
            err.add_note(f"in the {LAKE_FLOWS} process:\n{outcome[2]}")
            raise err
        tail = stderr.decode(errors="replace")[-STDERR_TAIL_CHARS:].strip()
        raise FlowError(
            f"{self.day}: the {LAKE_FLOWS} flows failed: their process ended with exit code "
            f"{self._process.returncode} and no result" + (f"; its last output: {tail}" if tail else "")
        )


def main() -> int:
    """Run one pickled LakeFlowsJob from stdin; its outcome goes pickled to stdout."""
    job = pickle.load(sys.stdin.buffer)
    result_stream = sys.stdout.buffer
    sys.stdout = sys.stderr  # anything the flows print must not corrupt the result
    try:
        outcome: tuple[Any, ...] = ("written", write_lake_flows(job))
    except Exception as err:
        message = (
            str(err)
            if isinstance(err, FlowError)
            else f"{job.day}: the {LAKE_FLOWS} flows failed: {type(err).__name__}: {err}"
        )
        outcome = ("failed", message, traceback.format_exc())
    result_stream.write(pickle.dumps(outcome))
    result_stream.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
