"""The run history in SQLite: the guard across processes, watermarks, cut-off runs, paging."""

from __future__ import annotations

import json
import subprocess
import sys

from winter_days.orchestrator.history import RunHistory

CONTENDER = """
import json, sys, time
from winter_days.orchestrator.history import RunHistory
history = RunHistory(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
decision = history.start_run(["export_sales"], {"source": "cli"}, {})
print(json.dumps({"outcome": decision.outcome, "run_id": decision.run_id}))
time.sleep(1.5)  # hold the run while the others try
"""


def test_processes_racing_for_the_guard_start_exactly_one_run(tmp_path):
    path = tmp_path / "orchestrator.sqlite3"
    RunHistory(path)
    go = __import__("time").time() + 2.0
    procs = [
        subprocess.Popen([sys.executable, "-c", CONTENDER, str(path), str(go)], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    results = [json.loads(p.communicate(timeout=60)[0]) for p in procs]

    started = [r for r in results if r["outcome"] == "started"]
    assert len(started) == 1
    assert {r["run_id"] for r in results if r["outcome"] == "busy"} == {started[0]["run_id"]}
    # All six processes have ended: the next start reclaims their run as cut off.
    history = RunHistory(path)
    assert history.reclaim_cut_off_runs() == [started[0]["run_id"]]
    assert history.get_run(started[0]["run_id"])["status"] == "cut_off"


def test_watermark_advances_only_with_a_successful_step(history):
    run = history.start_run(["export_sales"], {"source": "cli"}, {}).run_id
    history.step_started(run, 0)
    history.step_finished(run, 0, "failed", 0.1, {}, "boom", watermarks={"export_sales/winter_sales": 40})
    assert history.watermark("export_sales/winter_sales") is None
    history.finish_run(run, "export_sales", "boom")

    run = history.start_run(["export_sales"], {"source": "cli"}, {}).run_id
    history.step_started(run, 0)
    history.step_finished(run, 0, "succeeded", 0.1, {"rows": 40}, watermarks={"export_sales/winter_sales": 40})
    history.finish_run(run)
    assert RunHistory(history.path).watermark("export_sales/winter_sales") == 40


def test_a_finished_run_frees_the_guard_and_pending_steps_are_skipped(history):
    run = history.start_run(["export_sales", "compile"], {"source": "cli"}, {}).run_id
    assert history.active_run_id() == run
    history.step_started(run, 0)
    history.step_finished(run, 0, "failed", 0.2, {}, "store unreadable")
    history.finish_run(run, "export_sales", "step export_sales failed: store unreadable")
    assert history.active_run_id() is None
    shown = history.get_run(run)
    assert shown["status"] == "failed"
    assert [s["status"] for s in shown["steps"]] == ["failed", "skipped"]
    assert history.start_run(["export_sales"], {"source": "cli"}, {}).outcome == "started"


def test_runs_page_newest_first(history):
    ids = []
    for _ in range(5):
        run = history.start_run(["export_sales"], {"source": "cli"}, {}).run_id
        history.finish_run(run)
        ids.append(run)
    page = history.list_runs(limit=2)
    assert [r["run_id"] for r in page] == ids[::-1][:2]
    rest = history.list_runs(limit=10, before=page[-1]["run_id"])
    assert [r["run_id"] for r in rest] == ids[::-1][2:]
