"""Which process owns a run, and whether that process is still alive.

A pid alone can be reused after a crash, so a process is named by host, pid and the
kernel's start time of that pid; a run whose owner no longer matches was cut off.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path


def process_start_ticks(pid: int) -> str:
    """The pid's start time in clock ticks since boot; '' when it has ended or /proc is absent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat.rsplit(")", 1)[1].split()
    # A zombie (its parent died too and nobody reaped it) has ended all the same.
    return "" if fields[0] in ("Z", "X") else fields[19]


def _command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return " ".join(part.decode(errors="replace") for part in raw.split(b"\0") if part)[:200]


@dataclass(frozen=True)
class ProcessOwner:
    """A process on a host, as recorded with the run it owns."""

    host: str
    pid: int
    start_ticks: str

    @classmethod
    def current(cls) -> ProcessOwner:
        pid = os.getpid()
        return cls(socket.gethostname(), pid, process_start_ticks(pid))

    def is_local(self) -> bool:
        return self.host == socket.gethostname()

    def is_alive(self) -> bool:
        """True while this very process still runs (only answerable on its own host)."""
        if not self.is_local():
            raise ValueError(f"process {self.pid} runs on {self.host}, not on this host")
        if self.start_ticks:
            return process_start_ticks(self.pid) == self.start_ticks
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def describe(self) -> str:
        """'process 123 on host (command line)', for messages a user acts on."""
        command = _command_line(self.pid) if self.is_local() else ""
        return f"process {self.pid} on {self.host}" + (f" ({command})" if command else "")
