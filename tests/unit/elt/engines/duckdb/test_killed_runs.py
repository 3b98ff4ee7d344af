"""Runs killed at random points: the published warehouse stays readable and as it was (or
is the killed run's complete result, when the kill came after its publish), and the next
successful run leaves only the warehouse and one standby copy on disk."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from winter_days.elt.engines.duckdb.executor import DuckDBExecutor
from winter_days.warehouse.duckdb.files import wait_for_after_write

pytestmark = pytest.mark.slow

KILLS = 20
ROWS = 150_000
ST = "winter_days_staging"
WH = "winter_days_warehouse"
RUN = "__RUN__"

# Imports the executor once, then forks one run per request: a fresh interpreter would spend
# seconds importing before each run. A child is reaped only when the test says so, so the
# pid the test kills cannot have been given to another process meanwhile.
ZYGOTE = r"""
import json, os, sys
from winter_days.elt.engines.duckdb.executor import DuckDBExecutor
from winter_days.warehouse.duckdb.files import wait_for_after_write

while True:
    line = sys.stdin.readline()
    if not line:
        break
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            DuckDBExecutor(job["warehouse"], job["lake"]).run(job["graph"])
            wait_for_after_write()
            code = 0
        finally:
            os._exit(code)
    print(pid, flush=True)
    sys.stdin.readline()
    print(os.waitpid(pid, 0)[1], flush=True)
"""


class Zygote:
    """Starts runs in forked processes, and reaps each when told."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def _say(self, line: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer, f"the zygote ended with {self.process.wait()}"
        return answer

    def start(self, warehouse: Path, lake: Path, graph: dict) -> int:
        return int(self._say(json.dumps({"warehouse": str(warehouse), "lake": str(lake), "graph": graph})))

    def reap(self) -> int:
        """Wait for the run's process to end; its wait status."""
        return int(self._say(""))

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


@pytest.fixture
def zygote():
    started = Zygote()
    yield started
    started.close()


def graph_of_run(graph, number: int) -> dict:
    return json.loads(json.dumps(graph.build()).replace(RUN, str(number)))


def a_run_worth_killing(graph):
    """About a second of work (more on a busy machine) over a build copy, its WAL and a standby of some 15 MB."""
    graph.table(
        f"{ST}.src", f"SELECT id, TO_HEX(MD5(CAST(id AS STRING))) AS h FROM UNNEST(GENERATE_ARRAY(1, {ROWS})) AS id"
    )
    graph.table(f"{WH}.wide", f"SELECT id, CONCAT(h, h) AS hh, {RUN} AS run FROM `proj.{ST}.src`", deps=[f"{ST}.src"])
    graph.table(
        f"{WH}.by_bucket",
        f"SELECT MOD(id, 97) AS bucket, COUNT(*) AS n, ANY_VALUE(run) AS run FROM `proj.{WH}.wide` GROUP BY 1",
        deps=[f"{WH}.wide"],
    )
    graph.assertion(
        "winter_days_assertions.every_row",
        f"SELECT * FROM (SELECT SUM(n) AS n FROM `proj.{WH}.by_bucket`) WHERE n != {ROWS}",
        deps=[f"{WH}.by_bucket"],
    )
    return graph


def published_run(warehouse: Path) -> int:
    """The run whose result is published; asserts the result is whole."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        ((rows, runs, run),) = con.execute(
            f"SELECT COUNT(*), COUNT(DISTINCT run), ANY_VALUE(run) FROM {WH}.wide"
        ).fetchall()
        ((bucketed, bucket_runs),) = con.execute(f"SELECT SUM(n), ANY_VALUE(run) FROM {WH}.by_bucket").fetchall()
    finally:
        con.close()
    assert (rows, runs, bucketed, bucket_runs) == (ROWS, 1, ROWS, run)
    return run


def files_beside(warehouse: Path) -> dict[str, int]:
    return {p.name: (p.stat().st_size if p.is_file() else -1) for p in warehouse.parent.iterdir()}


def test_runs_killed_at_random_points_lose_nothing_and_leave_nothing_after_the_next_run(
    graph, warehouse_path, lake_root, digest, zygote
):
    a_run_worth_killing(graph)
    assert DuckDBExecutor(warehouse_path, lake_root).run(graph_of_run(graph, 0)).published
    wait_for_after_write()
    # One whole run in a forked process, for the span the kills are spread over.
    began = time.monotonic()
    zygote.start(warehouse_path, lake_root, graph_of_run(graph, 1))
    assert zygote.reap() == 0
    span = time.monotonic() - began
    assert published_run(warehouse_path) == 1

    seed = random.randrange(2**32)
    chance = random.Random(seed)
    left_behind = 0
    for number in range(2, 2 + KILLS):
        before, before_run = digest(warehouse_path), published_run(warehouse_path)
        pid = zygote.start(warehouse_path, lake_root, graph_of_run(graph, number))
        time.sleep(chance.uniform(0, span))
        os.kill(pid, signal.SIGKILL)
        zygote.reap()
        context = f"kill of run {number} (seed {seed}, span {span:.2f} s)"
        now_run = published_run(warehouse_path)
        assert now_run in (before_run, number), context
        if now_run == before_run:
            assert digest(warehouse_path) == before, context
        extra = set(files_beside(warehouse_path)) - {warehouse_path.name, f".{warehouse_path.name}.lock"}
        left_behind += any(".standby-" not in name or "partial" in name for name in extra)

        if number % 2:  # two kills' leftovers, then the next successful run
            assert DuckDBExecutor(warehouse_path, lake_root).run(graph_of_run(graph, 100 + number)).published, context
            wait_for_after_write()
            assert published_run(warehouse_path) == 100 + number
            stat = warehouse_path.stat()
            standby = f".{warehouse_path.name}.standby-{stat.st_ino}-{stat.st_size}-{stat.st_ctime_ns}"
            assert files_beside(warehouse_path) == {
                warehouse_path.name: stat.st_size,
                f".{warehouse_path.name}.lock": 0,
                standby: stat.st_size,
            }, context
    # The kills did land inside runs: some left a build copy, a partial standby or a retired file.
    assert left_behind > 0, f"no kill left anything behind (seed {seed}, span {span:.2f} s)"
