"""Turns a parsed SQLX file into the JavaScript program that registers its action.

The program has the shape Dataform gives it (config object spread over the defaults, one
context function per SQL part, every SQL statement a JS template literal), so `${...}`,
`js {}` blocks and comments evaluate exactly as they do in Dataform. Each placeholder also
records its line in `__wdLine`, so a failing expression is reported at its own line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from winter_days.elt.sqlx.lexer import Node, NodeType

CONTEXT_NAMES = ("self", "ref", "resolve", "name", "when", "incremental", "schema", "database")
CONTEXT_PRELUDE = "\n".join(
    f"const {name} = ctx.{name} ? ctx.{name}.bind(ctx) : undefined;" for name in CONTEXT_NAMES
)


@dataclass
class Snippet:
    """A piece of JavaScript from the file and the line it starts on."""

    code: str
    line: int


@dataclass
class SqlxParts:
    config: Snippet | None = None
    js: list[Snippet] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)
    pre_operations: list[str] | None = None
    post_operations: list[str] | None = None
    placeholders: list[Snippet] = field(default_factory=list)
    blocks: list[tuple[str, int]] = field(default_factory=list)  # (block keyword, line)
    first_sql_line: int = 1


def _escape_text(text: str, node_type: NodeType | None) -> str:
    if node_type is NodeType.COMMENT:
        return text.replace("`", "\\`").replace("${", "\\${")
    return text.replace("\\", "\\\\").replace("`", "\\`")


def _emit(node: str | Node, parts: SqlxParts, mutate_as: NodeType | None) -> str:
    """Render a node as template-literal source, escaping its direct text like Dataform."""
    if isinstance(node, str):
        return _escape_text(node, mutate_as)
    if node.type is NodeType.PLACEHOLDER:
        inner = node.text()[2:-1]
        parts.placeholders.append(Snippet(inner, node.line))
        return "${(__wdLine = %d, %s\n)}" % (node.line, inner)
    own = node.type if node.type in (NodeType.COMMENT, NodeType.LITERAL, NodeType.MULTILINE_LITERAL) else None
    out = []
    for child in node.children:
        if isinstance(child, str):
            out.append(_escape_text(child, own) if own else child)
        else:
            out.append(_emit(child, parts, None))
    return "".join(out)


def _statements(nodes: list[str | Node], parts: SqlxParts) -> list[str]:
    results = [""]
    for node in nodes:
        if isinstance(node, Node) and node.type is NodeType.SEPARATOR:
            results.append("")
            continue
        results[-1] += _emit(node, parts, NodeType.LITERAL)
    return results


_SQL_CHILD_TYPES = (
    NodeType.PLACEHOLDER,
    NodeType.COMMENT,
    NodeType.LITERAL,
    NodeType.MULTILINE_LITERAL,
    NodeType.SEPARATOR,
)


def extract_parts(root: Node) -> SqlxParts:
    """Split the syntax tree into config, js, statements and operation blocks."""
    parts = SqlxParts()
    for node in root.children:
        if isinstance(node, Node) and node.type is NodeType.JAVASCRIPT:
            text = node.text()
            if text.startswith("config"):
                if parts.config is not None:
                    parts.blocks.append(("duplicate config", node.line))
                parts.config = Snippet(text[len("config "):], node.line)
            else:
                parts.js.append(Snippet(text[len("js {"):-1], node.line))
    parts.statements = _statements(
        [n for n in root.children if isinstance(n, str) or n.type in _SQL_CHILD_TYPES], parts
    )
    for node in root.children:
        if not (isinstance(node, Node) and node.type is NodeType.SQL):
            continue
        first = node.children[0]
        last = node.children[-1]
        keyword = first.split(" ", 1)[0].split('"', 1)[0].strip()
        parts.blocks.append((keyword, node.line))
        if len(node.children) == 1:
            inner: list[str | Node] = [first[first.index("{") + 1 : first.rindex("}")]]
        else:
            inner = [first[first.index("{") + 1 :], *node.children[1:-1], last[: last.rindex("}")]]
        statements = _statements(inner, parts)
        if keyword == "pre_operations":
            parts.pre_operations = statements
        elif keyword == "post_operations":
            parts.post_operations = statements
    return parts


def _contextable(js: str, js_line: int, statements: list[str]) -> str:
    literals = ", ".join(f"`{statement}`" for statement in statements)
    return (
        "(ctx) => {\n"
        f"{CONTEXT_PRELUDE}\n"
        f"__wdLine = {js_line};\n"
        f"{js}\n"
        f"return [{literals}];\n"
        "}"
    )


def build_program(file_name: str, base_name: str, parts: SqlxParts) -> str:
    """The JavaScript that registers this file's action with the runtime."""
    js = "\n".join(snippet.code for snippet in parts.js)
    js_line = parts.js[0].line if parts.js else 1
    config = parts.config.code if parts.config else "{}"
    config_line = parts.config.line if parts.config else 1
    optional = {
        "pre": parts.pre_operations,
        "post": parts.post_operations,
    }
    rendered = {
        key: (_contextable(js, js_line, value) if value is not None else "undefined")
        for key, value in optional.items()
    }
    return (
        "__wdRegister({\n"
        f"file: {json.dumps(file_name)},\n"
        f"configLine: {config_line},\n"
        f"config: () => {{ __wdLine = {config_line}; return {{\n"
        f"name: {json.dumps(base_name)},\n"
        'type: "operations",\n'
        f"...{config}\n"
        "}; },\n"
        f"statementCount: {len(parts.statements)},\n"
        f"sql: {_contextable(js, js_line, parts.statements)},\n"
        f"pre: {rendered['pre']},\n"
        f"post: {rendered['post']}\n"
        "});\n"
    )
