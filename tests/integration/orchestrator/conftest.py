"""A simulated installation with enough history for the churn model, and a real service on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from support.orchestrator_world import CLICKS_PER_DAY, DAYS, REPO, SALES_PER_DAY, installation_environ
from support.service_process import ServiceProcess

from winter_days.config import Settings, load_settings
from winter_days.orchestrator.launcher import RunLauncher
from winter_days.orchestrator.pipeline import RunParameters
from winter_days.platform import build_platform
from winter_days.simulation import DailyVolumes, DaySimulator
from winter_days.warehouse.duckdb.files import leave_out_standbys, wait_for_after_write


@pytest.fixture(scope="session")
def world_template(tmp_path_factory) -> Path:
    """Generated once: DAYS of sales, clickstream and weekly startups in a store and a lake."""
    root = tmp_path_factory.mktemp("world")
    settings = load_settings(environ=installation_environ(root), cwd=root)
    platform = build_platform(settings)
    simulator = DaySimulator(platform, DailyVolumes(sales=SALES_PER_DAY, clicks=CLICKS_PER_DAY, startups=20))
    simulator.write_days(settings.population_start, DAYS)
    simulator.close()
    platform.close()
    return root


def install_copy(template: Path, root: Path, monkeypatch) -> Settings:
    """A private copy of a template installation, with its own Dataform project and settings."""
    shutil.copytree(template / "home", root / "home", ignore=leave_out_standbys)
    shutil.copytree(REPO / "dataform", root / "dataform", ignore=shutil.ignore_patterns("node_modules", ".df-*"))
    for name in list(os.environ):
        if name.startswith("WINTER_DAYS_"):
            monkeypatch.delenv(name)
    for name, value in installation_environ(root).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(root)
    return load_settings()


@pytest.fixture
def installation(world_template, tmp_path, monkeypatch) -> Settings:
    """The simulated world before any run."""
    return install_copy(world_template, tmp_path, monkeypatch)


@pytest.fixture(scope="session")
def published_template(world_template, tmp_path_factory) -> Path:
    """The simulated world after one successful run: bronze, gold, a champion and predictions."""
    root = tmp_path_factory.mktemp("published")
    shutil.copytree(world_template / "home", root / "home")
    shutil.copytree(REPO / "dataform", root / "dataform", ignore=shutil.ignore_patterns("node_modules", ".df-*"))
    settings = load_settings(environ=installation_environ(root), cwd=root)
    platform = build_platform(settings)
    run = RunLauncher(platform).trigger({"source": "test"}, RunParameters()).run
    platform.close()
    assert run is not None and run["status"] == "succeeded", run
    wait_for_after_write()  # the warehouse's standby copy is being made: copies of the home follow
    return root


@pytest.fixture
def published(published_template, tmp_path, monkeypatch) -> Settings:
    """A private copy of the world after one successful run."""
    return install_copy(published_template, tmp_path, monkeypatch)


@pytest.fixture
def service(installation, tmp_path):
    """Start `winter-days serve` on a free port; stopped (by its pid) after the test."""
    started: list[ServiceProcess] = []

    def start(**env: str) -> ServiceProcess:
        process = ServiceProcess.serve(tmp_path, {**installation_environ(tmp_path), **env})
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
