from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from winter_days.schedule.cron import (
    JobCutOff,
    OrchestratorTrigger,
    ScheduledJob,
    Scheduler,
    ScheduleState,
    TriggerError,
    fire_times,
    next_fire_time,
)

UTC = UTC


def test_next_fire_times_of_the_default_schedule(settings):
    friday_night = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)  # a Friday
    assert next_fire_time(settings.schedule.sales, friday_night) == datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    assert next_fire_time(settings.schedule.clickstream, friday_night) == datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
    assert next_fire_time(settings.schedule.orchestrator, friday_night) == datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    # Startups run weekly on Friday at 01:00: the next one is a week away.
    assert next_fire_time(settings.schedule.startups, friday_night) == datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
    week = fire_times(settings.schedule.orchestrator, friday_night, friday_night + timedelta(days=7))
    assert len(week) == 7 and all(t.hour == 2 and t.minute == 0 for t in week)
    # A time in another zone is read as the same instant.
    paris = datetime(2026, 11, 28, 1, 30, tzinfo=timezone(timedelta(hours=1)))
    assert next_fire_time(settings.schedule.orchestrator, paris) == datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


class _Orchestrator(BaseHTTPRequestHandler):
    failures_left = 0
    status_when_failing = 503
    requests: list[dict] = []

    def do_POST(self):
        type(self).requests.append({k.lower(): v for k, v in self.headers.items()})
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if type(self).failures_left > 0:
            type(self).failures_left -= 1
            self.send_response(type(self).status_when_failing)
            self.end_headers()
            self.wfile.write(b'{"error": "busy"}')
            return
        body = json.dumps({"run_id": "r1", "status": "succeeded"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def orchestrator():
    _Orchestrator.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Orchestrator)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield _Orchestrator, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_trigger_sends_scheduler_headers_and_retries_failures_with_backoff(orchestrator):
    handler, url = orchestrator
    handler.failures_left, handler.status_when_failing = 2, 503
    sleeps: list[float] = []
    trigger = OrchestratorTrigger(url, "s3cret", attempts=4, backoff_seconds=1.5, sleep=sleeps.append)
    result = trigger(datetime(2026, 11, 28, 2, 0, tzinfo=UTC))
    assert result == {"run_id": "r1", "status": "succeeded"}
    assert sleeps == [1.5, 3.0]
    assert len(handler.requests) == 3
    first = handler.requests[0]
    assert first["authorization"] == "Bearer s3cret"
    assert first["x-cloudscheduler-jobname"] == "orchestrator"
    # Every retry carries the same schedule time, so the service can de-duplicate it.
    assert {r["x-cloudscheduler-scheduletime"] for r in handler.requests} == {"2026-11-28T02:00:00Z"}


def test_trigger_gives_up_after_its_attempts_and_never_retries_auth_errors(orchestrator):
    handler, url = orchestrator
    handler.failures_left, handler.status_when_failing = 10, 500
    with pytest.raises(TriggerError, match="after 3 attempts: HTTP 500"):
        OrchestratorTrigger(url, "t", attempts=3, sleep=lambda s: None)(datetime(2026, 1, 1, tzinfo=UTC))
    handler.requests.clear()
    handler.failures_left, handler.status_when_failing = 10, 401
    with pytest.raises(TriggerError, match="refused the trigger"):
        OrchestratorTrigger(url, "wrong", attempts=3, sleep=lambda s: None)(datetime(2026, 1, 1, tzinfo=UTC))
    assert len(handler.requests) == 1


def test_unreachable_orchestrator_is_named():
    trigger = OrchestratorTrigger("http://127.0.0.1:9", None, attempts=2, sleep=lambda s: None, timeout_seconds=2)
    with pytest.raises(TriggerError, match="cannot reach http://127.0.0.1:9/run"):
        trigger(datetime(2026, 1, 1, tzinfo=UTC))


class FakeClock:
    def __init__(self, start: datetime):
        self.current = start

    def __call__(self) -> datetime:
        return self.current


@pytest.mark.parametrize(("policy", "expected_runs"), [("skip", 0), ("run_once", 1)])
def test_missed_runs_follow_the_policy(tmp_path, policy, expected_runs):
    state = ScheduleState(tmp_path / "schedule.json")
    state.record("orchestrator", datetime(2026, 11, 20, 2, 0, tzinfo=UTC), "succeeded")
    runs: list[datetime] = []
    clock = FakeClock(datetime(2026, 11, 25, 12, 0, tzinfo=UTC))  # five days down
    scheduler = Scheduler([ScheduledJob("orchestrator", "0 2 * * *", runs.append)], state, policy, now=clock)
    scheduler.catch_up()
    assert runs == [datetime(2026, 11, 25, 2, 0, tzinfo=UTC)] * expected_runs
    assert state.last_fire("orchestrator") == datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    assert state.load()["orchestrator"]["outcome"] == ("skipped" if policy == "skip" else "succeeded")


def test_jobs_sharing_a_fire_time_all_fire_in_order(tmp_path):
    fired: list[tuple[str, datetime]] = []
    clock = FakeClock(datetime(2026, 11, 27, 0, 59, 59, 999999, tzinfo=UTC))

    def job(name):
        return ScheduledJob(
            name, "0 1 * * *" if name != "orchestrator" else "0 2 * * *", lambda when: fired.append((name, when))
        )

    scheduler = Scheduler(
        [job("orchestrator"), job("sales"), job("clickstream")], ScheduleState(tmp_path / "s.json"), now=clock
    )
    # Let time pass instantly: the clock jumps to each fire time when the scheduler waits.
    scheduler.stop_requested.wait = lambda timeout: (
        setattr(clock, "current", clock.current + timedelta(seconds=timeout)) or False
    )
    assert scheduler.run(max_fires=4) == 4
    assert [name for name, _ in fired] == ["clickstream", "sales", "orchestrator", "clickstream"]
    assert fired[2][1] == datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def test_a_failing_job_is_recorded_and_the_schedule_goes_on(tmp_path):
    state = ScheduleState(tmp_path / "s.json")

    def broken(when):
        raise RuntimeError("lake unreachable")

    scheduler = Scheduler([ScheduledJob("sales", "0 1 * * *", broken)], state)
    assert scheduler.fire(scheduler.jobs[0], datetime(2026, 1, 1, 1, tzinfo=UTC)) == "failed"
    assert state.load()["sales"] == {
        "last_fire": "2026-01-01T01:00:00Z",
        "outcome": "failed",
        "detail": "lake unreachable",
    }


def test_stop_lets_the_job_in_flight_finish_and_a_second_stop_cuts_it_off(tmp_path):
    state = ScheduleState(tmp_path / "s.json")
    scheduler = Scheduler([], state)
    finished = []

    def polite(when):
        scheduler.request_stop()  # first signal: the job goes on
        finished.append(when)

    def stubborn(when):
        scheduler.request_stop()
        scheduler.request_stop()  # second signal while running
        finished.append("never")

    when = datetime(2026, 1, 1, tzinfo=UTC)
    assert scheduler.fire(ScheduledJob("a", "0 1 * * *", polite), when) == "succeeded"
    assert finished == [when] and scheduler.stop_requested.is_set()
    assert scheduler.fire(ScheduledJob("b", "0 1 * * *", stubborn), when) == "cut_off"
    assert "never" not in finished and state.load()["b"]["outcome"] == "cut_off"
    assert scheduler.run() == 0  # stopped: nothing more fires
    with pytest.raises(JobCutOff):
        scheduler.running_job = "x"
        scheduler.request_stop()


def test_schedule_command_shows_next_fire_times(settings):
    from click.testing import CliRunner

    from winter_days.cli import main

    result = CliRunner().invoke(main, ["schedule", "--show"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()}
    assert set(lines) == {"sales", "clickstream", "startups", "orchestrator"}
    assert "0 1 * * 5" in lines["startups"]


def test_schedule_process_stops_cleanly_on_sigterm(settings, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    env = dict(os.environ, WINTER_DAYS_HOME=str(settings.home))
    proc = subprocess.Popen(
        [sys.executable, "-c", "from winter_days.cli import main; main()", "schedule"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        first = proc.stdout.readline()
        assert "schedule running" in first, first
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "received SIGTERM" in out and "schedule stopped after 0 job(s)" in out
