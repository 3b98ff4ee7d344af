"""Tell a damaged warehouse file from a busy one, and say how to rebuild it.

A published DuckDB file can become unreadable outside the platform's hands: a disk that
filled while it was copied by hand, a restore that wrote nothing, a file of another program
or of a newer DuckDB. Every later step would fail on it, so each one that meets it (the ELT,
the ML step, the dashboards) says the same thing: which file, why, and the command that
rebuilds the warehouse from the bronze lake. That rebuild (a full refresh of every action)
moves the damaged file aside as `<name>.unreadable-<time>` instead of deleting it: someone
may still want to recover what only it held, such as older predictions.
"""

from __future__ import annotations

import itertools
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

REBUILD_COMMAND = "winter-days elt rebuild"
# DuckDB's file header: an 8-byte checksum, then these magic bytes.
_MAGIC = b"DUCK"
_MAGIC_OFFSET = 8
# DuckDB's words for a file another process (or connection) holds: busy, not damaged.
_CONFLICTS = ("Could not set lock", "different configuration")

log = logging.getLogger(__name__)


def header_problem(path: Path) -> str | None:
    """What is wrong with the file's header (empty, not DuckDB's), or None when it starts as
    a DuckDB database does, or is absent."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_MAGIC_OFFSET + len(_MAGIC))
    except FileNotFoundError:
        return None
    except OSError as err:
        return f"it cannot be opened ({err.strerror})"
    if not head:
        return "it is empty (0 bytes)"
    if head[_MAGIC_OFFSET:] != _MAGIC:
        return "it is not a DuckDB database file (its first bytes are not DuckDB's header)"
    return None


def refusal(opened: Path, err: BaseException, published: Path | None = None) -> str | None:
    """Why DuckDB could not open `opened` (a copy of `published`, or the published file
    itself), said of the published file; None when `err` is another process holding it."""
    text = str(err).strip()
    if any(conflict in text for conflict in _CONFLICTS):
        return None
    problem = header_problem(opened)
    if problem is not None:
        return problem
    first_line = text.splitlines()[0] if text else type(err).__name__
    return f"DuckDB cannot open it: {first_line.replace(str(opened), str(published or opened))}"


def unreadable_message(published: Path, reason: str) -> str:
    """The message every component gives for an unreadable published warehouse."""
    return (
        f"the warehouse {published} cannot be read: {reason}. Rebuild it from the bronze lake with "
        f"`{REBUILD_COMMAND}` (or `winter-days elt run --full-refresh`); the unreadable file is then kept beside "
        f"it as {published.name}.unreadable-<time>, and the next `winter-days run` writes new predictions"
    )


def set_aside(published: Path) -> Path:
    """Move the unreadable published file (and its WAL) aside for a rebuild; the new name."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = published.with_name(f"{published.name}.unreadable-{stamp}")
    for again in itertools.count(2):
        if not target.exists():
            break
        target = published.with_name(f"{published.name}.unreadable-{stamp}-{again}")
    os.replace(published, target)
    wal = Path(f"{published}.wal")
    if wal.exists():
        os.replace(wal, f"{target}.wal")
    log.warning(
        "the unreadable warehouse %s was moved aside as %s; the warehouse is rebuilt from the bronze lake",
        published,
        target,
    )
    return target
