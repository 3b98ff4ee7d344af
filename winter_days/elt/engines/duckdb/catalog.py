"""What the build database holds, read once per run: relation kinds and view tags."""

from __future__ import annotations

import hashlib
import threading

import duckdb

from winter_days.elt.engines.duckdb.external import LakeFiles

_TAG_PREFIX = "winter-days view "


def view_tag(sql: str) -> str:
    """The comment that marks a view as created by exactly this statement."""
    return _TAG_PREFIX + hashlib.sha256(sql.encode()).hexdigest()[:24]


class RelationKinds:
    """What each schema.name of the build database is ('BASE TABLE', 'VIEW' or absent), and
    the comment of each view.

    Read once when a run starts and kept current by the runners, instead of asking the
    catalog before every statement; an action with arbitrary SQL (operations, pre/post
    operations) re-reads its own target afterwards.
    """

    _QUERY = (
        "SELECT schema_name, table_name, 'BASE TABLE', NULL FROM duckdb_tables() WHERE database_name = current_database() "
        "UNION ALL SELECT schema_name, view_name, 'VIEW', comment FROM duckdb_views() "
        "WHERE database_name = current_database() AND NOT internal"
    )

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self._relations = {
            (schema, name): (kind, comment) for schema, name, kind, comment in con.execute(self._QUERY).fetchall()
        }
        self._listings: dict[tuple[str, str], LakeFiles] = {}
        self._lock = threading.Lock()

    def set_listing(self, schema: str, name: str, files: LakeFiles) -> None:
        """The files an external table's view reads, as listed for this run."""
        with self._lock:
            self._listings[(schema, name)] = files

    def listings(self) -> list[tuple[tuple[str, str], LakeFiles]]:
        with self._lock:
            return list(self._listings.items())

    def listing(self, schema: str, name: str) -> LakeFiles | None:
        with self._lock:
            return self._listings.get((schema, name))

    def get(self, schema: str, name: str) -> str | None:
        with self._lock:
            return self._relations.get((schema, name), (None, None))[0]

    def comment(self, schema: str, name: str) -> str | None:
        with self._lock:
            return self._relations.get((schema, name), (None, None))[1]

    def set(self, schema: str, name: str, kind: str | None, comment: str | None = None) -> None:
        with self._lock:
            if kind is None:
                self._relations.pop((schema, name), None)
            else:
                self._relations[(schema, name)] = (kind, comment)

    def reread(self, con: duckdb.DuckDBPyConnection, schema: str, name: str) -> None:
        row = con.execute(
            "SELECT 'BASE TABLE', NULL FROM duckdb_tables() "
            "WHERE database_name = current_database() AND schema_name = $schema AND table_name = $name "
            "UNION ALL SELECT 'VIEW', comment FROM duckdb_views() "
            "WHERE database_name = current_database() AND schema_name = $schema AND view_name = $name",
            {"schema": schema, "name": name},
        ).fetchone()
        self.set(schema, name, *(row if row else (None, None)))
