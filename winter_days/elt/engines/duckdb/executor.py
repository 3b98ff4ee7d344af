"""Run a compiled Dataform graph on DuckDB: schedule, states, write-audit-publish.

A run builds into a private copy of the published warehouse file. Only when every selected
action (assertions included) succeeded is the copy moved over the published file with an
atomic rename; otherwise the copy is deleted and the published file is byte-for-byte what
it was. Readers (dashboards, ML) open the published file read-only and so only ever see a
fully successful run.

A failed action skips its transitive dependents and nothing else; disabled actions are
DISABLED and do not block their dependents (Dataform assumes their output exists).

The build copy is private until it is published, so its session does not sync each
commit to disk (a crash mid-run leaves only a copy to delete): the run checkpoints once at
the end and syncs the finished file before the rename. A daily run is dozens of small
commits: syncing each took 0.25 s of a 1.8 s run at 120 demo days. After the run returns,
the file a publish replaced is removed and the next run's build copy is made; a run first
removes what runs that ended early left behind (warehouse/duckdb/files.py).

A published file DuckDB cannot open stops the run with a message naming it and the
rebuild command, before anything is built; a full refresh of every action (the rebuild)
moves it aside and builds the warehouse from an empty file (warehouse/duckdb/unreadable.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from winter_days.elt.backend import (
    ActionState,
    InvocationConfig,
    InvocationState,
    InvocationTiming,
    Target,
    WorkflowInvocationAction,
)
from winter_days.elt.engines.duckdb.actions import ActionRunner, AssertionFailed
from winter_days.elt.engines.duckdb.catalog import RelationKinds
from winter_days.elt.engines.duckdb.graph import ActionGraph, GraphError, build_graph, select
from winter_days.stores.locking import exclusive_lock
from winter_days.warehouse import WarehouseUnreadable
from winter_days.warehouse.duckdb.dialect.transpile import UnsupportedSqlError
from winter_days.warehouse.duckdb.dialect.udfs import bigquery_session
from winter_days.warehouse.duckdb.files import (
    build_copy,
    fsync_path,
    publish,
    remove_build,
    remove_leftovers,
    spill_folder,
    start_after_write,
    warehouse_lock_path,
)
from winter_days.warehouse.duckdb.unreadable import header_problem, refusal, set_aside, unreadable_message

ActionsCallback = Callable[[list[WorkflowInvocationAction]], None]

_BLOCKING = (ActionState.FAILED, ActionState.SKIPPED, ActionState.CANCELLED)


@dataclass(frozen=True)
class RunResult:
    """The outcome of one run: overall state, per-action results, whether it published."""

    state: InvocationState
    actions: tuple[WorkflowInvocationAction, ...]
    published: bool
    timing: InvocationTiming


BUILD_CATALOG = "winter_days_build"


def open_session(
    path: Path | str, read_only: bool = False, private: bool = False, memory_limit: str = ""
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with BigQuery's session semantics (UTC).

    The file is attached under a fixed catalog name, so a dataset may be named like the
    file (DuckDB would otherwise call `wh` both the catalog of wh.duckdb and a schema).
    `private` is for a build copy nobody else reads: commits are not synced to disk and
    nothing checkpoints before the caller's CHECKPOINT (the caller syncs the file). Its
    tables are written in parallel without keeping their query's row order (BigQuery tables
    have none); an ORDER BY still orders what it writes.
    `memory_limit` (DuckDB's form, e.g. '2GB'; empty: DuckDB's default of 80% of RAM) caps
    the session; larger joins, aggregates and sorts spill to a folder beside the file (for a
    private copy always: DuckDB's own default is a `.tmp` folder in the working directory,
    where a run that ended early would leave it unnoticed).
    """
    config: dict[str, Any] = (
        {"fsync_mode": "NONE", "checkpoint_threshold": "1TB", "preserve_insertion_order": False} if private else {}
    )
    if memory_limit:
        config.update(memory_limit=memory_limit)
    if memory_limit or private:
        config.update(temp_directory=str(spill_folder(Path(path))))
    con = duckdb.connect(config=config)
    mode = " (READ_ONLY)" if read_only else ""
    con.execute(f"ATTACH '{str(path).replace(chr(39), chr(39) * 2)}' AS {BUILD_CATALOG}{mode}")
    prepare_cursor(con)
    return con


def prepare_cursor(con: duckdb.DuckDBPyConnection) -> None:
    """Per-connection settings: the attached warehouse as default catalog, and BigQuery's
    session (UTC, the functions DuckDB lacks)."""
    con.execute(f"USE {BUILD_CATALOG}")
    bigquery_session(con)


class DuckDBExecutor:
    """Executes compiled graphs against one published warehouse file and one lake."""

    def __init__(self, warehouse_path: Path, lake_root: Path, max_workers: int = 1, memory_limit: str = ""):
        self.warehouse_path = Path(warehouse_path)
        self.lake_root = Path(lake_root)
        self.max_workers = max(1, int(max_workers))
        self.memory_limit = memory_limit

    def run(
        self,
        compiled: Mapping | ActionGraph,
        config: InvocationConfig = InvocationConfig(),
        cancel: threading.Event | None = None,
        on_update: ActionsCallback | None = None,
    ) -> RunResult:
        """Run the selected actions and publish only if all of them succeeded."""
        started = _now()
        graph = compiled if isinstance(compiled, ActionGraph) else build_graph(compiled)
        selected = select(graph, config)
        cancel = cancel or threading.Event()
        self.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
        retired: Path | None = None
        with self._exclusive():
            remove_leftovers(self.warehouse_path)
            build, on_disk, con = self._open_build(rebuilds_everything(graph, selected, config))
            # A fresh copy's pages go to disk while the actions run, so the sync before the
            # publish has only the run's own changes left to write.
            early_sync = threading.Thread(target=fsync_path, args=(build,), name="warehouse-build-sync", daemon=True)
            if build.exists() and not on_disk:
                early_sync.start()
            try:
                run = _Run(
                    graph, selected, build, self, config.fully_refresh_incremental_tables_enabled, cancel, on_update
                )
                actions = run.execute(con)
                states = {a.state for a in actions}
                if cancel.is_set() or ActionState.CANCELLED in states:
                    state = InvocationState.CANCELLED
                elif states & set(_BLOCKING):
                    state = InvocationState.FAILED
                else:
                    state = InvocationState.SUCCEEDED
                published = state is InvocationState.SUCCEEDED
                if published:
                    if early_sync.is_alive():
                        early_sync.join()
                    retired = publish(build, self.warehouse_path)
            finally:
                con.close()
                if early_sync.is_alive():
                    early_sync.join()
                remove_build(build)
        start_after_write(self.warehouse_path, retired)
        return RunResult(state, tuple(actions), published, InvocationTiming(started, _now()))

    def check_published(self, rebuild: bool) -> None:
        """WarehouseUnreadable at once when the published file is plainly no DuckDB database
        (empty, another header) and the run would not rebuild it; the run checks again, and
        fully, under the warehouse lock."""
        problem = header_problem(self.warehouse_path)
        if problem is not None and not rebuild:
            raise WarehouseUnreadable(unreadable_message(self.warehouse_path, problem))

    def _open_build(self, rebuild: bool) -> tuple[Path, bool, duckdb.DuckDBPyConnection]:
        """The run's build copy, whether it was already on disk (the standby), and its session.
        A published file DuckDB cannot open is WarehouseUnreadable naming it (never the hidden
        copy), unless the run rebuilds every action: then it is moved aside and the build
        starts from an empty file."""
        published = self.warehouse_path
        problem = header_problem(published)
        if problem is None:
            build, on_disk = build_copy(published)
            try:
                return build, on_disk, open_session(build, private=True, memory_limit=self.memory_limit)
            except duckdb.Error as err:
                remove_build(build)
                problem = refusal(build, err, published)
                if problem is None:
                    raise
        if not rebuild:
            raise WarehouseUnreadable(unreadable_message(published, problem))
        set_aside(published)
        build, on_disk = build_copy(published)
        return build, on_disk, open_session(build, private=True, memory_limit=self.memory_limit)

    def _exclusive(self) -> AbstractContextManager[None]:
        """One run at a time per warehouse file, across processes (ML writes wait on it too)."""
        return exclusive_lock(warehouse_lock_path(self.warehouse_path))


class _Run:
    """The state machine of one run over the selected actions."""

    def __init__(self, graph, selected, build, executor, full_refresh, cancel, on_update):
        self.graph: ActionGraph = graph
        self.selected: list[Target] = selected
        self.build: Path = build
        self.executor: DuckDBExecutor = executor
        self.full_refresh: bool = full_refresh
        self.cancel: threading.Event = cancel
        self.on_update: ActionsCallback | None = on_update
        self.lock = threading.Lock()
        self.results: dict[Target, WorkflowInvocationAction] = {
            t: WorkflowInvocationAction(target=t, kind=graph.actions[t].kind, state=ActionState.PENDING)
            for t in selected
        }
        self.running: dict[Target, duckdb.DuckDBPyConnection] = {}
        self.relations: RelationKinds | None = None
        self.height = _heights(graph, selected)

    def execute(self, con: duckdb.DuckDBPyConnection) -> list[WorkflowInvocationAction]:
        """Run the actions over `con`, the build copy's session (closed at the end)."""
        for target in self.selected:
            if self.graph.actions[target].disabled:
                self._set(target, state=ActionState.DISABLED)
        self._notify()
        try:
            # Created up front, one at a time: concurrent CREATE SCHEMA from two workers is
            # a write-write conflict in DuckDB's catalog.
            for schema in sorted({t.schema for t in self.selected}):
                con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            self.relations = RelationKinds(con)
            with ThreadPoolExecutor(max_workers=self.executor.max_workers) as pool:
                futures: dict[Future, Target] = {}
                while True:
                    self._skip_blocked()
                    if self.cancel.is_set():
                        self._cancel_pending()
                        self.interrupt()
                    for target in self._ready(exclude=set(futures.values())):
                        if len(futures) >= self.executor.max_workers:
                            break
                        self._set(target, state=ActionState.RUNNING, invocation_timing=InvocationTiming(_now()))
                        self._notify()
                        futures[pool.submit(self._run_one, con, target)] = target
                    if not futures:
                        break
                    done, _ = wait(list(futures), timeout=0.2, return_when=FIRST_COMPLETED)
                    for future in done:
                        futures.pop(future)
                        self._notify()
            if not self.cancel.is_set():
                con.execute("CHECKPOINT")
        finally:
            con.close()
        self._notify()
        return [self.results[t] for t in self.selected]

    def interrupt(self) -> None:
        """Stop the statements running now (cancel)."""
        with self.lock:
            for cursor in self.running.values():
                cursor.interrupt()

    def _run_one(self, con: duckdb.DuckDBPyConnection, target: Target) -> None:
        action = self.graph.actions[target]
        cursor = con.cursor()
        prepare_cursor(cursor)
        with self.lock:
            self.running[target] = cursor
        runner = ActionRunner(cursor, self.executor.lake_root, self.full_refresh, self.relations)
        state, reason = ActionState.SUCCEEDED, ""
        sample: tuple[dict[str, Any], ...] = ()
        try:
            runner.run(action)
        except AssertionFailed as failed:
            state, reason, sample = ActionState.FAILED, str(failed), tuple(failed.sample)
        except (duckdb.Error, UnsupportedSqlError, GraphError, OSError) as err:
            if self.cancel.is_set():
                state, reason = ActionState.CANCELLED, "cancelled while running"
            else:
                state, reason = ActionState.FAILED, f"{action.file_name or target}: action {target}: {err}"
        except Exception as err:
            state, reason = (
                ActionState.FAILED,
                f"{action.file_name or target}: action {target}: internal error {type(err).__name__}: {err}",
            )
        finally:
            with self.lock:
                self.running.pop(target, None)
            cursor.close()
        outcome = runner.outcome
        timing = InvocationTiming(self.results[target].invocation_timing.start_time, _now())
        self._set(
            target,
            state=state,
            failure_reason=reason,
            invocation_timing=timing,
            sql_script=";\n".join(outcome.statements),
            rows=outcome.rows,
            rows_affected=outcome.rows_affected,
            failing_rows_sample=sample,
        )

    def _ready(self, exclude: set[Target]) -> list[Target]:
        ready = []
        for target in self.selected:
            result = self.results[target]
            if result.state is not ActionState.PENDING or target in exclude:
                continue
            deps = [d for d in self.graph.actions[target].dependencies if d in self.results]
            if all(self.results[d].state in (ActionState.SUCCEEDED, ActionState.DISABLED) for d in deps):
                ready.append(target)
        # Longest chain of dependents first: a free worker takes the action that holds up the
        # most of the rest of the run, and leaves (assertions) fill in beside it.
        ready.sort(key=lambda t: -self.height[t])
        return ready

    def _skip_blocked(self) -> None:
        changed = True
        while changed:
            changed = False
            for target in self.selected:
                if self.results[target].state is not ActionState.PENDING:
                    continue
                blockers = [
                    d
                    for d in self.graph.actions[target].dependencies
                    if d in self.results and self.results[d].state in _BLOCKING
                ]
                if blockers:
                    reason = f"dependency {blockers[0]} {self.results[blockers[0]].state.value.lower()}"
                    self._set(target, state=ActionState.SKIPPED, failure_reason=reason)
                    changed = True

    def _cancel_pending(self) -> None:
        for target in self.selected:
            if self.results[target].state is ActionState.PENDING:
                self._set(target, state=ActionState.CANCELLED, failure_reason="invocation cancelled")

    def _set(self, target: Target, **changes) -> None:
        with self.lock:
            self.results[target] = replace(self.results[target], **changes)

    def _notify(self) -> None:
        if self.on_update is not None:
            with self.lock:
                snapshot = [self.results[t] for t in self.selected]
            self.on_update(snapshot)


def rebuilds_everything(graph: ActionGraph, selected: list[Target], config: InvocationConfig) -> bool:
    """Whether a run rebuilds the whole warehouse from the lake (a full refresh of every
    action): the only run that may start from an empty file when the published one is unreadable."""
    return config.fully_refresh_incremental_tables_enabled and len(set(selected)) == len(graph.actions)


def _heights(graph: ActionGraph, selected: list[Target]) -> dict[Target, int]:
    """For each selected action, the number of actions on its longest chain of selected dependents."""
    chosen = set(selected)
    dependents = graph.dependents()
    height: dict[Target, int] = {}
    for target in reversed(graph.order):
        if target in chosen:
            height[target] = 1 + max((height[d] for d in dependents[target] if d in height), default=0)
    return height


def _now() -> datetime:
    return datetime.now(UTC)
