"""The `elt` fixture: a tmp lake and warehouse for running dataform/ locally."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.elt_models import LocalElt


@pytest.fixture
def elt(tmp_path: Path) -> LocalElt:
    lake = tmp_path / "lake"
    lake.mkdir()
    return LocalElt(lake=lake, warehouse=tmp_path / "warehouse" / "winter_days.duckdb")
