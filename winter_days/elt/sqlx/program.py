"""Turns a project's definition files into the JavaScript programs that register their actions.

A SQLX file becomes the program Dataform's compiler makes of it (config object spread over
the defaults, one context function per SQL part, every SQL statement a JS template
literal), so `${...}`, `js {}` blocks and comments evaluate exactly as they do in Dataform.
Each placeholder also records its line in `__wdLine`, so a failing expression is reported
at its own line. A JavaScript definition file runs as a module, in a function named so that
the runtime can read from the stack which line of the file declared an action.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from winter_days.elt.sqlx.lexer import Node, NodeType

CONTEXT_NAMES = ("self", "ref", "resolve", "name", "when", "incremental", "schema", "database", "EXPECT")
# Dataform binds each of these as `const name = ctx.name ? ctx.name.bind(ctx) : undefined;`.
# The runtime's context methods do not use `this`, so reading them is the same, and a context
# without one gives undefined, as there. Only the names the code may mention are bound (any
# text containing one; an escaped identifier gets them all, and eval is global as in Dataform): no other code can see the binding, and a
# large project's programs are parsed in one go, where their length is the cost.


def context_prelude(code: str) -> str:
    """The `const {...} = ctx;` line for contextables whose code (js blocks and SQL parts,
    whose `${...}` run as JavaScript) is `code`."""
    names = CONTEXT_NAMES if "\\u" in code else [name for name in CONTEXT_NAMES if name in code]
    return f"const {{{', '.join(names)}}} = ctx;\n" if names else ""


_BLOCKS = ("incremental_where", "pre_operations", "post_operations", "input")


class ProgramError(Exception):
    """A SQLX file Dataform's compiler refuses to turn into a program."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


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
    where: str | None = None
    pre_operations: list[str] | None = None
    post_operations: list[str] | None = None
    inputs: list[tuple[list[str], str]] = field(default_factory=list)
    placeholders: list[Snippet] = field(default_factory=list)
    blocks: list[tuple[str, int]] = field(default_factory=list)  # (block keyword, line)


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
        return f"${{(__wdLine = {node.line}, {inner}\n)}}"
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
    """Split the syntax tree into config, js, statements and the SQL blocks, as Dataform does."""
    parts = SqlxParts()
    for node in root.children:
        if isinstance(node, Node) and node.type is NodeType.JAVASCRIPT:
            text = node.text()
            if text.startswith("config"):
                # Dataform keeps the last config block of a file.
                parts.config = Snippet(text[len("config ") :], node.line)
            else:
                parts.js.append(Snippet(text[len("js {") : -1], node.line))
    parts.statements = _statements(
        [n for n in root.children if isinstance(n, str) or n.type in _SQL_CHILD_TYPES], parts
    )
    for node in root.children:
        if not (isinstance(node, Node) and node.type is NodeType.SQL):
            continue
        first = node.children[0]
        last = node.children[-1]
        assert isinstance(first, str) and isinstance(last, str)
        keyword = next(k for k in _BLOCKS if first.startswith(k))
        parts.blocks.append((keyword, node.line))
        if len(node.children) == 1:
            inner: list[str | Node] = [first[first.index("{") + 1 : first.rindex("}")]]
        else:
            inner = [first[first.index("{") + 1 :], *node.children[1:-1], last[: last.rindex("}")]]
        statements = _statements(inner, parts)
        if keyword in ("incremental_where", "input") and len(statements) > 1:
            raise ProgramError(node.line, f"'{keyword}' code blocks may only contain a single SQL statement.")
        if keyword == "incremental_where":
            parts.where = statements[0]
        elif keyword == "pre_operations":
            parts.pre_operations = statements
        elif keyword == "post_operations":
            parts.post_operations = statements
        else:
            label = first[first.index('"') : first.rindex('"') + 1]
            parts.inputs.append(([piece.strip()[1:-1] for piece in label.split(",")], statements[0]))
    return parts


def _literals(statements: list[str]) -> str:
    return ", ".join(f"`{statement}`" for statement in statements)


def _contextable(js: str, js_line: int, body: str, prelude: str) -> str:
    # Without a js block only placeholders can fail, and each sets its own line.
    line = f"__wdLine = {js_line};\n{js}\n" if js else ""
    return f"(ctx) => {{\n{prelude}{line}return {body};\n}}"


def sqlx_program(base_name: str, parts: SqlxParts) -> str:
    """The JavaScript that registers a SQLX file's action with the runtime.

    Parts the file does not have are left out (the runtime reads them as undefined): the
    programs of a large project are parsed in one go, and their length is its cost."""
    js = "".join(snippet.code for snippet in parts.js)
    js_line = parts.js[0].line if parts.js else 1
    config = parts.config.code if parts.config else "{}"
    config_line = parts.config.line if parts.config else 1
    prelude = context_prelude(
        "\n".join(
            [js, *parts.statements, parts.where or "", *(parts.pre_operations or []), *(parts.post_operations or [])]
        )
    )
    optional = []
    if parts.where is not None:
        optional.append(f"where: {_contextable(js, js_line, f'`{parts.where}`', prelude)},\n")
    for key, statements in (("pre", parts.pre_operations), ("post", parts.post_operations)):
        if statements:
            optional.append(f"{key}: {_contextable(js, js_line, f'[{_literals(statements)}]', prelude)},\n")
    if parts.inputs:
        inputs = ",\n".join(
            f"{{refName: {json.dumps(label)}, contextable: {_contextable(js, js_line, f'`{value}`', '')}}}"
            for label, value in parts.inputs
        )
        optional.append(f"inputs: [{inputs}],\n")
    return (
        "__wdSqlx({\n"
        f"configLine: {config_line},\n"
        f"config: () => {{ __wdLine = {config_line}; return {{\n"
        f"name: {json.dumps(base_name)},\n"
        'type: "operations",\n'
        f"...{config}\n"
        "}; },\n"
        f"statementCount: {len(parts.statements)},\n"
        f"{''.join(optional)}"
        f"sql: {_contextable(js, js_line, f'[{_literals(parts.statements)}]', prelude)}\n"
        "});\n"
    )


def js_program(code: str) -> str:
    """A JavaScript definition file as a module whose lines are the file's lines."""
    return (
        "(function __wdDefinitionFile(module, exports, require) {"
        + code
        + "\n})({exports: {}}, {}, function (name) { throw new Error('require(' + JSON.stringify(name) + ')"
        " is not supported in definition files by this compiler; put shared code in includes/'); });\n"
    )
