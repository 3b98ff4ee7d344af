"""Fixtures for the DuckDB executor: hand-written graphs in `dataform compile --json` shape."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import duckdb
import pytest

from winter_days.elt.engines.duckdb.executor import DuckDBExecutor

PROJECT = "proj"


class GraphBuilder:
    """Builds a compile --json document action by action (BigQuery-style `proj.ds.name` refs)."""

    def __init__(self) -> None:
        self.doc: dict[str, list[dict[str, Any]]] = {
            "tables": [],
            "operations": [],
            "assertions": [],
            "declarations": [],
        }

    @staticmethod
    def target(name: str) -> dict[str, str]:
        schema, table = name.split(".")
        return {"database": PROJECT, "schema": schema, "name": table}

    def _common(self, name: str, deps: list[str], tags: list[str], disabled: bool) -> dict[str, Any]:
        return {
            "target": self.target(name),
            "canonicalTarget": self.target(name),
            "fileName": f"definitions/{name.split('.')[1]}.sqlx",
            "dependencyTargets": [self.target(d) for d in deps],
            "tags": list(tags),
            "disabled": disabled,
        }

    def table(self, name, query, *, type="table", deps=(), tags=(), disabled=False, **extra) -> GraphBuilder:
        entry = self._common(name, list(deps), list(tags), disabled)
        entry.update({"type": type, "query": query, **extra})
        self.doc["tables"].append(entry)
        return self

    def operation(self, name, queries, *, deps=(), tags=(), has_output=True, disabled=False) -> GraphBuilder:
        entry = self._common(name, list(deps), list(tags), disabled)
        entry.update({"queries": list(queries), "hasOutput": has_output})
        self.doc["operations"].append(entry)
        return self

    def assertion(self, name, query, *, deps=(), tags=(), disabled=False) -> GraphBuilder:
        entry = self._common(name, list(deps), list(tags), disabled)
        entry["query"] = query
        self.doc["assertions"].append(entry)
        return self

    def build(self) -> dict[str, Any]:
        return self.doc


@pytest.fixture
def graph() -> GraphBuilder:
    return GraphBuilder()


@pytest.fixture
def lake_root(tmp_path) -> Path:
    root = tmp_path / "lake"
    root.mkdir()
    return root


@pytest.fixture
def warehouse_path(tmp_path) -> Path:
    return tmp_path / "warehouse" / "warehouse.duckdb"


@pytest.fixture
def executor(warehouse_path, lake_root) -> DuckDBExecutor:
    return DuckDBExecutor(warehouse_path, lake_root)


@pytest.fixture
def query_published(warehouse_path):
    """Run a query against the published warehouse, read-only, as a dashboard would (a plain
    DuckDB connection: the views the executor stored must not depend on its session)."""

    def run(sql: str) -> list[tuple]:
        con = duckdb.connect(str(warehouse_path), read_only=True)
        con.execute("SET TimeZone = 'UTC'")
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    return run


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def digest():
    return file_digest
