"""Fixtures of tests/unit/ml."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.churn_rows import SIM_FIRST_DAY, SIM_LAST_DAY
from support.pseudonym_keys import TEST_PSEUDONYMS

from winter_days.config import Settings
from winter_days.generators.customers import build_customer_pool
from winter_days.ml.simulated import write_simulated_warehouse


@pytest.fixture(scope="session")
def simulated_warehouse_file(tmp_path_factory) -> Path:
    """One generator-drawn warehouse (600 customers, five months), copied by each test."""
    path = tmp_path_factory.mktemp("simulated") / "warehouse.duckdb"
    pool = build_customer_pool(11, 600, SIM_FIRST_DAY, TEST_PSEUDONYMS)
    write_simulated_warehouse(path, pool, SIM_FIRST_DAY, SIM_LAST_DAY, sales_per_day=55, clicks_per_day=250)
    return path


@pytest.fixture
def simulated_settings(settings: Settings, simulated_warehouse_file: Path) -> Settings:
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    settings.warehouse_path.write_bytes(simulated_warehouse_file.read_bytes())
    return settings
