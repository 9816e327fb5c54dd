"""Ports a test takes for itself: never a fixed one, which another kolbot may hold."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nobody listens on now (the system's choice), for a server the test starts."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
