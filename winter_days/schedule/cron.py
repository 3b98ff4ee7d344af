"""The platform's cron: generators daily (startups weekly) and the orchestrator after them.

Fire times come from croniter over the cron expressions in the settings, in UTC. The last
fire time of each job is kept in a small state file, so a scheduler that was down knows
what it missed and follows the configured policy: `skip` (log and move on) or `run_once`
(fire once, for the latest missed time). SIGTERM/SIGINT stop it cleanly: a job in flight
finishes; a second signal cuts it off, and that is recorded.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from croniter import croniter

log = logging.getLogger("winter_days.schedule")

ORCHESTRATOR_JOB = "orchestrator"


class JobCutOff(BaseException):
    """Raised inside a running job when the scheduler is told to stop a second time."""


class TriggerError(Exception):
    """The orchestrator did not accept a trigger."""


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    cron: str
    action: Callable[[datetime], object]


def next_fire_time(cron: str, after: datetime) -> datetime:
    """The first fire time strictly after `after` (UTC)."""
    return croniter(cron, after.astimezone(UTC)).get_next(datetime)


def fire_times(cron: str, after: datetime, until: datetime) -> list[datetime]:
    """Every fire time in (after, until]."""
    times = []
    it = croniter(cron, after.astimezone(UTC))
    while (when := it.get_next(datetime)) <= until:
        times.append(when)
    return times


def rfc3339(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class OrchestratorTrigger:
    """POST /run the way Cloud Scheduler does, retrying failures with exponential backoff."""

    def __init__(
        self,
        url: str,
        token: str | None,
        job_name: str = ORCHESTRATOR_JOB,
        attempts: int = 5,
        backoff_seconds: float = 2.0,
        max_backoff_seconds: float = 60.0,
        timeout_seconds: float = 3600.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.url = url.rstrip("/") + "/run"
        self.token = token
        self.job_name = job_name
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.timeout_seconds = timeout_seconds
        self.sleep = sleep

    def __call__(self, schedule_time: datetime) -> dict:
        headers = {
            "Content-Type": "application/json",
            "X-CloudScheduler-JobName": self.job_name,
            "X-CloudScheduler-ScheduleTime": rfc3339(schedule_time),
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        delay = self.backoff_seconds
        last_error = ""
        for attempt in range(1, self.attempts + 1):
            request = urllib.request.Request(self.url, data=b"{}", headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                    return json.loads(response.read() or b"{}")
            except urllib.error.HTTPError as err:
                body = err.read()[:500].decode("utf-8", "replace")
                last_error = f"HTTP {err.code}: {body}"
                # Auth and request errors will not heal by retrying; a busy or failing service may.
                if err.code in (400, 401, 403, 404):
                    raise TriggerError(f"orchestrator refused the trigger ({last_error})") from None
            except (urllib.error.URLError, OSError) as err:
                last_error = f"cannot reach {self.url}: {getattr(err, 'reason', err)}"
            if attempt < self.attempts:
                log.warning(
                    "trigger attempt %d/%d failed (%s); retrying in %.1fs", attempt, self.attempts, last_error, delay
                )
                self.sleep(delay)
                delay = min(delay * 2, self.max_backoff_seconds)
        raise TriggerError(f"orchestrator trigger failed after {self.attempts} attempts: {last_error}")


class ScheduleState:
    """Last fire time per job, in a JSON file replaced atomically."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict[str, dict]:
        if not self.path.exists():
            return {}
        try:
            return json.loads(self.path.read_text())
        except json.JSONDecodeError:
            log.error("schedule state %s is unreadable; starting without it", self.path)
            return {}

    def record(self, job: str, when: datetime, outcome: str, detail: str = "") -> None:
        state = self.load()
        state[job] = {"last_fire": rfc3339(when), "outcome": outcome, "detail": detail[:500]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True))
        os.replace(tmp, self.path)

    def last_fire(self, job: str) -> datetime | None:
        entry = self.load().get(job)
        return datetime.fromisoformat(entry["last_fire"].replace("Z", "+00:00")) if entry else None


class Scheduler:
    """Runs jobs at their fire times until stopped; one job at a time, in fire-time order."""

    def __init__(
        self,
        jobs: list[ScheduledJob],
        state: ScheduleState,
        missed_runs: str = "skip",
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.jobs = sorted(jobs, key=lambda j: j.name)
        self.state = state
        self.missed_runs = missed_runs
        self.now = now
        self.stop_requested = threading.Event()
        self.running_job: str | None = None

    def request_stop(self) -> None:
        """First call: stop after the job in flight. Second call during a job: cut it off."""
        if self.stop_requested.is_set() and self.running_job is not None:
            raise JobCutOff(self.running_job)
        self.stop_requested.set()
        if self.running_job is not None:
            log.warning("stopping after job %s finishes (signal again to cut it off)", self.running_job)

    def catch_up(self) -> None:
        """Apply the missed-run policy to fire times that passed while the scheduler was down."""
        now = self.now()
        for job in self.jobs:
            last = self.state.last_fire(job.name)
            if last is None:
                continue
            missed = fire_times(job.cron, last, now)
            if not missed:
                continue
            if self.missed_runs == "run_once":
                log.info("job %s missed %d run(s); running once for %s", job.name, len(missed), rfc3339(missed[-1]))
                self.fire(job, missed[-1])
            else:
                log.info(
                    "job %s missed %d run(s) (latest %s); skipped by policy", job.name, len(missed), rfc3339(missed[-1])
                )
                self.state.record(job.name, missed[-1], "skipped", f"{len(missed)} missed run(s) skipped")
            if self.stop_requested.is_set():
                return

    def fire(self, job: ScheduledJob, when: datetime) -> str:
        self.running_job = job.name
        log.info("job %s firing for %s", job.name, rfc3339(when))
        try:
            job.action(when)
        except JobCutOff:
            self.state.record(job.name, when, "cut_off", "stopped by a second signal while running")
            log.error("job %s cut off", job.name)
            return "cut_off"
        except Exception as err:  # a failed job is recorded; the schedule goes on
            self.state.record(job.name, when, "failed", str(err))
            log.error("job %s failed: %s", job.name, err)
            return "failed"
        finally:
            self.running_job = None
        self.state.record(job.name, when, "succeeded")
        return "succeeded"

    def run(self, max_fires: int | None = None) -> int:
        """Fire jobs as their times come; returns how many fired. Stops on request."""
        self.catch_up()
        fired = 0
        start = self.now()
        due = {job.name: next_fire_time(job.cron, start) for job in self.jobs}
        by_name = {job.name: job for job in self.jobs}
        while not self.stop_requested.is_set() and (max_fires is None or fired < max_fires):
            name = min(due, key=lambda n: (due[n], n))
            when = due[name]
            # Sleep in short slices so a stop request is noticed promptly.
            while not self.stop_requested.is_set() and (remaining := (when - self.now()).total_seconds()) > 0:
                self.stop_requested.wait(min(remaining, 1.0))
            if self.stop_requested.is_set():
                break
            self.fire(by_name[name], when)
            fired += 1
            due[name] = next_fire_time(by_name[name].cron, when)
        return fired
