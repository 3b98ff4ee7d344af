"""A free TCP port on 127.0.0.1 for a server a test starts, outside the ephemeral range.

A port the kernel hands out for port 0 is free again as soon as the probe closes: the next
bind to port 0 anywhere on the machine (the Firestore emulator's own WebSocket server, an
outgoing connection of a parallel test) may get the same one before our server binds it.
Ports below the ephemeral range are never handed out that way.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_FALLBACK_EPHEMERAL_START = 32768
_LOWEST = 10000


def _ephemeral_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _FALLBACK_EPHEMERAL_START


def free_port() -> int:
    """A port nobody listens on now, chosen at random below the ephemeral range."""
    high = _ephemeral_start() - 1
    candidates = random.sample(range(_LOWEST, high), k=min(200, high - _LOWEST)) if high > _LOWEST else []
    for port in candidates:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:  # a machine whose range starts low
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
