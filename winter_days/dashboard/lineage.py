"""The ELT action graph as a lineage picture: one box per action, coloured by its last state.

Nodes are the tables, views and operations of the compiled Dataform graph, plus the
standalone assertions (a rule across tables); the built-in assertions of a table are shown
as a count on that table's box, so the picture stays readable. Layout is by layers: an
action sits one column right of its deepest dependency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from html import escape
from typing import Any

STATE_COLOURS = {
    "SUCCEEDED": ("#d8f3dc", "#2d6a4f"),
    "FAILED": ("#ffd6d6", "#b00020"),
    "SKIPPED": ("#ffe8cc", "#a05a00"),
    "CANCELLED": ("#ffe8cc", "#a05a00"),
    "DISABLED": ("#eeeeee", "#666666"),
    "RUNNING": ("#dbeafe", "#1d4ed8"),
    "PENDING": ("#dbeafe", "#1d4ed8"),
    "UNKNOWN": ("#f4f4f4", "#888888"),
}
BOX_WIDTH, BOX_HEIGHT, COLUMN_GAP, ROW_GAP, PADDING = 208, 44, 48, 12, 12
# Characters of an action name that fit a box at the label's font size; the full name is in the tooltip.
LABEL_CHARACTERS = 27


@dataclass
class LineageNode:
    """One action of the graph with its last known state and its built-in assertions' states."""

    name: str
    schema: str
    kind: str
    dependencies: list[str]
    state: str = "UNKNOWN"
    assertion_states: list[str] = field(default_factory=list)
    layer: int = 0
    row: int = 0

    @property
    def failed_assertions(self) -> int:
        return sum(1 for s in self.assertion_states if s == "FAILED")


def lineage_nodes(graph: Mapping[str, Any], states: Mapping[str, str]) -> list[LineageNode]:
    """Nodes of a `dataform compile --json` graph, each with its state from `states` (by action name)."""
    nodes: dict[str, LineageNode] = {}
    builtin: dict[str, list[str]] = {}
    for kind in ("operations", "tables", "assertions"):
        for action in graph.get(kind) or ():
            target = action["target"]
            deps = [d["name"] for d in action.get("dependencyTargets") or ()]
            state = states.get(target["name"], "UNKNOWN")
            if kind == "assertions" and action.get("parentAction"):
                builtin.setdefault(action["parentAction"]["name"], []).append(state)
                continue
            node_kind = action.get("type") or ("assertion" if kind == "assertions" else "operations")
            nodes[target["name"]] = LineageNode(target["name"], target.get("schema", ""), node_kind, deps, state)
    for name, node in nodes.items():
        node.assertion_states = builtin.get(name, [])
        node.dependencies = [d for d in node.dependencies if d in nodes]
    _assign_layers(nodes)
    return sorted(nodes.values(), key=lambda n: (n.layer, n.row))


def _assign_layers(nodes: dict[str, LineageNode]) -> None:
    memo: dict[str, int] = {}

    def depth(name: str, visiting: frozenset[str]) -> int:
        if name in memo:
            return memo[name]
        if name in visiting:  # a cycle is a compile error upstream; never loop here
            return 0
        deps = nodes[name].dependencies
        memo[name] = 1 + max((depth(d, visiting | {name}) for d in deps), default=-1)
        return memo[name]

    for name in nodes:
        nodes[name].layer = depth(name, frozenset())
    rows: dict[int, int] = {}
    # Within a layer, keep each flow's actions together: order by their first dependency.
    for node in sorted(nodes.values(), key=lambda n: (n.layer, sorted(n.dependencies)[:1], n.name)):
        node.row = rows.get(node.layer, 0)
        rows[node.layer] = node.row + 1


def _box(node: LineageNode) -> tuple[float, float]:
    return PADDING + node.layer * (BOX_WIDTH + COLUMN_GAP), PADDING + node.row * (BOX_HEIGHT + ROW_GAP)


def _label(name: str) -> str:
    return name if len(name) <= LABEL_CHARACTERS else name[: LABEL_CHARACTERS - 1] + "…"


def lineage_svg(nodes: list[LineageNode]) -> str:
    """The picture as inline SVG, with a title and a description for screen readers."""
    if not nodes:
        return ""
    by_name = {n.name: n for n in nodes}
    width = PADDING * 2 + (max(n.layer for n in nodes) + 1) * (BOX_WIDTH + COLUMN_GAP) - COLUMN_GAP
    height = PADDING * 2 + (max(n.row for n in nodes) + 1) * (BOX_HEIGHT + ROW_GAP) - ROW_GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" aria-labelledby="lineage-title lineage-desc">',
        '<title id="lineage-title">ELT action graph with each action\'s last state</title>',
        f'<desc id="lineage-desc">{len(nodes)} actions; arrows point from a dependency to the action that reads it.</desc>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#888"/></marker></defs>',
    ]
    for node in nodes:
        x2, y2 = _box(node)
        for dep in node.dependencies:
            x1, y1 = _box(by_name[dep])
            sx, sy, ex, ey = x1 + BOX_WIDTH, y1 + BOX_HEIGHT / 2, x2, y2 + BOX_HEIGHT / 2
            mid = (sx + ex) / 2
            parts.append(
                f'<path d="M {sx} {sy} C {mid} {sy}, {mid} {ey}, {ex - 2} {ey}" fill="none" stroke="#aaa" '
                'stroke-width="1.2" marker-end="url(#arrow)"/>'
            )
    for node in nodes:
        x, y = _box(node)
        fill, stroke = STATE_COLOURS.get(node.state, STATE_COLOURS["UNKNOWN"])
        detail = f"{node.kind} · {node.state.lower()}"
        if node.assertion_states:
            failed = node.failed_assertions
            detail += f" · {len(node.assertion_states)} checks" + (f", {failed} failed" if failed else "")
        parts.append(
            f'<g class="lineage-node" data-action="{escape(node.name)}" data-state="{escape(node.state)}">'
            f"<title>{escape(node.schema)}.{escape(node.name)}: {escape(detail)}</title>"
            f'<rect x="{x}" y="{y}" width="{BOX_WIDTH}" height="{BOX_HEIGHT}" rx="6" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{2.5 if node.state == "FAILED" or node.failed_assertions else 1.2}"/>'
            f'<text x="{x + 8}" y="{y + 18}" font-size="12.5" font-weight="600" fill="#222">{escape(_label(node.name))}</text>'
            f'<text x="{x + 8}" y="{y + 34}" font-size="10.5" fill="{stroke}">{escape(detail)}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
