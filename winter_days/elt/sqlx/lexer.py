"""SQLX lexer: splits a .sqlx file into config, js, SQL statements and operation blocks.

The token rules and their precedence follow the Dataform SQLX grammar, so that a file is
cut exactly where the Dataform compiler cuts it: `${...}` inside SQL comments stays text,
`---` on its own line separates statements, and the first matching rule wins at each
position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum


class NodeType(Enum):
    JAVASCRIPT = "javascript"
    PLACEHOLDER = "placeholder"
    SQL = "sql"
    COMMENT = "comment"
    LITERAL = "literal"
    MULTILINE_LITERAL = "multiline_literal"
    SEPARATOR = "separator"


@dataclass(slots=True)
class Node:
    """A syntax tree node; `line` is where its first character sits (1-based)."""

    type: NodeType
    line: int
    children: list[str | Node] = field(default_factory=list)

    def push(self, child: str | Node) -> None:
        if isinstance(child, str) and self.children and isinstance(self.children[-1], str):
            self.children[-1] += child
        else:
            self.children.append(child)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)


# (pattern, action, node type, next state): action is push, pop, whole or text.
_ANY = (r"[\s\S]", "text", None, None)


def _run(special: str, keywords: tuple[str, ...] = ()) -> tuple[str, str, None, None]:
    """A run of characters none of which begins another rule of the state at its position.

    Dataform's lexer takes one character at a time when no rule matches; a run of such
    characters gives the same tree in one step. A character is in the run when it is not
    one of the state's `special` first characters, not the start of one of its block
    `keywords` (the keyword rules' own patterns, as lookaheads), and, for white space, not
    the start of a statement separator.
    """
    # Characters that begin no keyword go many at a time; a keyword's first letter is
    # checked against the keywords one at a time.
    firsts = "".join(sorted({keyword[0] for keyword in keywords}))
    starts = f"|(?!{'|'.join(keywords)})[{firsts}]" if keywords else ""
    return (rf"(?:[^{special}{firsts}\s]+{starts}|[^\S\r\n](?!{_SEPARATOR_PATTERN})|[\r\n])+", "run", None, None)


_SEPARATOR_PATTERN = r"[^\S\r\n]*---[^\S\r\n]*$"
_SEPARATOR = (_SEPARATOR_PATTERN, "whole", NodeType.SEPARATOR, None)
_SQL_COMMENTS = [
    (r"--.*?$", "whole", NodeType.COMMENT, None),
    (r"/\*[\s\S]*?\*/", "whole", NodeType.COMMENT, None),
]
_SQL_QUOTES = [
    (r"'''", "push", NodeType.MULTILINE_LITERAL, "triple_single"),
    (r'"""', "push", NodeType.MULTILINE_LITERAL, "triple_double"),
    (r"'", "push", NodeType.LITERAL, "single"),
    (r'"', "push", NodeType.LITERAL, "double"),
]
_JS_SINGLE = r"'(?:\\['\\]|[^\n'\\])*'"
_JS_DOUBLE = r'"(?:\\["\\]|[^\n"\\])*"'
# A placeholder whose JavaScript has no braces, template, comment or unfinished string (a
# `${ref("x")}`) is cut whole: the js state would take the same text and pop at its `}`,
# giving a placeholder node with the same one piece of text.
_PLACEHOLDERS = (
    (rf"\$\{{(?:[^/'\"`{{}}]|{_JS_SINGLE}|{_JS_DOUBLE})*\}}", "shortcut", NodeType.PLACEHOLDER, None),
    (r"\$\{", "push", NodeType.PLACEHOLDER, "js"),
)

_JS_BLOCKS = (r"config \{", r"js \{")
_SQL_BLOCKS = (
    r"incremental_where \{",
    r"pre_operations \{",
    r"post_operations \{",
    r'input "[a-zA-Z0-9_-]+"(?:,\s*"[a-zA-Z0-9_-]+")* \{',
)

_RULES: dict[str, list[tuple[str, str, NodeType | None, str | None]]] = {
    "sql": [
        *((pattern, "push", NodeType.JAVASCRIPT, "js") for pattern in _JS_BLOCKS),
        *((pattern, "push", NodeType.SQL, "inner_sql") for pattern in _SQL_BLOCKS),
        _SEPARATOR,
        *_SQL_COMMENTS,
        *_PLACEHOLDERS,
        (r"`", "text", None, None),
        *_SQL_QUOTES,
        _run(r"\-/$'\"", _JS_BLOCKS + _SQL_BLOCKS),
        _ANY,
    ],
    "js": [
        (r"//.*?$", "text", None, None),
        (r"/\*[\s\S]*?\*/", "text", None, None),
        (_JS_SINGLE, "text", None, None),
        (_JS_DOUBLE, "text", None, None),
        (r"`", "push", None, "js_template"),
        (r"\{", "push", NodeType.JAVASCRIPT, "js"),
        (r"\}", "pop", None, None),
        # Strings are text too: a run takes them along (a config's values are mostly strings).
        (rf"(?:[^/'\"`{{}}]+|{_JS_SINGLE}|{_JS_DOUBLE})+", "run", None, None),
        _ANY,
    ],
    "js_template": [
        (r"\\\\", "text", None, None),
        (r"\\\$\{`", "text", None, None),
        (r"\$\{", "push", NodeType.JAVASCRIPT, "js"),
        (r"`", "pop", None, None),
        (r"[^\\$`]+", "run", None, None),
        _ANY,
    ],
    "inner_sql": [
        _SEPARATOR,
        *_SQL_COMMENTS,
        *_PLACEHOLDERS,
        (r"\}", "pop", None, None),
        (r"`", "text", None, None),
        *_SQL_QUOTES,
        _run(r"\-/$}'\""),
        _ANY,
    ],
    "single": [
        (r"\\\\", "text", None, None),
        (r"\\'", "text", None, None),
        *_PLACEHOLDERS,
        (r"'", "pop", None, None),
        (r"[^\\\\$']+", "run", None, None),
        _ANY,
    ],
    # Dataform's double-quoted string state has no placeholder rule: `${` there is text
    # (it is still interpolated later, because the whole statement becomes a JS template).
    "double": [
        (r"\\\\", "text", None, None),
        (r'\\"', "text", None, None),
        (r'"', "pop", None, None),
        (r'[^\\\\"]+', "run", None, None),
        _ANY,
    ],
    "triple_single": [
        (r"\\\\", "text", None, None),
        *_PLACEHOLDERS,
        (r"'''", "pop", None, None),
        (r"[^\\\\$']+", "run", None, None),
        _ANY,
    ],
    "triple_double": [
        (r"\\\\", "text", None, None),
        *_PLACEHOLDERS,
        (r'"""', "pop", None, None),
        (r'[^\\\\$"]+', "run", None, None),
        _ANY,
    ],
}


def _compile(rules: dict[str, list[tuple[str, str, NodeType | None, str | None]]]) -> dict[str, re.Pattern[str]]:
    return {
        state: re.compile("|".join(f"({pattern})" for pattern, *_ in state_rules), re.M)
        for state, state_rules in rules.items()
    }


def _tables(rules: dict[str, list[tuple[str, str, NodeType | None, str | None]]]) -> dict[str, tuple]:
    """Per state: its pattern's match and, by group number, (action, node type, next state)."""
    compiled = _compile(rules)
    return {
        state: (compiled[state].match, [None, *(rule[1:] for rule in state_rules)])
        for state, state_rules in rules.items()
    }


_TABLES = _tables(_RULES)
# Dataform's own rules, one character at a time where none matches: the reference the runs
# and shortcuts above must agree with (a test parses random text both ways).
REFERENCE_RULES = {
    state: [rule for rule in rules if rule[1] not in ("run", "shortcut")] for state, rules in _RULES.items()
}


class LexError(Exception):
    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


def parse(code: str, rules: dict | None = None) -> Node:
    """Build the syntax tree of a SQLX file (`rules`: other token rules, for tests)."""
    tables = _TABLES if rules is None else _tables(rules)
    root = Node(NodeType.SQL, 1)
    nodes = [root]
    states = ["sql"]
    match_at, actions = tables["sql"]
    pos, line, end = 0, 1, len(code)
    while pos < end:
        match = match_at(code, pos)
        if match is None:  # pragma: no cover - every state ends with a catch-all rule
            raise LexError(line, "unreadable input")
        action, node_type, next_state = actions[match.lastindex]
        value = match.group()
        pos = match.end()
        if action == "run" or action == "text":
            children = nodes[-1].children
            if children and children[-1].__class__ is str:
                children[-1] += value
            else:
                children.append(value)
        elif action == "push":
            if node_type is None:
                # A JS template string changes lexer state without opening a tree node.
                nodes[-1].push(value)
            else:
                if node_type is NodeType.SQL and nodes[-1].type is not NodeType.SQL:
                    raise LexError(line, "SQL blocks may only appear at the top level of a file")
                child = Node(node_type, line, [value])
                nodes[-1].push(child)
                nodes.append(child)
            states.append(next_state)
            match_at, actions = tables[next_state]
        elif action == "pop":
            nodes[-1].push(value)
            if states.pop() != "js_template":
                nodes.pop()
            match_at, actions = tables[states[-1]]
        else:  # whole, shortcut
            nodes[-1].children.append(Node(node_type, line, [value]))
        if "\n" in value:
            line += value.count("\n")
    if len(states) > 1:
        raise LexError(nodes[-1].line, f"unclosed block opened here: {nodes[-1].text()[:40]!r}")
    return root
