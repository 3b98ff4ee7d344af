"""The table names code outside the SQL models reads (winter_days/warehouse/tables.py) are
tables the Dataform project builds: a model renamed or moved to another dataset without its
name here would leave a dashboard, the ML features or the demo report reading nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from winter_days.elt.sqlx import compile_project
from winter_days.warehouse import tables
from winter_days.warehouse.tables import TableName, WrittenTable

DATAFORM_DIR = Path(__file__).resolve().parents[3] / "dataform"


@pytest.fixture(scope="module")
def compiled_tables() -> set[TableName]:
    graph = compile_project(DATAFORM_DIR)
    return {TableName(t["target"]["schema"], t["target"]["name"]) for t in graph["tables"]}


@pytest.mark.parametrize("table", tables.MODEL_TABLES, ids=str)
def test_each_model_table_is_built_by_the_project(compiled_tables, table):
    assert table in compiled_tables, f"{table} is in MODEL_TABLES but no model of {DATAFORM_DIR} builds it"


def test_every_named_table_is_a_model_table_or_written_by_the_platform():
    named = {value for value in vars(tables).values() if isinstance(value, TableName)}
    written = {value.name for value in vars(tables).values() if isinstance(value, WrittenTable)}
    assert named - written == set(tables.MODEL_TABLES)
    assert not written & set(tables.MODEL_TABLES)
