"""A simulated day: the same data whether the lake flows run in a second process or not,
and a failed flow is named, whichever process it failed in."""

from __future__ import annotations

import os
import signal
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from winter_days.config import load_settings
from winter_days.generators.clickstream import clickstream_key
from winter_days.generators.lake_flows import FlowError, LakeFlowsJob, LakeFlowsProcess
from winter_days.platform import build_platform
from winter_days.simulation import DailyVolumes, DaySimulator, DayWritten

FRIDAY = date(2026, 1, 2)  # a startup load day
VOLUMES = DailyVolumes(sales=400, clicks=6000, startups=40)


def installation(
    root: Path, name: str, volumes: DailyVolumes = VOLUMES, concurrent: bool | None = None
) -> DaySimulator:
    # One key for all: the installations' pseudonyms must agree for their data to.
    overrides = {"home": str(root / name), "customers": 500, "pseudonym": {"key_file": str(root / "pseudonym.key")}}
    settings = load_settings(overrides=overrides, environ={}, cwd=root)
    return DaySimulator(build_platform(settings), volumes, concurrent=concurrent)


def stored(simulator: DaySimulator) -> tuple[list[tuple], dict[str, bytes]]:
    with sqlite3.connect(simulator.settings.document_store_path) as conn:
        documents = conn.execute("SELECT collection, doc_id, body, seq FROM documents ORDER BY seq").fetchall()
    return documents, {key: simulator.lake.get(key) for key in simulator.lake.list("")}


def test_lake_flows_in_a_second_process_write_exactly_what_one_process_writes(tmp_path):
    one = installation(tmp_path, "one", concurrent=False)
    two = installation(tmp_path, "two", concurrent=True)
    days = [FRIDAY, date(2026, 1, 3)]
    assert (
        one.write_days(days[0], 2)
        == two.write_days(days[0], 2)
        == [DayWritten(FRIDAY, 400, 6000, 40), DayWritten(date(2026, 1, 3), 400, 6000, 0)]
    )
    documents, files = stored(one)
    assert (
        len(documents) == 800
        and clickstream_key(FRIDAY) in files
        and any(k.startswith("bronze/startups/") for k in files)
    )
    assert stored(two) == (documents, files)


def test_a_clickstream_failure_in_the_second_process_names_the_flow_and_publishes_nothing(tmp_path):
    simulator = installation(tmp_path, "home", concurrent=True)
    key = clickstream_key(FRIDAY)
    simulator.lake.put(key, b'{"event_id":"other"}\n')  # bronze files are immutable
    with pytest.raises(
        FlowError, match=r"2026-01-02: the clickstream flow failed: LakeImmutableError: .*already exists"
    ):
        simulator.write_day(FRIDAY)
    assert simulator.lake.get(key) == b'{"event_id":"other"}\n'
    folder = simulator.lake.local_path(key).parent
    assert sorted(p.name for p in folder.iterdir()) == [Path(key).name]  # no temp file left behind


def test_a_sales_failure_waits_for_the_lake_flows_and_names_every_failed_flow(tmp_path):
    installation(tmp_path, "home", concurrent=True).write_day(FRIDAY)
    # Other daily volumes on the same day: the churn ground truth and the click file differ.
    changed = installation(tmp_path, "home", DailyVolumes(sales=300, clicks=5000, startups=40), concurrent=True)
    with pytest.raises(FlowError) as failure:
        changed.write_day(FRIDAY)
    message = str(failure.value)
    assert "2026-01-02: the sales flow failed: GroundTruthConflict" in message
    assert "the clickstream flow failed: LakeImmutableError" in message
    only_sales = installation(tmp_path, "home", DailyVolumes(sales=300, clicks=6000, startups=40), concurrent=True)
    with pytest.raises(FlowError, match="the sales flow failed") as failure:
        only_sales.write_day(FRIDAY)
    assert "clickstream" not in str(failure.value)


def test_flows_in_one_process_are_named_too(tmp_path):
    simulator = installation(tmp_path, "home", concurrent=False)
    simulator.lake.put(clickstream_key(FRIDAY), b"{}\n")
    with pytest.raises(FlowError, match="2026-01-02: the clickstream flow failed"):
        simulator.write_day(FRIDAY)


def test_a_lake_flows_process_that_dies_is_reported_with_its_exit_code(tmp_path):
    simulator = installation(tmp_path, "home", DailyVolumes(sales=10, clicks=2_000_000, startups=10))
    process = LakeFlowsProcess(LakeFlowsJob(simulator.settings, None, simulator.pool, FRIDAY, 2_000_000, None))
    os.kill(process._process.pid, signal.SIGKILL)
    with pytest.raises(FlowError, match=r"2026-01-02: the clickstream/startups flows failed: .*exit code -9"):
        process.result()
    assert simulator.lake.list("bronze/") == []


def test_large_days_use_a_second_process_by_default_small_ones_do_not(tmp_path):
    small = installation(tmp_path, "small")
    large = installation(tmp_path, "large", DailyVolumes(sales=10, clicks=1_000_000))
    assert not small._use_second_process() and large._use_second_process()
    assert not installation(tmp_path, "off", DailyVolumes(clicks=1_000_000), concurrent=False)._use_second_process()
