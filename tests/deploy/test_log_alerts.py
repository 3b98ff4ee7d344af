"""The alerts' log-based metrics (monitoring.tf) match exactly the lines the service writes.

A failed and a successful run go through the real service (Flask test client, local
profile); each JSON line is turned into the log entry Cloud Run makes of it (`severity`
lifted out, the rest under jsonPayload), and the metrics' filters are evaluated on those
entries. The resource terms (`resource.type`, the service name) hold for every line of the
service and are left out.
"""

from __future__ import annotations

import io
import json
import re

from support.terraform_model import root

from winter_days.config import load_settings
from winter_days.orchestrator.launcher import RunLauncher
from winter_days.orchestrator.pipeline import RunPipeline, RunStep
from winter_days.platform import build_platform
from winter_days.service import create_app

SEVERITY_ORDER = ["DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"]
TOKEN = "alerts-test-token-0123456789abcdef"
_TERM = re.compile(r'^(severity|jsonPayload\.[A-Za-z_.]+)\s*(>=|=)\s*"?([^"]*)"?$')


def log_entry(line: str) -> dict:
    """A JSON line as Cloud Run's logging agent stores it."""
    payload = json.loads(line)
    severity = payload.pop("severity", "DEFAULT")
    payload = {key: value for key, value in payload.items() if not key.startswith("logging.googleapis.com/")}
    return {"severity": severity, "jsonPayload": payload}


def matches(log_filter: str, entry: dict) -> bool:
    for term in log_filter.split(" AND "):
        if term.startswith("${local.") or term.startswith("resource."):
            continue
        parsed = _TERM.match(term.strip())
        assert parsed, f"a filter term this check does not read: {term}"
        field, operator, expected = parsed.groups()
        if field == "severity":
            actual_rank, expected_rank = SEVERITY_ORDER.index(entry["severity"]), SEVERITY_ORDER.index(expected)
            if not (actual_rank >= expected_rank if operator == ">=" else actual_rank == expected_rank):
                return False
            continue
        value = entry["jsonPayload"]
        for part in field.split(".")[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None or str(value) != expected:
            return False
    return True


def run_log(tmp_path, pipeline: RunPipeline) -> tuple[str, list[dict]]:
    settings = load_settings(
        environ={"WINTER_DAYS_HOME": str(tmp_path / "home"), "WINTER_DAYS_AUTH_TOKEN": TOKEN}, cwd=tmp_path
    )
    platform = build_platform(settings)
    stream = io.StringIO()
    app = create_app(platform, launcher=RunLauncher(platform, pipeline), log_stream=stream, dashboard=False)
    run_id = app.test_client().post("/run", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()["run_id"]
    platform.close()
    return run_id, [log_entry(line) for line in stream.getvalue().splitlines()]


def test_a_failed_run_is_counted_once_by_the_failure_metric_with_its_step(tmp_path):
    def broken(context):
        raise OSError("lake unreachable")

    run_id, entries = run_log(tmp_path, RunPipeline((RunStep("export_sales", lambda c: {}), RunStep("invoke", broken))))
    module = root()
    failed = module.resource("google_logging_metric", "run_failed").body
    succeeded = module.resource("google_logging_metric", "run_succeeded").body["filter"]

    [counted] = [entry for entry in entries if matches(failed["filter"], entry)]
    assert counted["jsonPayload"]["run_id"] == run_id
    # The metric's label: EXTRACT(jsonPayload.step).
    assert failed["label_extractors"]["step"] == "EXTRACT(jsonPayload.step)"
    assert counted["jsonPayload"]["step"] == "invoke"
    assert not [entry for entry in entries if matches(succeeded, entry)]


def test_a_successful_run_is_counted_once_by_the_success_metric(tmp_path):
    run_id, entries = run_log(tmp_path, RunPipeline((RunStep("export_sales", lambda c: {"rows": 0}),)))
    module = root()
    failed = module.resource("google_logging_metric", "run_failed").body["filter"]
    succeeded = module.resource("google_logging_metric", "run_succeeded").body["filter"]

    [counted] = [entry for entry in entries if matches(succeeded, entry)]
    assert counted["jsonPayload"]["run_id"] == run_id and counted["severity"] == "INFO"
    assert not [entry for entry in entries if matches(failed, entry)]
