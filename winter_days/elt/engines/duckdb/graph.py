"""The action graph of a `dataform compile --json` document, and which actions a run selects."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from winter_days.elt.backend import InvocationConfig, Target

TABLE_KINDS = ("table", "view", "incremental")


class GraphError(ValueError):
    """A compiled graph the executor cannot run (cycle, unknown dependency, bad shape)."""


@dataclass(frozen=True)
class Action:
    """One compiled action: a table/view/incremental table, an operation or an assertion."""

    target: Target
    kind: str  # table | view | incremental | operations | assertion | declaration
    file_name: str = ""
    dependencies: tuple[Target, ...] = ()
    tags: tuple[str, ...] = ()
    disabled: bool = False
    query: str = ""
    incremental_query: str = ""
    pre_ops: tuple[str, ...] = ()
    post_ops: tuple[str, ...] = ()
    incremental_pre_ops: tuple[str, ...] = ()
    incremental_post_ops: tuple[str, ...] = ()
    unique_key: tuple[str, ...] = ()
    # A clustered table's storage order in BigQuery: its partition expression, then its
    # clustering columns (BigQuery SQL); `partition_by` is that partition expression.
    storage_order: tuple[str, ...] = ()
    partition_by: str = ""
    queries: tuple[str, ...] = ()
    has_output: bool = False
    parent: Target | None = None
    # Incremental tables: never rebuilt when protected; schema reconciliation and write
    # strategy as Dataform's (incremental.py).
    protected: bool = False
    on_schema_change: str = "IGNORE"
    incremental_strategy: str = ""
    update_partition_filter: str = ""
    incremental_predicates: tuple[str, ...] = ()

    @property
    def local_name(self) -> str:
        """schema.name: the DuckDB relation (the project is not part of it locally)."""
        return f"{self.target.schema}.{self.target.name}"


@dataclass
class ActionGraph:
    """Actions by target, in a dependency-respecting order."""

    actions: dict[Target, Action] = field(default_factory=dict)
    order: list[Target] = field(default_factory=list)

    def dependents(self) -> dict[Target, set[Target]]:
        out: dict[Target, set[Target]] = {t: set() for t in self.actions}
        for action in self.actions.values():
            for dep in action.dependencies:
                out[dep].add(action.target)
        return out


def build_graph(compiled: Mapping[str, Any]) -> ActionGraph:
    """Actions of a compile --json document; raise GraphError on a cycle or missing target."""
    graph = ActionGraph()
    for raw in compiled.get("tables", []) or []:
        _add(graph, _table(raw))
    for raw in compiled.get("operations", []) or []:
        _add(
            graph,
            _common(raw, "operations", queries=tuple(raw.get("queries") or ()), has_output=bool(raw.get("hasOutput"))),
        )
    for raw in compiled.get("assertions", []) or []:
        parent = Target.from_api(raw["parentAction"]) if raw.get("parentAction") else None
        _add(graph, _common(raw, "assertion", query=raw.get("query", ""), parent=parent))
    for raw in compiled.get("declarations", []) or []:
        _add(graph, _common(raw, "declaration"))
    for action in graph.actions.values():
        for dep in action.dependencies:
            if dep not in graph.actions:
                raise GraphError(f"{action.target} ({action.file_name}) depends on {dep}, which is not in the graph")
    graph.order = _topological_order(graph)
    return graph


def find_target(graph: ActionGraph, name: str) -> Target:
    """The target named `name`, `schema.name` or `database.schema.name`."""
    parts = tuple(name.split("."))
    matches = [t for t in graph.actions if (t.database, t.schema, t.name)[-len(parts) :] == parts]
    if not matches:
        raise GraphError(f"no action named {name!r}")
    if len(matches) > 1:
        raise GraphError(f"action name {name!r} is ambiguous: {', '.join(map(str, sorted(matches)))}")
    return matches[0]


def select(graph: ActionGraph, config: InvocationConfig) -> list[Target]:
    """Targets a run includes, in execution order (Dataform's invocationConfig rules)."""
    if not config.included_targets and not config.included_tags:
        return [t for t in graph.order if graph.actions[t].kind != "declaration"]
    for target in config.included_targets:
        if target not in graph.actions:
            raise GraphError(f"included target {target} is not in the graph")
    chosen = set(config.included_targets)
    tags = set(config.included_tags)
    chosen |= {t for t, a in graph.actions.items() if tags & set(a.tags)}
    if config.transitive_dependencies_included:
        chosen |= _closure(chosen, lambda t: graph.actions[t].dependencies)
    if config.transitive_dependents_included:
        dependents = graph.dependents()
        chosen |= _closure(chosen, lambda t: dependents[t])
    return [t for t in graph.order if t in chosen and graph.actions[t].kind != "declaration"]


def _closure(start: set[Target], neighbours) -> set[Target]:
    seen: set[Target] = set()
    stack = list(start)
    while stack:
        for nxt in neighbours(stack.pop()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _targets(raw: Iterable[Mapping[str, Any]] | None) -> tuple[Target, ...]:
    return tuple(Target.from_api(t) for t in raw or ())


def _common(raw: Mapping[str, Any], kind: str, **extra: Any) -> Action:
    try:
        target = Target.from_api(raw["target"])
    except (KeyError, TypeError):
        raise GraphError(f"action in {raw.get('fileName', '?')} has no target") from None
    return Action(
        target=target,
        kind=kind,
        file_name=str(raw.get("fileName", "")),
        dependencies=_targets(raw.get("dependencyTargets")),
        tags=tuple(raw.get("tags") or ()),
        disabled=bool(raw.get("disabled", False)),
        **extra,
    )


def _incremental_query(raw: Mapping[str, Any]) -> str:
    """The query an incremental write runs: Dataform wraps it in the legacy `where`."""
    query = raw.get("incrementalQuery", "") or raw.get("query", "")
    where = raw.get("where")
    return f"\n  select * from ({query}) as subquery\n    where {where}" if where else query


def _table(raw: Mapping[str, Any]) -> Action:
    kind = str(raw.get("type", "table"))
    if kind not in TABLE_KINDS:
        raise GraphError(f"{raw.get('fileName', '?')}: table type {kind!r} is not supported locally")
    bigquery = raw.get("bigquery") or {}
    # A materialized view is a view whose result BigQuery keeps up to date: locally, a view.
    return _common(
        raw,
        kind,
        query=raw.get("query", ""),
        incremental_query=_incremental_query(raw),
        protected=bool(raw.get("protected")),
        on_schema_change=str(raw.get("onSchemaChange") or "IGNORE"),
        incremental_strategy=str(raw.get("incrementalStrategy") or ""),
        update_partition_filter=str(bigquery.get("updatePartitionFilter") or ""),
        incremental_predicates=tuple(bigquery.get("incrementalPredicates") or ()),
        pre_ops=tuple(raw.get("preOps") or ()),
        post_ops=tuple(raw.get("postOps") or ()),
        incremental_pre_ops=tuple(raw.get("incrementalPreOps") or ()),
        incremental_post_ops=tuple(raw.get("incrementalPostOps") or ()),
        unique_key=tuple(raw.get("uniqueKey") or ()),
        storage_order=_storage_order(raw.get("bigquery") or {}),
        partition_by=str((raw.get("bigquery") or {}).get("partitionBy") or "").strip(),
    )


def _storage_order(bigquery: Mapping[str, Any]) -> tuple[str, ...]:
    """BigQuery keeps a clustered table's rows sorted by its clustering columns within each
    partition; a table that is only partitioned has no order to keep."""
    clusters = tuple(bigquery.get("clusterBy") or ())
    if not clusters:
        return ()
    partition = str(bigquery.get("partitionBy") or "").strip()
    return ((partition,) if partition else ()) + clusters


def _add(graph: ActionGraph, action: Action) -> None:
    if action.target in graph.actions:
        raise GraphError(f"duplicate target {action.target} ({action.file_name})")
    graph.actions[action.target] = action


def _topological_order(graph: ActionGraph) -> list[Target]:
    """Kahn's order, ties broken by target name so runs are reproducible."""
    remaining = {t: set(a.dependencies) for t, a in graph.actions.items()}
    dependents = graph.dependents()
    ready = sorted(t for t, deps in remaining.items() if not deps)
    order: list[Target] = []
    while ready:
        target = ready.pop(0)
        order.append(target)
        for dependent in sorted(dependents[target]):
            remaining[dependent].discard(target)
            if not remaining[dependent]:
                ready.append(dependent)
        ready.sort()
    if len(order) != len(graph.actions):
        cycle = sorted(str(t) for t in graph.actions if t not in set(order))
        raise GraphError(f"dependency cycle among: {', '.join(cycle)}")
    return order
