"""The lexer's character runs cut a file exactly where Dataform's one-character rules cut it."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from winter_days.elt.sqlx.lexer import REFERENCE_RULES, LexError, parse

# Fragments that start (or almost start) every rule of every lexer state.
FRAGMENTS = [
    "config {",
    "js {",
    "incremental_where {",
    "pre_operations {",
    "post_operations {",
    'input "a" {',
    'input "a", "b" {',
    'input "a"',
    "config",
    "js",
    "inp",
    "pre_",
    "post_op",
    "---",
    " ---",
    "--",
    "-",
    "/*",
    "*/",
    "/",
    "//",
    "${",
    "$",
    "{",
    "}",
    "`",
    "'",
    "'''",
    '"',
    '"""',
    "\\",
    "\\\\",
    "\\'",
    '\\"',
    "\\${`",
    " ",
    "\t",
    "\n",
    "\r\n",
    "\u00a0",
    "SELECT",
    "x",
    "cij",
    "é",
    # whole placeholders, and near ones the shortcut must leave to the js state
    '${ref("a")}',
    "${ref('a}')}",
    "${x\n}",
    "${'a",
    '${"a\\"b"}',
    "${a/b}",
    "${`x`}",
    "${{}}",
]


def _tree(code: str, rules: dict | None = None) -> str:
    try:
        return repr(parse(code, rules))
    except LexError as err:
        return f"error at {err.line}: {err}"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=40))
def test_runs_give_dataforms_tree(pieces):
    code = "".join(pieces)
    assert _tree(code) == _tree(code, REFERENCE_RULES)


def test_a_separator_after_spaces_and_keywords_inside_words():
    code = 'config { type: "operations" }\nSELECT "pre_operations {"  \n   ---  \nSELECT xconfig {} FROM t\n'
    assert _tree(code) == _tree(code, REFERENCE_RULES)
