"""A damaged published warehouse stops a run with a way out, and a full rebuild takes it."""

from __future__ import annotations

import pytest

from winter_days.elt.backend import InvocationConfig, InvocationState, Target
from winter_days.warehouse import WarehouseUnreadable

WH = "winter_days_warehouse"
FULL_REFRESH = InvocationConfig(fully_refresh_incremental_tables_enabled=True)


def empty(path) -> None:
    path.write_bytes(b"")


def not_a_database(path) -> None:
    path.write_bytes(b"rows exported by hand, not a database\n" * 200)


def damaged_headers(path) -> None:
    """A real DuckDB file whose two database headers were overwritten (DuckDB checks their checksums)."""
    data = bytearray(path.read_bytes())
    data[4096:12288] = bytes(8192)
    path.write_bytes(bytes(data))


DAMAGE = {"empty": empty, "not a database": not_a_database, "damaged headers": damaged_headers}


def two_tables(graph):
    graph.table(f"{WH}.t", "SELECT 1 AS id")
    graph.table(f"{WH}.u", f"SELECT id + 1 AS id FROM `proj.{WH}.t`", deps=[f"{WH}.t"])
    return graph.build()


def beside(warehouse_path) -> list[str]:
    return sorted(p.name for p in warehouse_path.parent.iterdir())


@pytest.fixture(params=list(DAMAGE))
def damaged(request, graph, executor, warehouse_path, digest):
    """A published warehouse, then damaged: its bytes as damaged."""
    from winter_days.warehouse.duckdb.files import wait_for_after_write

    assert executor.run(two_tables(graph)).published
    wait_for_after_write()  # its standby copy is stale once the file is damaged
    DAMAGE[request.param](warehouse_path)
    return warehouse_path.read_bytes()


def test_a_run_on_an_unreadable_warehouse_names_the_file_and_the_rebuild(damaged, graph, executor, warehouse_path):
    with pytest.raises(WarehouseUnreadable) as raised:
        executor.run(graph.build())
    message = str(raised.value)
    assert f"the warehouse {warehouse_path} cannot be read" in message
    assert "`winter-days elt rebuild`" in message and "--full-refresh" in message
    assert ".build-" not in message  # the hidden copy is no business of the user's
    assert warehouse_path.read_bytes() == damaged
    assert not [name for name in beside(warehouse_path) if ".build-" in name or ".unreadable-" in name]


def test_a_full_refresh_of_some_actions_does_not_replace_an_unreadable_warehouse(
    damaged, graph, executor, warehouse_path
):
    config = InvocationConfig(
        included_targets=(Target("proj", WH, "t"),), fully_refresh_incremental_tables_enabled=True
    )
    with pytest.raises(WarehouseUnreadable, match="winter-days elt rebuild"):
        executor.run(graph.build(), config)
    assert warehouse_path.read_bytes() == damaged


def test_a_full_refresh_of_every_action_rebuilds_and_keeps_the_unreadable_file(
    damaged, graph, executor, warehouse_path, query_published
):
    from winter_days.warehouse.duckdb.files import wait_for_after_write

    result = executor.run(graph.build(), FULL_REFRESH)
    assert result.state is InvocationState.SUCCEEDED and result.published
    assert query_published(f"SELECT id FROM {WH}.u") == [(2,)]
    [kept] = warehouse_path.parent.glob(f"{warehouse_path.name}.unreadable-*")
    assert kept.read_bytes() == damaged
    wait_for_after_write()
    stat = warehouse_path.stat()
    assert beside(warehouse_path) == sorted(
        [
            f".{warehouse_path.name}.lock",
            f".{warehouse_path.name}.standby-{stat.st_ino}-{stat.st_size}-{stat.st_ctime_ns}",
            warehouse_path.name,
            kept.name,
        ]
    )
