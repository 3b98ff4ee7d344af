"""The run history in SQLite: the run store contract, and the guard across processes."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time

import pytest
from contracts.run_store import RunStoreContract, into_second_step

from winter_days.runs.sqlite import SqliteRunStore

CONTENDER = """
import json, sys, time
from winter_days.runs.sqlite import SqliteRunStore
history = SqliteRunStore(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
decision = history.start_run(["export_sales"], {"source": "cli"}, {})
print(json.dumps({"outcome": decision.outcome, "run_id": decision.run_id}))
time.sleep(1.5)  # hold the run while the others try
"""


class TestSqliteRunStore(RunStoreContract):
    """The SQLite store: a run is cut off when its owning process on this host has ended."""

    @pytest.fixture
    def history(self, platform) -> SqliteRunStore:
        return platform.run_store

    @pytest.fixture
    def reopen(self, history):
        return lambda: SqliteRunStore(history.path)

    @pytest.fixture
    def forget_step_records(self):
        def forget(history):
            with sqlite3.connect(history.path) as conn:
                conn.execute("DELETE FROM run_steps")

        return forget

    @pytest.fixture
    def start_orphaned_run(self, dead_owner):
        def start(history, step_names, trigger_key=None):
            run = history.start_run(step_names, {"source": "cli"}, {}, trigger_key=trigger_key, owner=dead_owner).run_id
            into_second_step(history, run)
            return run

        return start


def test_processes_racing_for_the_guard_start_exactly_one_run(tmp_path):
    path = tmp_path / "orchestrator.sqlite3"
    SqliteRunStore(path)
    go = time.time() + 2.0
    procs = [
        subprocess.Popen([sys.executable, "-c", CONTENDER, str(path), str(go)], stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    results = [json.loads(p.communicate(timeout=60)[0]) for p in procs]

    started = [r for r in results if r["outcome"] == "started"]
    assert len(started) == 1
    assert {r["run_id"] for r in results if r["outcome"] == "busy"} == {started[0]["run_id"]}
    # All six processes have ended: the next start reclaims their run as cut off.
    history = SqliteRunStore(path)
    assert history.reclaim_cut_off_runs() == [started[0]["run_id"]]
    assert history.get_run(started[0]["run_id"])["status"] == "cut_off"


def test_a_history_from_before_step_metrics_gets_them_built_from_its_steps(tmp_path):
    path = tmp_path / "orchestrator.sqlite3"
    history = SqliteRunStore(path)
    run = history.start_run(["export_sales"], {"source": "cli"}, {}).run_id
    history.step_started(run, 0)
    history.step_finished(run, 0, "succeeded", 2.0, {"rows": 5})
    history.finish_run(run)
    expected = history.run_metrics()
    with sqlite3.connect(path) as conn:  # the file as an older version left it
        conn.execute("DROP TABLE step_metrics")
        conn.execute("DROP TABLE step_metrics_since")

    rebuilt = SqliteRunStore(path).run_metrics()

    assert rebuilt == expected
    assert [(s.name, s.count, dict(s.totals)) for s in rebuilt.steps] == [("export_sales", 1, {"rows": 5})]
