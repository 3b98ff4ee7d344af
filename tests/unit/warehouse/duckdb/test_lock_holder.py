"""A DuckDB lock conflict becomes a message naming the holder, from DuckDB's own error."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest

from winter_days.warehouse.duckdb.lock_holder import explain_warehouse_lock

HOLDER = "import sys, time, duckdb; con = duckdb.connect(sys.argv[1]); print('holding', flush=True); time.sleep(120)"


def test_a_real_lock_conflict_is_explained_with_the_holders_pid(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(duckdb.IOException) as raised:
            duckdb.connect(str(path), read_only=True)
        message = explain_warehouse_lock(raised.value, path)
    finally:
        holder.kill()
        holder.wait()
    assert message is not None
    assert f"process {holder.pid}" in message and str(path) in message
    assert "python" in message  # the holder's command line


def test_other_errors_are_left_alone(tmp_path):
    assert explain_warehouse_lock(duckdb.CatalogException("Table x does not exist"), tmp_path / "w.duckdb") is None
