"""GET /metrics parses as Prometheus text and counts what the history holds; logs are Cloud Logging JSON."""

from __future__ import annotations

import json

from orchestrator_support import AUTH, put_sales
from prometheus_client.parser import text_string_to_metric_families

from winter_days.orchestrator.pipeline import RunPipeline, RunStep
from winter_days.orchestrator.steps import export_step, guarded


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
    text = make_app(RunPipeline((RunStep("export_sales", lambda c: {}),))).test_client().get("/metrics").get_data(as_text=True)
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
