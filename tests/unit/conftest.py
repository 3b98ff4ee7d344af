"""Fixtures the unit tests of several packages share: processes that own a run."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from winter_days.runs.owner import ProcessOwner, process_start_ticks


@pytest.fixture
def live_owner():
    """A real process of this host that stays alive for the test."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        yield ProcessOwner(socket.gethostname(), proc.pid, process_start_ticks(proc.pid))
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture
def dead_owner():
    """A real process of this host that has ended."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    owner = ProcessOwner(socket.gethostname(), proc.pid, process_start_ticks(proc.pid))
    proc.kill()
    proc.wait()
    return owner
