"""Bytes a query processes, as BigQuery's on-demand pricing counts them.

BigQuery bills the logical bytes of the columns a query reads from each table, whatever
the WHERE clause (the fake prunes no partitions or clusters), plus for UPDATE, DELETE and
MERGE every column of the target table as it was when the statement started. A view
counts as the tables under it. Bytes billed round the bytes processed up to whole MiB,
with at least 10 MiB per table read; a query that reads nothing bills nothing.

The estimate is made from the stored tables before a statement runs, so a dry run and the
real run of the same query report the same figure, and maximumBytesBilled can refuse a
query before it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

MIB = 1 << 20
MIN_BILLED_PER_TABLE = 10 * MIB


@dataclass(frozen=True)
class Read:
    """One table a statement reads: all its columns, or those named in the statement."""

    dataset: str
    table: str
    node: exp.Table | None  # None: a DML target, read whole


@dataclass
class Estimate:
    bytes_processed: int = 0
    tables: int = 0

    def add(self, other: Estimate) -> None:
        self.bytes_processed += other.bytes_processed
        self.tables += other.tables

    @property
    def bytes_billed(self) -> int:
        if self.bytes_processed == 0:
            return 0
        rounded = -(-self.bytes_processed // MIB) * MIB
        return max(rounded, MIN_BILLED_PER_TABLE * max(1, self.tables))


def referenced_names(tree: exp.Expression) -> set[str]:
    """Every name a column reference in the statement uses (qualifiers included)."""
    names: set[str] = set()
    for column in tree.find_all(exp.Column):
        names.update(part.name.lower() for part in column.parts if isinstance(part, exp.Identifier))
    for join in tree.find_all(exp.Join):
        names.update(i.name.lower() for i in join.args.get("using") or () if isinstance(i, exp.Identifier))
    return names


def star_tables(tree: exp.Expression) -> set[int]:
    """ids of the Table nodes a `SELECT *` or `alias.*` reads whole."""
    whole: set[int] = set()
    for select in tree.find_all(exp.Select):
        stars = [
            e
            for e in select.expressions
            if isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))
        ]
        if not stars:
            continue
        sources = []
        if select.args.get("from_") is not None:
            sources.append(select.args["from_"].this)
        sources += [j.this for j in select.args.get("joins") or ()]
        tables = [s for s in sources if isinstance(s, exp.Table)]
        qualifiers = {s.table.lower() for s in stars if isinstance(s, exp.Column) and s.table}
        plain = any(isinstance(s, exp.Star) for s in stars)
        for table in tables:
            if plain or (table.alias_or_name or "").lower() in qualifiers:
                whole.add(id(table))
    return whole


def estimate_reads(
    tree: exp.Expression,
    reads: list[Read],
    column_bytes: Callable[[str, str], dict[str, int]],
    view_estimate: Callable[[str, str], Estimate | None],
) -> Estimate:
    """The bytes `tree` processes reading `reads`.

    `column_bytes(dataset, table)` gives the logical bytes per (lower-case) column of a
    stored table; `view_estimate(dataset, table)` the estimate of a view's query, or None
    for a table.
    """
    names = referenced_names(tree)
    whole = star_tables(tree)
    total = Estimate()
    seen: dict[tuple[str, str], set[str]] = {}
    views: set[tuple[str, str]] = set()
    for read in reads:
        key = (read.dataset, read.table)
        if key in views:
            continue
        under_view = view_estimate(*key)
        if under_view is not None:
            total.add(under_view)
            views.add(key)
            continue
        sizes = column_bytes(*key)
        wanted = set(sizes) if read.node is None or id(read.node) in whole else {c for c in sizes if c in names}
        if key not in seen:
            seen[key] = set()
            total.tables += 1
        total.bytes_processed += sum(sizes[c] for c in wanted - seen[key])
        seen[key] |= wanted
    return total
