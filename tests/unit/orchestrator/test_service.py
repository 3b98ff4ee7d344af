"""POST /run, GET /runs, /healthz through the Flask test client, over real steps and stores."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading

import pytest
from support.orchestrator_requests import AUTH, Gate, put_sales

from winter_days.orchestrator.pipeline import RunPipeline, RunStep
from winter_days.orchestrator.steps import SALES_WATERMARK, export_step, guarded
from winter_days.runs.owner import ProcessOwner, process_start_ticks
from winter_days.runs.sqlite import SqliteRunStore


def test_post_run_exports_and_answers_a_summary_per_step(settings, make_app, export_pipeline):
    put_sales(settings, range(12))
    client = make_app(export_pipeline).test_client()

    response = client.post("/run", headers=AUTH)

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "succeeded"
    assert body["location"] == f"/runs/{body['run_id']}"
    [step] = body["steps"]
    assert step["name"] == "export_sales" and step["status"] == "succeeded"
    assert step["counts"]["rows"] == 12 and step["duration_seconds"] >= 0
    assert step["counts"]["key"].startswith("bronze/sales/")
    assert (settings.lake_root / step["counts"]["key"]).is_file()


def test_history_lists_runs_newest_first_and_survives_a_new_app(settings, make_app, export_pipeline):
    put_sales(settings, range(3))
    first = make_app(export_pipeline).test_client().post("/run", headers=AUTH).get_json()
    put_sales(settings, range(3, 5))
    second = make_app(export_pipeline).test_client().post("/run", headers=AUTH).get_json()

    client = make_app(export_pipeline).test_client()
    runs = client.get("/runs").get_json()["runs"]
    assert [r["run_id"] for r in runs] == [second["run_id"], first["run_id"]]
    # Only the documents written since the first run's watermark are exported again.
    assert [r["steps"][0]["counts"]["rows"] for r in runs] == [2, 3]
    shown = client.get(f"/runs/{first['run_id']}").get_json()
    assert shown["steps"] == first["steps"]
    assert client.get("/runs/nope").status_code == 404


def test_a_failing_step_answers_500_naming_it_and_keeps_the_watermark(settings, make_app, export_pipeline):
    put_sales(settings, range(4))
    client = make_app(export_pipeline).test_client()
    assert client.post("/run", headers=AUTH).status_code == 200
    watermark = SqliteRunStore(settings.run_store_path).watermark(SALES_WATERMARK)
    put_sales(settings, range(4, 6))
    # An unreadable store: the file is no longer a SQLite database.
    settings.document_store_path.write_bytes(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        settings.document_store_path.with_name(settings.document_store_path.name + suffix).unlink(missing_ok=True)

    response = client.post("/run", headers=AUTH)

    assert response.status_code == 500
    body = response.get_json()
    assert body["status"] == "failed" and body["failed_step"] == "export_sales"
    assert body["error"].startswith("step export_sales failed: DatabaseError")
    assert "Traceback" not in response.get_data(as_text=True)
    assert SqliteRunStore(settings.run_store_path).watermark(SALES_WATERMARK) == watermark
    # The traceback is in the log, for the operator.
    logged = [json.loads(line) for line in client.application.log_stream.getvalue().splitlines()]
    failure = [e for e in logged if e["severity"] == "ERROR"]
    assert failure and failure[0]["step"] == "export_sales" and "Traceback" in failure[0]["message"]


def test_later_steps_are_skipped_after_a_failure(settings, make_app):
    def unreadable_lake(context):
        raise PermissionError(13, "Permission denied", str(settings.lake_root))

    pipeline = RunPipeline(
        (
            RunStep("export_sales", guarded(export_step)),
            RunStep("compile", unreadable_lake),
            RunStep("ml", lambda context: {"never": True}),
        )
    )
    body = make_app(pipeline).test_client().post("/run", headers=AUTH).get_json()
    assert [s["status"] for s in body["steps"]] == ["succeeded", "failed", "skipped"]
    assert body["failed_step"] == "compile"
    assert "Permission denied" in body["steps"][1]["error"]


def test_wait_false_answers_202_with_a_location_to_poll(settings, make_app):
    gate = Gate()
    app = make_app(RunPipeline((RunStep("hold", gate),)))
    client = app.test_client()

    response = client.post("/run?wait=false", headers=AUTH)

    assert response.status_code == 202
    body = response.get_json()
    assert response.headers["Location"] == f"/runs/{body['run_id']}"
    assert client.get(response.headers["Location"]).get_json()["status"] == "running"
    assert client.get("/healthz").get_json() == {"status": "ok", "active_run_id": body["run_id"]}
    gate.release.set()
    app.extensions["winter_days_orchestrator"]["launcher"].join_background(30)
    assert client.get(response.headers["Location"]).get_json()["status"] == "succeeded"


def test_simultaneous_posts_start_exactly_one_run(make_app):
    gate = Gate()
    app = make_app(RunPipeline((RunStep("hold", gate),)))
    statuses: list[int] = []
    bodies: list[dict] = []
    lock = threading.Lock()
    start = threading.Barrier(24)

    def post() -> None:
        client = app.test_client()
        start.wait()
        response = client.post("/run?wait=false", headers=AUTH)
        with lock:
            statuses.append(response.status_code)
            bodies.append(response.get_json())

    threads = [threading.Thread(target=post) for _ in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    gate.release.set()
    app.extensions["winter_days_orchestrator"]["launcher"].join_background(30)

    assert sorted(statuses) == [202] + [409] * 23
    started = next(b["run_id"] for b, s in zip(bodies, statuses, strict=False) if s == 202)
    assert {b["active_run_id"] for b, s in zip(bodies, statuses, strict=False) if s == 409} == {started}
    assert len(app.test_client().get("/runs").get_json()["runs"]) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {"Idempotency-Key": "nightly-2026-03-01"},
        {"X-CloudScheduler-JobName": "winter-days-nightly", "X-CloudScheduler-ScheduleTime": "2026-03-01T02:00:00Z"},
    ],
)
def test_a_retried_trigger_returns_the_first_runs_result(settings, make_app, export_pipeline, headers):
    put_sales(settings, range(5))
    client = make_app(export_pipeline).test_client()
    first = client.post("/run", headers={**AUTH, **headers})
    put_sales(settings, range(5, 9))
    retry = client.post("/run", headers={**AUTH, **headers})

    assert retry.status_code == first.status_code == 200
    assert retry.get_json()["run_id"] == first.get_json()["run_id"]
    assert retry.get_json()["steps"][0]["counts"]["rows"] == 5
    assert len(client.get("/runs").get_json()["runs"]) == 1
    # A different trigger is a new run, which picks up the documents written since.
    other = client.post("/run", headers={**AUTH, "Idempotency-Key": "another"}).get_json()
    assert other["run_id"] != first.get_json()["run_id"] and other["steps"][0]["counts"]["rows"] == 4


def test_a_retried_trigger_after_a_failure_returns_the_failure(settings, make_app):
    def broken(context):
        raise OSError("disk full")

    client = make_app(RunPipeline((RunStep("export_sales", broken),))).test_client()
    key = {**AUTH, "Idempotency-Key": "k-1"}
    first, retry = client.post("/run", headers=key), client.post("/run", headers=key)
    assert first.status_code == retry.status_code == 500
    assert retry.get_json()["run_id"] == first.get_json()["run_id"]


def test_a_run_cut_off_by_a_crash_is_marked_at_the_next_start(settings, make_app, export_pipeline, dead_owner):
    history = SqliteRunStore(settings.run_store_path)
    decision = history.start_run(["export_sales"], {"source": "http"}, {}, owner=dead_owner)
    history.step_started(decision.run_id, 0)

    app = make_app(export_pipeline)

    run = app.test_client().get(f"/runs/{decision.run_id}").get_json()
    assert run["status"] == "cut_off" and run["failed_step"] == "export_sales"
    assert run["steps"][0]["status"] == "cut_off"
    assert f"process {dead_owner.pid}" in run["error"]
    logged = app.log_stream.getvalue()
    assert f"run {decision.run_id} was cut off" in logged
    # And the guard is free again.
    put_sales(settings, range(2))
    assert app.test_client().post("/run", headers=AUTH).status_code == 200


def test_a_retry_of_a_cut_off_trigger_runs_again(settings, make_app, export_pipeline, dead_owner):
    history = SqliteRunStore(settings.run_store_path)
    cut = history.start_run(["export_sales"], {"source": "http"}, {}, trigger_key="key:k-9", owner=dead_owner)
    put_sales(settings, range(2))
    body = make_app(export_pipeline).test_client().post("/run", headers={**AUTH, "Idempotency-Key": "k-9"}).get_json()
    assert body["run_id"] != cut.run_id and body["status"] == "succeeded"


def test_a_post_while_another_process_runs_answers_409_naming_it(settings, make_app, export_pipeline, live_owner):
    history = SqliteRunStore(settings.run_store_path)
    active = history.start_run(["export_sales"], {"source": "cli"}, {}, owner=live_owner)
    response = make_app(export_pipeline).test_client().post("/run", headers=AUTH)
    assert response.status_code == 409
    body = response.get_json()
    assert body["active_run_id"] == active.run_id and body["location"] == f"/runs/{active.run_id}"
    assert f"process {live_owner.pid}" in body["error"]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/run", b"{not json", "body is not valid JSON"),
        ("/run", b"[1, 2]", "body must be a JSON object"),
        ("/run", b'{"as_of": "2026-03-01", "dry_run": true}', "unknown parameter(s) dry_run"),
        ("/run", b'{"as_of": "yesterday"}', "as_of: expected a date YYYY-MM-DD"),
        ("/run", b'{"full_refresh": "maybe"}', "full_refresh: expected true or false"),
        ("/run?wait=later", b"", "wait: expected true or false"),
        ("/run?verbose=1", b"", "unknown query parameter(s) verbose"),
    ],
)
def test_malformed_requests_answer_400_with_a_message(make_app, export_pipeline, path, body, message):
    client = make_app(export_pipeline).test_client()
    response = client.post(path, data=body, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 400
    assert message in response.get_json()["error"]
    assert client.get("/runs").get_json()["runs"] == []


def test_bad_idempotency_key_and_list_parameters_answer_400(make_app, export_pipeline):
    client = make_app(export_pipeline).test_client()
    assert client.post("/run", headers={**AUTH, "Idempotency-Key": "has space"}).status_code == 400
    assert client.get("/runs?limit=0").status_code == 400
    assert client.get("/runs?limit=ten").status_code == 400
    assert client.get("/runs?sort=asc").status_code == 400


def test_parameters_reach_the_steps(settings, make_app):
    seen = {}

    def record(context):
        seen.update(as_of=context.parameters.as_of, full_refresh=context.parameters.full_refresh)
        return {}

    client = make_app(RunPipeline((RunStep("ml", record),))).test_client()
    body = client.post("/run", json={"as_of": "2026-03-01", "full_refresh": True}, headers=AUTH).get_json()
    assert str(seen["as_of"]) == "2026-03-01" and seen["full_refresh"] is True
    assert body["parameters"] == {"as_of": "2026-03-01", "full_refresh": True, "ml": True, "full_export": False}


def test_a_full_export_exports_every_document_again_and_the_watermark_goes_on(settings, make_app, export_pipeline):
    """After a pseudonym key rotation every customer's sales go out again under the new key."""
    put_sales(settings, range(5))
    client = make_app(export_pipeline).test_client()
    first = client.post("/run", headers=AUTH).get_json()
    watermark = SqliteRunStore(settings.run_store_path).watermark(SALES_WATERMARK)
    nothing_new = client.post("/run", headers=AUTH).get_json()
    put_sales(settings, range(5, 7))

    full = client.post("/run", json={"full_export": True}, headers=AUTH).get_json()
    after = client.post("/run", headers=AUTH).get_json()

    rows = [run["steps"][0]["counts"]["rows"] for run in (first, nothing_new, full, after)]
    assert rows == [5, 0, 7, 0]
    counts = full["steps"][0]["counts"]
    assert counts["full_export"] is True and counts["watermark_from"] is None
    assert counts["watermark_to"] > watermark
    assert SqliteRunStore(settings.run_store_path).watermark(SALES_WATERMARK) == counts["watermark_to"]
    assert full["parameters"]["full_export"] is True
    bad = client.post("/run", json={"full_export": "yes"}, headers=AUTH)
    assert bad.status_code == 400 and "full_export" in bad.get_json()["error"]


def test_unknown_routes_and_methods_answer_json(make_app, export_pipeline):
    client = make_app(export_pipeline).test_client()
    assert client.get("/nowhere").status_code == 404
    assert "error" in client.get("/nowhere").get_json()
    response = client.get("/run")
    assert response.status_code == 405 and "error" in response.get_json()


def test_an_unexpected_error_answers_500_without_a_stack_trace(make_app, export_pipeline, monkeypatch):
    app = make_app(export_pipeline)
    history = app.extensions["winter_days_orchestrator"]["launcher"].history

    def broken(*args, **kwargs):
        raise RuntimeError("history unreadable at /secret/path")

    monkeypatch.setattr(history, "list_runs", broken)
    response = app.test_client().get("/runs")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "/secret/path" not in text
    assert "RuntimeError" in response.get_json()["error"]


def test_process_owner_of_this_process_is_alive():
    assert ProcessOwner.current().is_alive()


def test_a_run_whose_process_died_shows_as_cut_off_while_the_service_stays_up(settings, make_app, export_pipeline):
    app = make_app(export_pipeline)
    cli = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        owner = ProcessOwner(socket.gethostname(), cli.pid, process_start_ticks(cli.pid))
        run_id = (
            SqliteRunStore(settings.run_store_path)
            .start_run(["export_sales"], {"source": "cli"}, {}, owner=owner)
            .run_id
        )
        client = app.test_client()
        assert client.get(f"/runs/{run_id}").get_json()["status"] == "running"
    finally:
        cli.kill()
        cli.wait()

    assert client.get(f"/runs/{run_id}").get_json()["status"] == "cut_off"
    assert client.get("/runs").get_json()["active_run_id"] is None


def test_the_service_serves_the_dashboards_from_its_root(tmp_path, monkeypatch):
    from winter_days.config import load_settings
    from winter_days.platform import build_platform
    from winter_days.service import create_app

    settings = load_settings(
        environ={"WINTER_DAYS_HOME": str(tmp_path / "home"), "WINTER_DAYS_AUTH_TOKEN": "t" * 32}, cwd=tmp_path
    )
    client = create_app(build_platform(settings)).test_client()
    root = client.get("/")
    assert root.status_code == 302 and root.headers["Location"].endswith("/dashboard/")
    page = client.get("/dashboard/churn")
    assert page.status_code == 200
    assert b"run the pipeline" in page.data  # an empty installation says what to do


def test_a_run_can_leave_out_the_ml_step(settings, make_app):
    from winter_days.orchestrator.steps import ml_step

    pipeline = RunPipeline((RunStep("ml", guarded(ml_step)),))
    client = make_app(pipeline).test_client()
    response = client.post("/run", headers=AUTH, json={"ml": False})
    assert response.status_code == 200, response.get_json()
    [step] = response.get_json()["steps"]
    assert step["status"] == "succeeded" and step["counts"] == {"skipped": "not requested for this run (ml=false)"}
    assert response.get_json()["parameters"]["ml"] is False
    # With ML asked for (the default) on an empty warehouse, the step really runs and fails.
    assert client.post("/run", headers=AUTH).status_code == 500
    assert client.post("/run", headers=AUTH, json={"ml": "maybe"}).status_code == 400


def test_the_service_imports_the_ml_package_before_its_threads_can(settings):
    """The first run's ML step and the churn page, in two threads of one worker, each import
    the ML package for the first time; done at once, Python 3.11 can deadlock on them."""
    probe = (
        "import sys, threading\n"
        "from winter_days.config import load_settings\n"
        "from winter_days.platform import build_platform\n"
        "from winter_days.service.app import create_app\n"
        "assert 'winter_days.ml' not in sys.modules\n"
        "create_app(build_platform(load_settings()), verifier=object())\n"
        "print(sorted(m for m in ('winter_days.ml.runner', 'winter_days.ml.registry') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['winter_days.ml.registry', 'winter_days.ml.runner']"
