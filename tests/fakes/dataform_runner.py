"""What Dataform's runner sends to BigQuery for a compiled graph, and a runner that sends it.

The statements follow cli/api/dbadapters/execution_sql.ts and the order and states follow
cli/api/commands/run.ts of dataform-co/dataform (3.x), in the shapes the BigQuery fake
runs (no procedural scripting): per action, one task (one BigQuery job) per statement:

- table: pre-operations, `create or replace table T partition by .. cluster by .. as <query>`,
  post-operations;
- incremental: as a table when T does not exist yet or a full refresh is asked; else the
  incremental pre-operations, then `merge T using (<incrementalQuery>) S on <unique key> ...`
  (with a unique key) or `insert into T (cols) select cols from (<incrementalQuery>)`,
  then the incremental post-operations;
- view: `create or replace view T as <query>`;
- operations: each query;
- assertion: `create or replace view T as <query>`, then `select sum(1) as row_count from T`:
  a non-zero count fails it with "Assertion failed: query returned N row(s).".

An action runs once every dependency in the run succeeded; one whose dependency failed is
SKIPPED; a task's failure is reported as "bigquery error: <message>". Datasets the
targets name are created first, in the compilation's default location.

`apply_code_compilation_config` is what the Dataform API does with a compilation's
codeCompilationConfig: the default database, the schema suffix and the assertion dataset
applied to every target, and to every reference to one in the compiled SQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SECTIONS = ("tables", "operations", "assertions")
SQL_FIELDS = ("query", "incrementalQuery", "preOps", "postOps", "incrementalPreOps", "incrementalPostOps", "queries")
FINISHED = ("SUCCEEDED", "FAILED", "SKIPPED", "DISABLED", "CANCELLED")


def target_key(target: dict[str, Any]) -> tuple[str, str]:
    return (str(target.get("schema") or ""), str(target["name"]))


@dataclass
class GraphAction:
    """One runnable action of a compiled graph."""

    section: str
    action: dict[str, Any]

    @property
    def target(self) -> dict[str, Any]:
        return self.action["target"]

    @property
    def key(self) -> tuple[str, str]:
        return target_key(self.target)

    @property
    def kind(self) -> str:
        if self.section == "tables":
            return str(self.action.get("type") or "table")
        return "operations" if self.section == "operations" else "assertion"

    @property
    def dependencies(self) -> list[tuple[str, str]]:
        return [target_key(t) for t in self.action.get("dependencyTargets") or ()]

    def relation(self, project: str) -> str:
        database = self.target.get("database") or project
        return f"`{database}.{self.target['schema']}.{self.target['name']}`"


@dataclass(frozen=True)
class Task:
    """One statement, sent as one BigQuery job; an assertion task counts failing rows."""

    statement: str
    assertion: bool = False


def runnable_actions(graph: dict[str, Any]) -> list[GraphAction]:
    """The graph's tables, operations and assertions, each after its dependencies (ties by name)."""
    actions = {GraphAction(s, a).key: GraphAction(s, a) for s in SECTIONS for a in graph.get(s) or ()}
    order: list[GraphAction] = []
    seen: set[tuple[str, str]] = set()

    def visit(key: tuple[str, str]) -> None:
        if key in seen or key not in actions:
            return
        seen.add(key)
        for dependency in actions[key].dependencies:
            visit(dependency)
        order.append(actions[key])

    for key in sorted(actions):
        visit(key)
    return order


def _statements(queries: Iterable[str]) -> list[str]:
    return [q.strip().rstrip(";").strip() for q in queries if q and q.strip().rstrip(";").strip()]


def action_tasks(item: GraphAction, client: Any, project: str, full_refresh: bool = False) -> list[Task]:
    """The tasks the Dataform runner sends for one action, given the warehouse's current state."""
    action, target = item.action, item.relation(project)
    if item.kind == "operations":
        return [Task(q) for q in _statements(action.get("queries") or ())]
    if item.kind == "assertion":
        return [
            Task(f"create or replace view {target} as {action['query']}"),
            Task(f"select sum(1) as row_count from {target}", assertion=True),
        ]
    if item.kind == "view":
        return [Task(f"create or replace view {target} as {action['query']}")]
    columns = None if item.kind != "incremental" or full_refresh else _columns(client, target)
    if columns is None:
        bq = action.get("bigquery") or {}
        partition = f"partition by {bq['partitionBy']} " if bq.get("partitionBy") else ""
        cluster = f"cluster by {', '.join(bq['clusterBy'])} " if bq.get("clusterBy") else ""
        create = f"create or replace table {target} {partition}{cluster}\n    as {action['query']}"
        return [
            Task(q)
            for q in (*_statements(action.get("preOps") or ()), create, *_statements(action.get("postOps") or ()))
        ]
    quoted = ",".join(f"`{c}`" for c in columns)
    query = action.get("incrementalQuery") or action["query"]
    if action.get("uniqueKey"):
        on = " and ".join(f"T.{k} = S.{k}" for k in action["uniqueKey"])
        updates = ",".join(f"`{c}` = S.{c}" for c in columns)
        main = (
            f"merge {target} T\nusing ({query}\n) S\non {on}\nwhen matched then\n  update set {updates}\n"
            f"when not matched then\n  insert ({quoted}) values ({quoted})"
        )
    else:
        main = f"insert into {target}\n({quoted})\nselect {quoted}\nfrom ({query}) as insertions"
    return [
        Task(q)
        for q in (
            *_statements(action.get("incrementalPreOps") or ()),
            main,
            *_statements(action.get("incrementalPostOps") or ()),
        )
    ]


def _columns(client: Any, target: str) -> list[str] | None:
    """The columns of an existing table, or None when it does not exist (or is a view)."""
    from google.api_core import exceptions

    try:
        table = client.get_table(target.strip("`"))
    except exceptions.NotFound:
        return None
    return [f.name for f in table.schema] if table.table_type == "TABLE" else None


def apply_code_compilation_config(graph: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """The graph with the config's default database and schema suffix on every target and
    every reference to one (refs compile to `database.schema.name` or `schema.name`)."""
    database = config.get("defaultDatabase") or None
    suffix = config.get("schemaSuffix") or ""
    default_assertions = (graph.get("projectConfig") or {}).get("assertionSchema")
    renamed: dict[str, str] = {}
    targets: dict[tuple[str, str], dict[str, Any]] = {}
    for section in (*SECTIONS, "declarations"):
        for action in graph.get(section) or ():
            old = dict(action["target"])
            new = {"database": old.get("database") or database, "schema": old["schema"], "name": old["name"]}
            if section == "assertions" and config.get("assertionSchema") and old["schema"] == default_assertions:
                new["schema"] = config["assertionSchema"]
            if suffix and section != "declarations":
                new["schema"] = f"{old['schema']}_{suffix}"
            targets[target_key(old)] = new
            full = (
                f"`{new['database']}.{new['schema']}.{new['name']}`"
                if new["database"]
                else f"`{new['schema']}.{new['name']}`"
            )
            renamed[f"`{old['schema']}.{old['name']}`"] = full
            if old.get("database"):
                renamed[f"`{old['database']}.{old['schema']}.{old['name']}`"] = full

    def rename_sql(text: str) -> str:
        for old in sorted(renamed, key=len, reverse=True):
            text = text.replace(old, renamed[old])
        return text

    def rename_target(target: dict[str, Any]) -> dict[str, Any]:
        return dict(targets.get(target_key(target), target))

    out = {key: value for key, value in graph.items() if key not in (*SECTIONS, "declarations")}
    for section in (*SECTIONS, "declarations"):
        out[section] = []
        for action in graph.get(section) or ():
            copy = dict(action)
            copy["target"] = rename_target(action["target"])
            copy["canonicalTarget"] = dict(action.get("canonicalTarget") or action["target"])
            for name in ("dependencyTargets",):
                if name in copy:
                    copy[name] = [rename_target(t) for t in copy[name]]
            if "parentAction" in copy:
                copy["parentAction"] = rename_target(copy["parentAction"])
            for name in SQL_FIELDS:
                value = copy.get(name)
                if isinstance(value, str):
                    copy[name] = rename_sql(value)
                elif isinstance(value, list):
                    copy[name] = [rename_sql(v) for v in value]
            out[section].append(copy)
    return out


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ActionRun:
    """The state of one action in a run, as workflowInvocations.query reports it."""

    item: GraphAction
    state: str = "PENDING"
    failure_reason: str = ""
    sql_script: str = ""
    start: datetime | None = None
    end: datetime | None = None


@dataclass
class GraphRun:
    """Runs selected actions of a compiled graph on BigQuery, in dependency order, one at a time.

    `client_factory` gives a google-cloud-bigquery client (closed when the run ends).
    States change under `lock`, so another thread may read them while the run goes on.
    """

    graph: dict[str, Any]
    client_factory: Callable[[], Any]
    project: str
    location: str | None = None
    full_refresh: bool = False
    selected: set[tuple[str, str]] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    actions: list[ActionRun] = field(default_factory=list)
    state: str = "RUNNING"
    cancelled: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.actions = [
            ActionRun(item)
            for item in runnable_actions(self.graph)
            if self.selected is None or item.key in self.selected
        ]

    def cancel(self) -> None:
        self.cancelled = True

    def start(self) -> GraphRun:
        threading.Thread(target=self.run, name="fake-dataform-invocation", daemon=True).start()
        return self

    def run(self) -> GraphRun:
        client = self.client_factory()
        try:
            self._create_datasets(client)
            states: dict[tuple[str, str], str] = {}
            in_run = {a.item.key for a in self.actions}
            for action in self.actions:
                failed_dependencies = [
                    d for d in action.item.dependencies if d in in_run and states.get(d) != "SUCCEEDED"
                ]
                if self.cancelled or failed_dependencies:
                    self._set(action, "SKIPPED")
                elif action.item.action.get("disabled"):
                    self._set(action, "DISABLED")
                else:
                    self._execute(client, action)
                states[action.item.key] = action.state
            failed = any(a.state == "FAILED" for a in self.actions)
            with self.lock:
                self.state = "CANCELLED" if self.cancelled else "FAILED" if failed else "SUCCEEDED"
        except Exception as err:  # the fake's own fault: end the run failed, saying why
            with self.lock:
                for action in self.actions:
                    if action.state in ("PENDING", "RUNNING"):
                        action.state, action.failure_reason = "FAILED", f"bigquery error: {err}"
                self.state = "FAILED"
        finally:
            client.close()
            self.done.set()
        return self

    def _create_datasets(self, client: Any) -> None:
        from google.cloud import bigquery

        for dataset in sorted({a.item.target["schema"] for a in self.actions}):
            spec = bigquery.Dataset(f"{self.project}.{dataset}")
            if self.location:
                spec.location = self.location
            client.create_dataset(spec, exists_ok=True)

    def _set(self, action: ActionRun, state: str, reason: str = "") -> None:
        with self.lock:
            action.state, action.failure_reason = state, reason
            if state == "RUNNING":
                action.start = now()
            elif action.start is not None:
                action.end = now()

    def _execute(self, client: Any, action: ActionRun) -> None:
        self._set(action, "RUNNING")
        try:
            tasks = action_tasks(action.item, client, self.project, self.full_refresh)
            action.sql_script = ";\n".join(t.statement for t in tasks)
            for task in tasks:
                if self.cancelled:
                    self._set(action, "CANCELLED")
                    return
                job = client.query(task.statement, location=self.location, job_retry=None)
                rows = list(job.result())
                if task.assertion and rows and (rows[0][0] or 0) > 0:
                    raise AssertionFailed(f"Assertion failed: query returned {rows[0][0]} row(s).")
        except Exception as err:
            message = getattr(err, "message", None) or str(err)
            errors = getattr(err, "errors", None) or ()
            if errors and isinstance(errors[0], dict) and errors[0].get("message"):
                message = errors[0]["message"]
            self._set(action, "FAILED", f"bigquery error: {message}")
            return
        self._set(action, "SUCCEEDED")


class AssertionFailed(Exception):
    """An assertion's query returned rows."""
