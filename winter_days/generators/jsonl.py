"""Fast JSON Lines encoding from Arrow columns.

A line is the concatenation of parts, joined element-wise by Arrow's string kernels:
literal text, quoted string columns, and "fragments": a small vocabulary of ready-encoded
`"key":value` texts picked per row by an index array. Fragments make low-cardinality
fields (event types, URLs, devices, flags) cost one `take` instead of per-row quoting.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Characters JSON strings must escape; values containing them take the slow, exact path.
_NEEDS_ESCAPE = r'["\\\x00-\x1f]'


def quoted(values: pa.Array) -> pa.Array:
    """JSON text of a string column: "value", or null."""
    values = values.cast(pa.string())
    if len(values) and pc.any(pc.match_substring_regex(values, _NEEDS_ESCAPE)).as_py():
        return pa.array([json.dumps(v) for v in values.to_pylist()], type=pa.string())
    return pc.coalesce(pc.binary_join_element_wise('"', values, '"', ""), "null")


def scalar_text(values: pa.Array) -> pa.Array:
    """JSON text of a numeric or boolean column (null stays null)."""
    if pa.types.is_boolean(values.type):
        return pc.coalesce(pc.if_else(values, "true", "false"), "null")
    if pa.types.is_floating(values.type):
        if not pc.all(pc.is_finite(values)).as_py() and values.null_count < len(values):
            raise ValueError("JSON has no representation for NaN or infinity")
    return pc.coalesce(values.cast(pa.string()), "null")


def fragments(texts: Sequence[str], index: np.ndarray) -> pa.Array:
    """Pick one of the ready-encoded `texts` per row."""
    return pa.array(texts, type=pa.string()).take(pa.array(index))


def fragment_text(key: str, value: Any) -> str:
    """`"key":value` in JSON."""
    return f"{json.dumps(key)}:{json.dumps(value)}"


def join_lines(parts: Sequence[str | pa.Array]) -> pa.Array:
    """Element-wise concatenation of parts (str literals broadcast); end each line with '\\n'."""
    return pc.binary_join_element_wise(*parts, "\n", "")


def lines_bytes(lines: pa.Array) -> memoryview:
    """The bytes of all lines, back to back, without copying."""
    if len(lines) == 0:
        return memoryview(b"")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=len(lines) + 1, offset=lines.offset * 4)
    return memoryview(lines.buffers()[2])[offsets[0] : offsets[-1]]


def table_lines(table: pa.Table) -> pa.Array:
    """JSON Lines of a table of string, integer, float and boolean columns, in column order."""
    parts: list[str | pa.Array] = []
    for i, (name, column) in enumerate(zip(table.column_names, table.columns, strict=False)):
        values = column.combine_chunks()
        text = quoted(values) if pa.types.is_string(values.type) else scalar_text(values)
        parts += [("{" if i == 0 else ",") + json.dumps(name) + ":", text]
    parts.append("}")
    if table.num_rows == 0:
        return pa.array([], type=pa.string())
    return join_lines(parts)
