"""Name resolution, graph checks (missing, ambiguous, duplicate, circular) and JSON assembly."""

from __future__ import annotations

import json

from winter_days.elt.sqlx.actions import DATASET_TYPES, Action, readable, target_key
from winter_days.elt.sqlx.errors import CompileIssue

DATAFORM_CORE_VERSION = "3.0.62"


class Index:
    """Finds actions by name, dataset.name or project.dataset.name, like Dataform's ResolvableMap."""

    def __init__(self, actions: list[Action], project: dict):
        self.actions = actions
        self.project = project

    def find(self, wanted: dict) -> list[Action]:
        def matches(action: Action) -> bool:
            target = action.target
            return (target["name"] == wanted.get("name")
                    and (not wanted.get("schema") or target["schema"] == wanted["schema"])
                    and (not wanted.get("database") or target["database"] == wanted["database"]))
        return [action for action in self.actions if matches(action)]

    def resolve(self, wanted: dict) -> tuple[str, str | None]:
        """(`database.schema.name` in backticks, None) or ("", message template with {ref})."""
        found = self.find(wanted)
        if len(found) > 1:
            names = ", ".join(f"{a.target['schema']}.{a.target['name']}" for a in found)
            return "", f"Ambiguous Action name: {{ref}}. Did you mean one of: {names}."
        if not found:
            return "", "Could not resolve {ref}"
        action = found[0]
        if action.kind == "operations" and not action.has_output:
            return "", "Actions cannot resolve operations which do not produce output."
        target = action.target
        database = target.get("database") or self.project.get("defaultDatabase")
        schema = target.get("schema") or self.project.get("defaultSchema")
        return (f"`{database}.{schema}.{target['name']}`" if database else f"`{schema}.{target['name']}`"), None


def _describe(wanted: dict) -> str:
    if not wanted.get("schema") and not wanted.get("database"):
        return wanted["name"]
    return json.dumps({k: wanted[k] for k in ("database", "schema", "name") if wanted.get(k)}, separators=(",", ":"))


def check_graph(actions: list[Action]) -> list[CompileIssue]:
    """Qualify every dependency, then report missing, ambiguous, duplicate and circular ones."""
    issues: list[CompileIssue] = []
    index = Index(actions, {})
    for action in actions:
        if action.kind == "declaration":
            continue
        qualified: dict[str, dict] = {}
        for wanted in action.dependencies:
            found = index.find(wanted)
            if not found:
                issues.append(CompileIssue(action.file, action.line, (
                    f'Missing dependency detected: Action "{readable(action.target)}" depends on '
                    f'"{_describe(wanted)}" which does not exist')))
            elif len(found) > 1:
                names = ", ".join(f"{a.target['schema']}.{a.target['name']}" for a in found)
                issues.append(CompileIssue(action.file, action.line,
                                           f"Ambiguous Action name: {_describe(wanted)}. Did you mean one of: {names}."))
            else:
                qualified[readable(found[0].target)] = dict(found[0].target)
        action.compiled["dependencyTargets"] = list(qualified.values())

    counts: dict[str, int] = {}
    for action in actions:
        counts[target_key(action.target)] = counts.get(target_key(action.target), 0) + 1
    for action in actions:
        if counts[target_key(action.target)] > 1:
            issues.append(CompileIssue(action.file, action.line, (
                "Duplicate action name detected. Names within a schema must be unique across tables, "
                f'declarations, assertions, and operations: "{readable(action.target)}"')))
    if issues:
        return issues
    issues.extend(_cycles(actions))
    return issues


def _cycles(actions: list[Action]) -> list[CompileIssue]:
    by_key = {target_key(a.target): a for a in actions}
    edges = {target_key(a.target): [target_key(d) for d in a.compiled.get("dependencyTargets", [])
                                    if target_key(d) in by_key] for a in actions}
    counter, stack, on_stack = [0], [], set()
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    components: list[list[str]] = []

    def visit(node: str) -> None:
        # Tarjan's strongly connected components; graphs here are small enough to recurse.
        order[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for successor in edges[node]:
            if successor not in order:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], order[successor])
        if low[node] == order[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(component)

    for key in edges:
        if key not in order:
            visit(key)
    issues = []
    for component in components:
        if len(component) == 1 and component[0] not in edges[component[0]]:
            continue
        chain = [readable(by_key[k].target) for k in reversed(component)]
        first = by_key[component[-1]]
        issues.append(CompileIssue(first.file, first.line,
                                   f"Circular dependency detected in chain: [{' > '.join(chain)} > {chain[0]}]"))
    return issues


def _table_json(action: Action) -> dict:
    compiled = action.compiled
    out: dict = {"type": action.kind, "target": action.target, "query": compiled["query"], "disabled": action.disabled}
    if action.kind == "incremental":
        out["protected"] = action.protected
    for key in ("preOps", "postOps"):
        if compiled.get(key):
            out[key] = compiled[key]
    out["fileName"] = action.file
    if action.kind == "incremental":
        out["incrementalQuery"] = compiled["incrementalQuery"]
    if action.bigquery:
        out["bigquery"] = ({"partitionBy": ""} if action.kind == "view" else {}) | action.bigquery
    if action.tags:
        out["tags"] = action.tags
    descriptor = _descriptor(action)
    if descriptor:
        out["actionDescriptor"] = descriptor
    if compiled.get("dependencyTargets"):
        out["dependencyTargets"] = compiled["dependencyTargets"]
    if action.kind == "incremental":
        for key in ("incrementalPreOps", "incrementalPostOps"):
            if compiled.get(key):
                out[key] = compiled[key]
        if action.unique_key:
            out["uniqueKey"] = action.unique_key
    out["hermeticity"] = "HERMETIC" if action.hermetic else "NON_HERMETIC"
    out["canonicalTarget"] = action.canonical_target
    out["enumType"] = action.kind.upper()
    if action.kind == "incremental":
        out["onSchemaChange"] = "IGNORE"
    return out


def _descriptor(action: Action) -> dict:
    descriptor: dict = {}
    if action.description:
        descriptor["description"] = action.description
    if action.columns:
        descriptor["columns"] = action.columns
    if action.labels:
        descriptor["bigqueryLabels"] = action.labels
    return descriptor


def _action_json(action: Action) -> dict:
    compiled = action.compiled
    if action.kind in DATASET_TYPES:
        return _table_json(action)
    out: dict = {}
    if action.kind == "assertion":
        out["query"] = compiled["query"]
        out["fileName"] = action.file
        out["target"] = action.target
    else:
        out["target"] = action.target
    if action.kind == "operations":
        out["queries"] = compiled["queries"]
    if action.kind == "declaration":
        descriptor = _descriptor(action)
        if descriptor:
            out["actionDescriptor"] = descriptor
    if action.kind != "assertion":
        out["fileName"] = action.file
    if action.kind == "operations" and action.has_output:
        out["hasOutput"] = True
    if action.tags:
        out["tags"] = action.tags
    if action.kind != "declaration" and compiled.get("dependencyTargets"):
        out["dependencyTargets"] = compiled["dependencyTargets"]
    if action.kind == "operations":
        out["hermeticity"] = "HERMETIC" if action.hermetic else "NON_HERMETIC"
    out["canonicalTarget"] = action.canonical_target
    if action.disabled and action.kind != "declaration":
        out["disabled"] = True
    if action.kind != "declaration" and action.kind != "operations" or action.kind == "operations":
        descriptor = _descriptor(action) if action.kind != "declaration" else {}
        if descriptor:
            out["actionDescriptor"] = descriptor
    if action.parent is not None:
        out["parentAction"] = action.parent
    return out


def assemble_graph(actions: list[Action], project: dict) -> dict:
    """The compiled graph, with Dataform's sections, key order and omitted empty lists."""
    sections: dict[str, list[dict]] = {"tables": [], "operations": [], "assertions": [], "declarations": []}
    section_of = {"table": "tables", "view": "tables", "incremental": "tables", "operations": "operations",
                  "assertion": "assertions", "declaration": "declarations"}
    for action in actions:
        sections[section_of[action.kind]].append(_action_json(action))
    graph: dict = {}
    for key in ("tables", "operations", "assertions"):
        if sections[key]:
            graph[key] = sections[key]
    graph["projectConfig"] = project
    graph["graphErrors"] = {}
    if sections["declarations"]:
        graph["declarations"] = sections["declarations"]
    graph["dataformCoreVersion"] = DATAFORM_CORE_VERSION
    graph["targets"] = [action.target for action in actions]
    graph["jitData"] = {}
    return graph
