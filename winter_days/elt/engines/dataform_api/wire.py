"""The Dataform client's messages (google.cloud.dataform_v1) as the `winter_days.elt.backend` dataclasses.

A field the API leaves unset takes its proto default; a value the contract does not know
(an unknown state) is an error naming the resource, never silently read as something else.
Nothing here imports the client library: the messages are read by attribute.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from winter_days.elt.backend import (
    ActionState,
    CompilationErrorEntry,
    CompilationResult,
    InvocationConfig,
    InvocationState,
    InvocationTiming,
    Target,
    WorkflowInvocation,
    WorkflowInvocationAction,
)
from winter_days.elt.engines.dataform_api.calls import DataformApiError

# CompilationResultAction.Relation.RelationType -> the kind names of `dataform compile --json`.
RELATION_KINDS = {"TABLE": "table", "VIEW": "view", "INCREMENTAL_TABLE": "incremental", "MATERIALIZED_VIEW": "view"}
# CompilationResultAction's compiled_object (other than relation) -> graph section.
GRAPH_SECTIONS = {"operations": "operations", "assertion": "assertions", "declaration": "declarations"}


def _has(message: Any, field: str) -> bool:
    """Whether a message field is set (proto-plus `in`)."""
    return field in message


def _enum(kind: type, raw: Any, what: str, resource: str) -> Any:
    name = getattr(raw, "name", None)
    try:
        return kind(name)
    except ValueError:
        raise DataformApiError(f"Dataform API {resource}: unknown {what} {name or raw!r}") from None


def _target(raw: Any, resource: str) -> Target:
    if raw is None or not raw.name:
        raise DataformApiError(f"Dataform API {resource}: an action without a target name")
    return Target(database=raw.database, schema=raw.schema, name=raw.name)


def _interval_time(interval: Any, field: str) -> datetime | None:
    if interval is None or not interval.HasField(field):
        return None
    return getattr(interval, field).ToDatetime(tzinfo=UTC)


def parse_timing(interval: Any) -> InvocationTiming:
    """A google.type.Interval as start and end (None where unset)."""
    return InvocationTiming(
        start_time=_interval_time(interval, "start_time"), end_time=_interval_time(interval, "end_time")
    )


def message_dict(message: Any) -> dict[str, Any]:
    """A message as its REST JSON (camelCase, unset fields left out)."""
    return json.loads(
        type(message).to_json(message, use_integers_for_enums=False, always_print_fields_with_no_presence=False)
    )


def error_location(error: Any) -> str:
    """path, or path:line when the error's stack starts at a line of that file (as Dataform reports it)."""
    first = error.stack.split("\n", 1)[0].strip()
    if error.path and first.rpartition(":")[0].endswith(error.path) and first.rpartition(":")[2].isdigit():
        return f"{error.path}:{first.rpartition(':')[2]}"
    return error.path


def parse_compilation_result(raw: Any) -> CompilationResult:
    """A CompilationResult (the graph is filled in later, from its actions)."""
    if not raw.name:
        raise DataformApiError("Dataform API compilationResults.create: the answer names no compilation result")
    errors = tuple(
        CompilationErrorEntry(
            message=error.message,
            path=error_location(error),
            action_target=_target(error.action_target, raw.name)
            if _has(error, "action_target") and error.action_target.name
            else None,
        )
        for error in raw.compilation_errors
    )
    created = raw.create_time if _has(raw, "create_time") else None
    return CompilationResult(
        name=raw.name,
        create_time=created.astimezone(UTC) if created else datetime.now(UTC),
        dataform_core_version=raw.dataform_core_version,
        compilation_errors=errors,
        code_compilation_config=message_dict(raw.code_compilation_config)
        if _has(raw, "code_compilation_config")
        else {},
    )


def _dependencies(compiled: Any, resource: str) -> list[dict[str, str]]:
    return [_target(t, resource).to_api() for t in getattr(compiled, "dependency_targets", None) or ()]


def compilation_graph(actions: Iterable[Any], resource: str) -> dict[str, list[dict[str, Any]]]:
    """CompilationResultActions as a `dataform compile --json`-shaped graph (sections,
    dependency targets and the `targets` list)."""
    graph: dict[str, list[dict[str, Any]]] = {
        "tables": [],
        "operations": [],
        "assertions": [],
        "declarations": [],
        "targets": [],
    }
    for raw in actions:
        target = _target(raw.target, resource)
        entry: dict[str, Any] = {"target": target.to_api(), "fileName": raw.file_path}
        graph["targets"].append(target.to_api())
        if _has(raw, "relation"):
            relation = raw.relation
            entry["type"] = RELATION_KINDS.get(relation.relation_type.name, "table")
            entry["tags"] = list(relation.tags)
            entry["dependencyTargets"] = _dependencies(relation, resource)
            graph["tables"].append(entry)
            continue
        for field, section in GRAPH_SECTIONS.items():
            if _has(raw, field):
                compiled = getattr(raw, field)
                entry["tags"] = list(compiled.tags) if field != "declaration" else []
                if field != "declaration":
                    entry["dependencyTargets"] = _dependencies(compiled, resource)
                graph[section].append(entry)
                break
    return graph


def action_kinds(graph: Mapping[str, Any]) -> dict[Target, str]:
    """Target -> the action's kind (table, view, incremental, operations, assertion, declaration)."""
    kinds: dict[Target, str] = {}
    for entry in graph.get("tables") or ():
        kinds[Target.from_api(entry["target"])] = entry.get("type") or "table"
    for section, kind in (("operations", "operations"), ("assertions", "assertion"), ("declarations", "declaration")):
        for entry in graph.get(section) or ():
            kinds[Target.from_api(entry["target"])] = kind
    return kinds


def parse_invocation_config(raw: Any) -> InvocationConfig:
    return InvocationConfig(
        included_targets=tuple(Target(t.database, t.schema, t.name) for t in raw.included_targets),
        included_tags=tuple(raw.included_tags),
        transitive_dependencies_included=raw.transitive_dependencies_included,
        transitive_dependents_included=raw.transitive_dependents_included,
        fully_refresh_incremental_tables_enabled=raw.fully_refresh_incremental_tables_enabled,
    )


def parse_workflow_invocation(raw: Any, resource: str) -> WorkflowInvocation:
    """A WorkflowInvocation."""
    if not raw.name:
        raise DataformApiError(f"Dataform API {resource}: the answer names no workflow invocation")
    return WorkflowInvocation(
        name=raw.name,
        compilation_result=raw.compilation_result or raw.resolved_compilation_result,
        invocation_config=parse_invocation_config(raw.invocation_config),
        state=_enum(InvocationState, raw.state, "workflow invocation state", raw.name),
        invocation_timing=parse_timing(raw.invocation_timing if _has(raw, "invocation_timing") else None),
    )


def action_kind(raw: Any, target: Target, kinds: Mapping[Target, str]) -> str:
    """The kind from the compilation result; else what the action ran on."""
    if target in kinds:
        return kinds[target]
    for field, kind in (("notebook_action", "notebook"), ("data_preparation_action", "data_preparation")):
        if _has(raw, field):
            return kind
    return "bigquery" if _has(raw, "bigquery_action") else "unknown"


def parse_action(raw: Any, resource: str, kinds: Mapping[Target, str]) -> WorkflowInvocationAction:
    """One WorkflowInvocationAction."""
    target = _target(raw.target, resource)
    return WorkflowInvocationAction(
        target=target,
        kind=action_kind(raw, target, kinds),
        state=_enum(ActionState, raw.state, "action state", f"{resource} action {target}"),
        invocation_timing=parse_timing(raw.invocation_timing if _has(raw, "invocation_timing") else None),
        failure_reason=raw.failure_reason,
        sql_script=raw.bigquery_action.sql_script if _has(raw, "bigquery_action") else "",
    )
