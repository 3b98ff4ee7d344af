"""Say who holds the DuckDB warehouse when a step cannot open it, instead of a raw lock error.

DuckDB allows one writing process per file and reports a conflict as
`IO Error: Could not set lock on file "...": Conflicting lock is held in <exe> (PID n) ...`.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

from winter_days.runs.owner import ProcessOwner

_LOCK = re.compile(r"Could not set lock on file \"(?P<file>[^\"]+)\".*?\(PID (?P<pid>\d+)\)", re.S)


def explain_warehouse_lock(err: BaseException, warehouse_path: Path | None) -> str | None:
    """A message naming the process that holds the warehouse and what to do; None if not a lock error."""
    match = _LOCK.search(str(err))
    if match is None:
        return None
    holder = ProcessOwner(socket.gethostname(), int(match.group("pid")), "")
    target = warehouse_path or Path(match.group("file"))
    return (
        f"the warehouse {target} is held by {holder.describe()}; DuckDB allows one writing process. "
        "Wait for that process to finish (if it is `winter-days serve`, trigger the run with POST /run "
        "instead), or stop it, then run again"
    )
