"""How POST /run answers per platform (wait, or 202 and a status URL), the run deadline, and
what a stopping service records for the runs it was executing."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

from support.orchestrator_requests import AUTH, Gate

from winter_days.config import load_settings
from winter_days.orchestrator.launcher import RunLauncher
from winter_days.orchestrator.pipeline import RunParameters, RunPipeline, RunStep
from winter_days.platform import build_platform


def with_orchestrator(settings, **changes):
    return replace(settings, orchestrator=replace(settings.orchestrator, **changes))


def test_each_profile_says_whether_post_run_waits(tmp_path):
    local = load_settings(environ={"WINTER_DAYS_HOME": str(tmp_path)}, cwd=tmp_path)
    gcp = load_settings(
        environ={
            "WINTER_DAYS_PROFILE": "gcp",
            "WINTER_DAYS_GCP_PROJECT_ID": "winter-proj",
            "WINTER_DAYS_GCP_BUCKET": "winter-lake",
        },
        cwd=tmp_path,
    )
    assert build_platform(local).waits_for_run is True
    assert build_platform(gcp).waits_for_run is False
    told = load_settings(
        environ={"WINTER_DAYS_HOME": str(tmp_path), "WINTER_DAYS_ORCHESTRATOR_WAIT_FOR_RUN": "false"}, cwd=tmp_path
    )
    assert build_platform(told).waits_for_run is False


def test_a_platform_that_does_not_wait_answers_202_with_a_status_url(settings, make_app):
    platform = build_platform(with_orchestrator(settings, wait_for_run=False))
    gate = Gate()
    app = make_app(RunPipeline((RunStep("hold", gate),)), platform=platform)
    client = app.test_client()

    response = client.post(
        "/run", headers={**AUTH, "X-Forwarded-Proto": "https"}, base_url="http://orchestrator.example"
    )

    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "running"
    assert body["status_url"] == f"https://orchestrator.example/runs/{body['run_id']}"
    assert response.headers["Location"] == f"/runs/{body['run_id']}"
    gate.release.set()
    app.extensions["winter_days_orchestrator"]["launcher"].join_background(30)
    assert client.get(f"/runs/{body['run_id']}").get_json()["status"] == "succeeded"
    # ?wait=true still waits, on any platform.
    waited = client.post("/run?wait=true", headers=AUTH)
    assert waited.status_code == 200 and waited.get_json()["status"] == "succeeded"


def test_a_run_past_its_deadline_stops_at_the_next_step_and_names_the_setting(settings, make_app):
    platform = build_platform(with_orchestrator(settings, run_deadline_seconds=1.0))
    ran = []

    def outlast_the_deadline(context):
        while context.remaining_seconds() > 0:
            time.sleep(0.05)
        return {"done": True}

    pipeline = RunPipeline(
        (
            RunStep("export_sales", outlast_the_deadline),
            RunStep("compile", lambda c: ran.append(1)),
            RunStep("ml", lambda c: ran.append(2)),
        )
    )
    app = make_app(pipeline, platform=platform)

    response = app.test_client().post("/run", headers=AUTH)

    assert response.status_code == 500
    body = response.get_json()
    assert ran == []
    assert [s["status"] for s in body["steps"]] == ["succeeded", "failed", "skipped"]
    assert body["status"] == "failed" and body["failed_step"] == "compile"
    assert "orchestrator.run_deadline_seconds (WINTER_DAYS_ORCHESTRATOR_RUN_DEADLINE_SECONDS)" in body["error"]
    assert "deadline of 1 s" in body["error"]


def test_a_stopping_service_records_its_background_run_as_cut_off(settings, make_app):
    platform = build_platform(with_orchestrator(settings, wait_for_run=False))
    gate = Gate()
    after = []
    app = make_app(RunPipeline((RunStep("hold", gate), RunStep("ml", lambda c: after.append(1)))), platform=platform)
    launcher: RunLauncher = app.extensions["winter_days_orchestrator"]["launcher"]
    client = app.test_client()
    run_id = client.post("/run", headers=AUTH).get_json()["run_id"]
    assert gate.entered.wait(30)

    cut = launcher.shutdown("the service received SIGTERM (worker 1 stopping) while the run was active", 0.1)

    assert cut == [run_id]
    run = client.get(f"/runs/{run_id}").get_json()
    assert run["status"] == "cut_off" and run["failed_step"] == "hold"
    assert run["error"] == "cut off: the service received SIGTERM (worker 1 stopping) while the run was active"
    assert client.get("/healthz").get_json()["active_run_id"] is None
    # The run's thread ends its step later: the record stays as it is and no further step starts.
    gate.release.set()
    launcher.join_background(30)
    assert after == []
    assert client.get(f"/runs/{run_id}").get_json()["steps"][0]["status"] == "cut_off"
    entries = [json.loads(line) for line in app.log_stream.getvalue().splitlines()]
    [failed] = [e for e in entries if e.get("event") == "run_failed"]
    assert failed["severity"] == "ERROR" and failed["run_id"] == run_id and failed["step"] == "hold"
    assert failed["status"] == "cut_off"


def test_a_waiting_run_cut_off_by_a_stopping_service_answers_with_its_record(settings, make_app):
    gate = Gate()
    app = make_app(RunPipeline((RunStep("hold", gate), RunStep("ml", lambda c: {"never": True}))))
    launcher: RunLauncher = app.extensions["winter_days_orchestrator"]["launcher"]
    answers = []
    waiting = threading.Thread(target=lambda: answers.append(app.test_client().post("/run", headers=AUTH)))
    waiting.start()
    assert gate.entered.wait(30)
    [run_id] = launcher.active_runs()
    launcher.shutdown("the service received SIGINT", 0.0)
    gate.release.set()
    waiting.join(30)

    [answer] = answers
    assert answer.status_code == 500
    assert answer.get_json()["run_id"] == run_id and answer.get_json()["status"] == "cut_off"
    assert launcher.active_runs() == []


def test_the_launcher_bounds_each_run_by_the_deadline_setting(settings):
    platform = build_platform(with_orchestrator(settings, run_deadline_seconds=600.0))
    seen = {}

    def record(context):
        seen["remaining"] = context.remaining_seconds()
        return {}

    RunLauncher(platform, RunPipeline((RunStep("export_sales", record),))).trigger({"source": "cli"}, RunParameters())
    assert 0 < seen["remaining"] <= 600.0
