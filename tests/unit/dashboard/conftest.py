"""Fixtures of tests/unit/dashboard."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from support.dashboard_rows import REPOSITORY, build_small_warehouse


@pytest.fixture
def small_warehouse(tmp_path) -> Path:
    return build_small_warehouse(tmp_path / "warehouse.duckdb")


@pytest.fixture
def install(settings):
    """An installation with the small warehouse published and the project's Dataform repository."""
    settings.home.mkdir(parents=True)
    path = build_small_warehouse(settings.home / "warehouse.duckdb")
    return replace(settings, warehouse_path=path, dataform_dir=REPOSITORY / "dataform")
