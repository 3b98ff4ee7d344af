"""`winter-days run`: progress, exit codes, and the guard it shares with the service."""

from __future__ import annotations

import json

from click.testing import CliRunner

from winter_days.orchestrator.cli import run
from winter_days.platform import build_platform
from winter_days.runs.sqlite import SqliteRunStore


def test_a_run_while_another_is_active_says_who_holds_it_and_what_to_do(settings, live_owner):
    history = SqliteRunStore(settings.run_store_path)
    active = history.start_run(["export_sales"], {"source": "http"}, {}, owner=live_owner).run_id

    result = CliRunner().invoke(run, [], obj=build_platform(settings))

    assert result.exit_code == 3
    assert f"Another run is active: run {active}" in result.stderr
    assert f"process {live_owner.pid}" in result.stderr
    assert "Wait for it to finish" in result.stderr
    assert [r["run_id"] for r in history.list_runs()] == [active]


def test_a_failing_step_exits_1_naming_it_and_is_recorded(settings):
    settings.document_store_path.parent.mkdir(parents=True, exist_ok=True)
    settings.document_store_path.write_bytes(b"\0not a database" * 64)

    result = CliRunner().invoke(run, ["--json"], obj=build_platform(settings))

    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["status"] == "failed" and summary["failed_step"] == "export_sales"
    assert "FAILED export_sales" in result.stderr
    assert "step export_sales failed: DatabaseError" in result.stderr
    assert "Traceback" not in result.stderr
    [recorded] = SqliteRunStore(settings.run_store_path).list_runs()
    assert recorded["run_id"] == summary["run_id"] and recorded["trigger"] == {"source": "cli"}
    # The JSON log of the command line is kept beside the history, with the traceback for the operator.
    [log_file] = (settings.home / "logs").glob("run-*.jsonl")
    entries = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert any(
        e["severity"] == "ERROR" and e["step"] == "export_sales" and "Traceback" in e["message"] for e in entries
    )


def test_a_bad_orchestrator_variable_is_a_usage_error(settings, monkeypatch):
    from winter_days.cli import main

    monkeypatch.setenv("WINTER_DAYS_ORCHESTRATOR_POLL_TIMEOUT_SECONDS", "forever")
    result = CliRunner().invoke(main, ["run"])
    assert result.exit_code == 2
    assert "WINTER_DAYS_ORCHESTRATOR_POLL_TIMEOUT_SECONDS" in result.stderr


def test_full_export_is_a_parameter_of_the_run_it_records(settings):
    settings.document_store_path.parent.mkdir(parents=True, exist_ok=True)
    settings.document_store_path.write_bytes(b"\0not a database" * 64)  # the run stops at its first step

    result = CliRunner().invoke(run, ["--full-export", "--json"], obj=build_platform(settings))

    assert result.exit_code == 1
    [recorded] = SqliteRunStore(settings.run_store_path).list_runs()
    assert recorded["parameters"]["full_export"] is True and recorded["parameters"]["full_refresh"] is False
