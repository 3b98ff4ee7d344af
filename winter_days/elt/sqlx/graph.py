"""Name resolution (indexed, as Dataform's ResolvableMap), dependency qualification, and the
graph checks: missing, ambiguous, duplicate and circular dependencies.

Every lookup is a dictionary access, so resolving all refs of a project costs time in
proportion to the number of refs, not refs times actions.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Generic, TypeVar

from winter_days.elt.sqlx.actions import Action, Problem, readable, target_key

T = TypeVar("T")


class ResolvableMap(Generic[T]):
    """Values by name, dataset.name, project.name and project.dataset.name (Dataform's
    ResolvableMap): a ref finds every value whose target agrees on the parts it gives."""

    def __init__(self) -> None:
        self._by_name: dict[str, list[T]] = defaultdict(list)
        self._by_schema: dict[tuple, list[T]] = defaultdict(list)
        self._by_database: dict[tuple, list[T]] = defaultdict(list)
        self._by_all: dict[tuple, list[T]] = defaultdict(list)

    def set(self, target: dict, value: T) -> None:
        name, schema, database = str(target.get("name") or ""), target.get("schema"), target.get("database")
        self._by_name[name].append(value)
        if schema:
            self._by_schema[(schema, name)].append(value)
        if database:
            self._by_database[(database, name)].append(value)
            if schema:
                self._by_all[(database, schema, name)].append(value)

    def find(self, target: dict) -> list[T]:
        name, schema, database = str(target.get("name") or ""), target.get("schema"), target.get("database")
        if database:
            if schema:
                return self._by_all.get((database, schema, name), [])
            return self._by_database.get((database, name), [])
        if schema:
            return self._by_schema.get((schema, name), [])
        return self._by_name.get(name, [])


def index_actions(actions: Iterable[Action]) -> ResolvableMap[Action]:
    index: ResolvableMap[Action] = ResolvableMap()
    for action in actions:
        index.set(action.target, action)
    return index


def stringify_resolvable(wanted: object) -> str:
    """Dataform's stringifyResolvable: a name as is, an object as JSON."""
    return wanted if isinstance(wanted, str) else json.dumps(wanted, separators=(",", ":"))


def ambiguous(wanted: object, found: list[Action]) -> str:
    names = ", ".join(f"{a.target.get('schema')}.{a.target['name']}" for a in found)
    return f"Ambiguous Action name: {stringify_resolvable(wanted)}. Did you mean one of: {names}."


def qualify_dependencies(actions: list[Action], index: ResolvableMap[Action]) -> None:
    """Dataform's fullyQualifyDependencies: each dependency becomes the target it names,
    plus, where asked for, the assertions that depend on that target."""
    asserted: ResolvableMap[Action] = ResolvableMap()
    for action in actions:
        if action.kind == "assertion":
            for target in action.asserted:
                asserted.set(target, action)
    names: dict[int, str] = {}  # readable target by id(action): most actions are many actions' dependency
    for action in actions:
        if action.kind == "declaration" or "dependencyTargets" not in action.proto:
            continue
        qualified: dict[str, dict] = {}
        for wanted in action.proto["dependencyTargets"]:
            clean = (
                wanted
                if "includeDependentAssertions" not in wanted
                else {k: v for k, v in wanted.items() if k != "includeDependentAssertions"}
            )
            found = index.find(clean)
            if not found:
                described = (
                    clean["name"]
                    if set(clean) == {"name"}
                    else json.dumps(
                        {k: clean[k] for k in ("schema", "name", "database") if k in clean}, separators=(",", ":")
                    )
                )
                action.problems.append(
                    Problem(
                        f'Missing dependency detected: Action "{readable(action.target)}" depends on "{described}" '
                        "which does not exist"
                    )
                )
            elif len(found) > 1:
                action.problems.append(Problem(ambiguous(clean if set(clean) != {"name"} else clean["name"], found)))
            else:
                target = found[0].target
                name = names.get(id(found[0]))
                if name is None:
                    name = names[id(found[0])] = readable(target)
                qualified[name] = target
                if wanted.get("includeDependentAssertions"):
                    for assertion in asserted.find(clean):
                        qualified[readable(assertion.target)] = assertion.target
        action.proto["dependencyTargets"] = list(qualified.values())


def duplicate_problems(actions: list[Action]) -> None:
    """Dataform's removeNonUniqueActionsFromCompiledGraph, as errors on every copy."""
    counts: dict[tuple, int] = defaultdict(int)
    canonical: dict[tuple, int] = defaultdict(int)
    checked = [a for a in actions if a.kind != "test"]
    for action in checked:
        counts[target_key(action.target)] += 1
        canonical[target_key(action.proto.get("canonicalTarget") or action.target)] += 1
    for action in checked:
        if counts[target_key(action.target)] > 1:
            action.problems.append(
                Problem(
                    "Duplicate action name detected. Names within a schema must be unique across tables, declarations, "
                    f'assertions, and operations: "{readable(action.target)}"'
                )
            )
        elif canonical[target_key(action.proto.get("canonicalTarget") or action.target)] > 1:
            action.problems.append(
                Problem(
                    "Duplicate canonical target detected. Canonical targets must be unique across tables, declarations, "
                    f'assertions, and operations: "{readable(action.proto["canonicalTarget"])}"'
                )
            )
    names: set[str] = set()
    for action in actions:
        if action.kind == "test":
            if action.proto.get("name") in names:
                action.problems.append(Problem(f'Duplicate test name detected: "{action.proto.get("name")}"'))
            names.add(str(action.proto.get("name")))


def cycle_problems(actions: list[Action]) -> None:
    """Circular dependencies (Tarjan's strongly connected components, iterative: a chain of
    thousands of actions must not exhaust Python's recursion limit)."""
    by_key = {target_key(a.target): a for a in actions if a.kind != "declaration"}
    edges = {
        key: [target_key(d) for d in a.proto.get("dependencyTargets", []) if target_key(d) in by_key]
        for key, a in by_key.items()
    }
    order: dict[tuple, int] = {}
    low: dict[tuple, int] = {}
    stack: list[tuple] = []
    on_stack: set[tuple] = set()
    components: list[list[tuple]] = []
    for root in edges:
        if root in order:
            continue
        work = [(root, iter(edges[root]))]
        order[root] = low[root] = len(order)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in order:
                    order[successor] = low[successor] = len(order)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(edges[successor])))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], order[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == order[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
    for component in components:
        if len(component) == 1 and component[0] not in edges[component[0]]:
            continue
        chain = [readable(by_key[k].target) for k in reversed(component)]
        first = by_key[component[-1]]
        first.problems.append(Problem(f"Circular dependency detected in chain: [{' > '.join(chain)} > {chain[0]}]"))
