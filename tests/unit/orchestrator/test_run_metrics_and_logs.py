"""GET /metrics parses as Prometheus text and counts what the history holds; logs are Cloud Logging JSON."""

from __future__ import annotations

import json
from dataclasses import replace

from prometheus_client.parser import text_string_to_metric_families
from support.orchestrator_requests import AUTH, TOKEN, put_sales

from winter_days.orchestrator.pipeline import RunPipeline, RunStep
from winter_days.orchestrator.steps import export_step, guarded
from winter_days.platform import build_platform


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_count_runs_by_outcome_rows_and_step_durations(settings, make_app):
    levels = iter([{"rows_quarantined_sales": 2, "rows_quarantined_click": 1}, {"rows_quarantined_sales": 3}])

    def quarantine(context):
        return next(levels)

    def broken(context):
        raise OSError("lake unreachable")

    ok = RunPipeline((RunStep("export_sales", guarded(export_step)), RunStep("poll", quarantine)))
    client = make_app(ok).test_client()
    put_sales(settings, range(7))
    assert client.post("/run", headers=AUTH).status_code == 200
    put_sales(settings, range(7, 10))
    assert client.post("/run", headers=AUTH).status_code == 200
    failing = make_app(RunPipeline((RunStep("export_sales", broken),))).test_client()
    assert failing.post("/run", headers=AUTH).status_code == 500

    response = client.get("/metrics")
    assert response.content_type.startswith("text/plain; version=0.0.4")
    found = samples(response.get_data(as_text=True))
    assert found[("winter_days_runs_total", (("outcome", "succeeded"),))] == 2
    assert found[("winter_days_runs_total", (("outcome", "failed"),))] == 1
    assert found[("winter_days_runs_total", (("outcome", "cut_off"),))] == 0
    assert found[("winter_days_rows_exported_total", ())] == 10
    # The level after the latest run that reported each flow.
    assert found[("winter_days_rows_quarantined", (("flow", "sales"),))] == 3
    assert found[("winter_days_rows_quarantined", (("flow", "click"),))] == 1
    export_labels = (("status", "succeeded"), ("step", "export_sales"))
    assert found[("winter_days_step_duration_seconds_count", export_labels)] == 2
    assert found[("winter_days_step_duration_seconds_sum", export_labels)] >= 0
    assert found[("winter_days_step_duration_seconds_count", (("status", "failed"), ("step", "export_sales")))] == 1
    assert found[("winter_days_run_active", ())] == 0


def test_metrics_of_an_empty_history_parse(make_app):
    text = (
        make_app(RunPipeline((RunStep("export_sales", lambda c: {}),)))
        .test_client()
        .get("/metrics")
        .get_data(as_text=True)
    )
    assert samples(text)[("winter_days_runs_total", (("outcome", "succeeded"),))] == 0


def test_every_log_line_is_a_cloud_logging_entry_with_run_and_step(settings, make_app, export_pipeline):
    put_sales(settings, range(3))
    app = make_app(export_pipeline)
    run_id = app.test_client().post("/run", headers=AUTH).get_json()["run_id"]

    entries = [json.loads(line) for line in app.log_stream.getvalue().splitlines()]
    assert entries, "the run logged nothing"
    for entry in entries:
        assert {"severity", "message", "time", "run_id", "step"} <= set(entry)
        assert entry["severity"] in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
    of_run = [e for e in entries if e["run_id"] == run_id]
    assert [e["message"] for e in of_run][0] == "run started"
    assert any(e["step"] == "export_sales" and e["message"].startswith("step succeeded") for e in of_run)
    assert of_run[-1]["message"] == "run succeeded"
    # No customer name from the documents reaches the log.
    assert "Grace Hopper" not in app.log_stream.getvalue()


def entries_of(app) -> list[dict]:
    return [json.loads(line) for line in app.log_stream.getvalue().splitlines()]


def test_each_request_has_one_http_request_line_and_never_the_authorization_header(settings, make_app, export_pipeline):
    put_sales(settings, range(2))
    app = make_app(export_pipeline)
    client = app.test_client()
    client.post("/run", headers={**AUTH, "User-Agent": "Google-Cloud-Scheduler", "X-Forwarded-For": "203.0.113.9"})
    client.get("/runs/nope")

    requests = [e for e in entries_of(app) if "httpRequest" in e]
    assert [(e["httpRequest"]["requestMethod"], e["httpRequest"]["status"], e["severity"]) for e in requests] == [
        ("POST", 200, "INFO"),
        ("GET", 404, "WARNING"),
    ]
    posted = requests[0]["httpRequest"]
    assert posted["requestUrl"] == "http://localhost/run"
    assert posted["userAgent"] == "Google-Cloud-Scheduler" and posted["remoteIp"] == "203.0.113.9"
    assert float(posted["latency"].removesuffix("s")) >= 0 and posted["latency"].endswith("s")
    assert int(posted["responseSize"]) > 0
    assert TOKEN not in app.log_stream.getvalue() and "Bearer" not in app.log_stream.getvalue()


def test_a_failed_post_run_is_logged_at_error_with_the_run_failed_event(settings, make_app):
    def broken(context):
        raise OSError("lake unreachable")

    app = make_app(RunPipeline((RunStep("export_sales", broken),)))
    run_id = app.test_client().post("/run", headers=AUTH).get_json()["run_id"]

    entries = entries_of(app)
    [request] = [e for e in entries if "httpRequest" in e]
    assert request["severity"] == "ERROR" and request["httpRequest"]["status"] == 500
    [failed] = [e for e in entries if e.get("event") == "run_failed"]
    assert failed["severity"] == "ERROR" and failed["run_id"] == run_id and failed["step"] == "export_sales"
    assert failed["message"] == "run failed: step export_sales failed: OSError: lake unreachable"
    assert not [e for e in entries if e.get("event") == "run_succeeded"]


def test_lines_carry_the_trace_of_the_request_and_where_they_were_logged(settings, make_app, export_pipeline):
    traced = replace(settings, gcp=replace(settings.gcp, project_id="winter-proj"))
    app = make_app(export_pipeline, platform=build_platform(traced))
    client = app.test_client()
    trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    run_id = client.post("/run", headers={**AUTH, "X-Cloud-Trace-Context": f"{trace}/1234567;o=1"}).get_json()["run_id"]
    client.get("/runs", headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"})
    client.get("/healthz")

    entries = entries_of(app)
    of_run = [e for e in entries if e["run_id"] == run_id]
    assert of_run and all(e["logging.googleapis.com/trace"] == f"projects/winter-proj/traces/{trace}" for e in of_run)
    assert all(e["logging.googleapis.com/spanId"] == f"{1234567:016x}" for e in of_run)
    assert all(e["logging.googleapis.com/trace_sampled"] is True for e in of_run)
    [listed] = [e for e in entries if e.get("httpRequest", {}).get("requestUrl", "").endswith("/runs")]
    assert listed["logging.googleapis.com/trace"] == "projects/winter-proj/traces/0af7651916cd43dd8448eb211c80319c"
    assert listed["logging.googleapis.com/spanId"] == "b7ad6b7169203331"
    assert listed["logging.googleapis.com/trace_sampled"] is False
    # A request without trace headers (health checks are logged below INFO) carries none.
    assert all(
        "logging.googleapis.com/trace" not in e
        for e in entries
        if e.get("httpRequest", {}).get("requestUrl", "").endswith("/healthz")
    )
    started = next(e for e in of_run if e["message"] == "run started")
    source = started["logging.googleapis.com/sourceLocation"]
    assert source["file"].endswith("winter_days/orchestrator/pipeline.py") and source["function"] == "execute_run"
    assert int(source["line"]) > 0


def test_a_background_run_keeps_the_trace_of_the_request_that_started_it(settings, make_app, export_pipeline):
    app = make_app(export_pipeline)
    trace = "0123456789abcdef0123456789abcdef"
    run_id = (
        app.test_client()
        .post("/run?wait=false", headers={**AUTH, "traceparent": f"00-{trace}-00f067aa0ba902b7-01"})
        .get_json()["run_id"]
    )
    app.extensions["winter_days_orchestrator"]["launcher"].join_background(30)

    of_run = [e for e in entries_of(app) if e["run_id"] == run_id]
    assert of_run[-1]["event"] == "run_succeeded"
    # No project id in these settings: the bare trace id.
    assert {e["logging.googleapis.com/trace"] for e in of_run} == {trace}


def test_malformed_trace_headers_are_ignored():
    from winter_days.orchestrator.logs import trace_context_from_headers

    assert trace_context_from_headers({"X-Cloud-Trace-Context": "not-a-trace"}) is None
    assert trace_context_from_headers({"traceparent": "00-" + "0" * 32 + "-b7ad6b7169203331-01"}) is None
    assert (
        trace_context_from_headers({"traceparent": "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}) is None
    )
    cloud = trace_context_from_headers({"X-Cloud-Trace-Context": "0AF7651916CD43DD8448EB211C80319C"})
    assert cloud is not None and cloud.trace_id == "0af7651916cd43dd8448eb211c80319c" and cloud.span_id is None


def test_a_run_a_crash_cut_off_is_logged_as_run_failed_once_by_the_next_trigger(platform, make_app, dead_owner):
    """Its own process died before it could log the end: the next trigger reports it, once, so
    the run_failed alert counts it (a look at the runs or a restart would have, too)."""
    app = make_app(RunPipeline((RunStep("export_sales", lambda context: {"rows": 0}),)))
    history = platform.run_store
    crashed = history.start_run(["export_sales"], {"source": "cli"}, {}, owner=dead_owner).run_id
    history.step_started(crashed, 0)

    app.test_client().post("/run", headers=AUTH)
    app.test_client().get("/runs", headers=AUTH)
    app.test_client().get(f"/runs/{crashed}", headers=AUTH)

    ended = [e for e in entries_of(app) if e.get("event") in ("run_failed", "run_succeeded")]
    assert [(e["event"], e["run_id"]) for e in ended][0] == ("run_failed", crashed)
    [failed] = [e for e in ended if e["run_id"] == crashed]
    assert failed["severity"] == "ERROR" and failed["status"] == "cut_off" and failed["step"] == "export_sales"
    assert "stopped while the run was active" in failed["message"]
    assert [e["event"] for e in ended[1:]] == ["run_succeeded"]
