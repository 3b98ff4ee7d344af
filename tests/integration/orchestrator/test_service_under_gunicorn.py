"""The service under a real gunicorn on 127.0.0.1: auth, one run across workers, retries, a crash."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.gated_service import RELEASE_FILE
from support.orchestrator_world import AUTH, TOKEN, installation_environ
from support.ports import free_port
from support.service_process import ServiceProcess

from winter_days.runs.sqlite import SqliteRunStore

pytestmark = pytest.mark.slow
TESTS = Path(__file__).resolve().parents[2]  # gunicorn imports support.gated_service from there


@pytest.fixture
def gated(installation, tmp_path):
    process = ServiceProcess.gunicorn(
        tmp_path, installation_environ(tmp_path), "support.gated_service:create_gated_app()", TESTS
    )
    yield process, installation.home / RELEASE_FILE
    process.stop()


@pytest.fixture
def gated_with_shutdown_hook(installation, tmp_path):
    """The gated service under gunicorn with the hook `winter-days serve` installs in each worker."""
    config = tmp_path / "gunicorn_hooks.py"
    config.write_text("from winter_days.service.server import cut_off_runs_on_stop as post_worker_init\n")
    port = free_port()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        "--config",
        str(config),
        "--pythonpath",
        str(TESTS),
        "support.gated_service:create_gated_app()",
    ]
    process = ServiceProcess(argv, installation_environ(tmp_path), port, tmp_path / f"gunicorn-{port}.log")
    yield process, installation
    process.stop()


def wait_for(process: ServiceProcess, run_id: str, done, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = process.request("GET", f"/runs/{run_id}").json()
        if done(run):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} never reached the expected state: {run}")


def test_serve_answers_health_and_metrics_and_checks_tokens(service):
    process = service()
    assert process.request("GET", "/healthz").json() == {"status": "ok", "active_run_id": None}
    assert process.request("POST", "/run").status == 401
    assert process.request("POST", "/run", headers={"Authorization": "Bearer not-the-token-at-all"}).status == 403
    assert process.request("POST", "/run", headers={"Authorization": "Token x"}).status == 401
    metrics = process.request("GET", "/metrics").body.decode()
    names = {family.name for family in text_string_to_metric_families(metrics)}
    assert {"winter_days_runs", "winter_days_rows_exported"} <= names
    assert TOKEN not in process.log()
    # Every line the service writes, gunicorn's own included, is a Cloud Logging entry.
    lines = process.log().splitlines()
    assert lines and all({"severity", "message"} <= set(json.loads(line)) for line in lines)
    # One request line each, with httpRequest (gunicorn's access lines would only repeat them).
    requests = [json.loads(line) for line in lines if "httpRequest" in json.loads(line)]
    assert ("POST", 403, "WARNING") in {
        (r["httpRequest"]["requestMethod"], r["httpRequest"]["status"], r["severity"]) for r in requests
    }
    assert not any(json.loads(line)["logger"] == "gunicorn.access" for line in lines)


def test_serve_refuses_to_start_without_a_token(installation, tmp_path):
    env = {**installation_environ(tmp_path), "WINTER_DAYS_AUTH_TOKEN": ""}
    with pytest.raises(RuntimeError, match="WINTER_DAYS_AUTH_TOKEN"):
        ServiceProcess.serve(tmp_path, env)


def test_serve_with_auth_disabled_warns_at_start(service):
    process = service(WINTER_DAYS_AUTH_TOKEN="", WINTER_DAYS_AUTH_DISABLED="true")
    assert process.request("POST", "/run?wait=false").status == 202
    warnings = [json.loads(line) for line in process.log().splitlines() if line.startswith("{")]
    assert any(w["severity"] == "WARNING" and "authentication is DISABLED" in w["message"] for w in warnings)


def test_dozens_of_simultaneous_posts_start_exactly_one_run_across_workers(gated):
    process, release = gated
    barrier = threading.Barrier(30)
    replies = []
    lock = threading.Lock()

    def post() -> None:
        barrier.wait()
        reply = process.request("POST", "/run?wait=false", headers=AUTH)
        with lock:
            replies.append(reply)

    threads = [threading.Thread(target=post) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(r.status for r in replies) == [202] + [409] * 29
    [started] = [r.json()["run_id"] for r in replies if r.status == 202]
    assert {r.json()["active_run_id"] for r in replies if r.status == 409} == {started}
    release.touch()
    assert wait_for(process, started, lambda run: run["status"] != "running")["status"] == "succeeded"
    assert [r["run_id"] for r in process.request("GET", "/runs").json()["runs"]] == [started]


def test_a_retried_scheduler_trigger_gets_the_first_runs_result(gated):
    process, release = gated
    scheduler = {**AUTH, "X-CloudScheduler-JobName": "nightly", "X-CloudScheduler-ScheduleTime": "2026-04-11T02:00:00Z"}
    first = process.request("POST", "/run?wait=false", headers=scheduler)
    assert first.status == 202
    run_id = first.json()["run_id"]
    # A retry while the first attempt still runs joins it instead of answering 409.
    early_retry = process.request("POST", "/run?wait=false", headers=scheduler)
    assert early_retry.status == 202 and early_retry.json()["run_id"] == run_id
    release.touch()
    late_retry = process.request("POST", "/run", headers=scheduler)
    assert late_retry.status == 200
    assert late_retry.json()["run_id"] == run_id and late_retry.json()["status"] == "succeeded"
    assert len(process.request("GET", "/runs").json()["runs"]) == 1


def test_a_run_killed_mid_way_shows_as_cut_off_after_a_restart(service, installation):
    process = service()
    accepted = process.request("POST", "/run?wait=false", headers=AUTH)
    assert accepted.status == 202
    run_id = accepted.json()["run_id"]
    in_elt = wait_for(
        process, run_id, lambda run: any(s["name"] == "poll" and s["status"] == "running" for s in run["steps"])
    )
    assert in_elt["status"] == "running"

    process.kill_hard()
    restarted = service()

    run = restarted.request("GET", f"/runs/{run_id}").json()
    assert run["status"] == "cut_off"
    assert run["failed_step"] == "poll"
    assert [s["status"] for s in run["steps"]] == ["succeeded", "succeeded", "succeeded", "cut_off", "skipped"]
    assert "stopped while the run was active" in run["error"]
    metrics = restarted.request("GET", "/metrics").body.decode()
    assert 'winter_days_runs_total{outcome="cut_off"} 1' in metrics
    # The guard is free: the next trigger runs the whole chain, bronze to predictions.
    rerun = restarted.request("POST", "/run", headers=AUTH)
    assert rerun.status == 200, rerun.body
    body = rerun.json()
    assert [s["status"] for s in body["steps"]] == ["succeeded"] * 5
    assert body["steps"][4]["counts"]["predictions_written"] > 0


def test_sigterm_records_the_background_run_as_cut_off_with_the_reason(gated_with_shutdown_hook):
    process, installation = gated_with_shutdown_hook
    accepted = process.request("POST", "/run?wait=false", headers=AUTH)
    assert accepted.status == 202
    run_id = accepted.json()["run_id"]
    wait_for(process, run_id, lambda run: any(s["name"] == "hold" and s["status"] == "running" for s in run["steps"]))

    process.stop()  # SIGTERM, as Cloud Run sends before it replaces an instance

    run = SqliteRunStore(installation.run_store_path).get_run(run_id)
    assert run["status"] == "cut_off" and run["failed_step"] == "hold"
    assert run["error"].startswith("cut off: the service received SIGTERM")
    assert [s["status"] for s in run["steps"]] == ["succeeded", "cut_off"]
    failed = [json.loads(line) for line in process.log_path.read_text().splitlines() if '"run_failed"' in line]
    assert [(f["severity"], f["run_id"], f["step"]) for f in failed] == [("ERROR", run_id, "hold")]
