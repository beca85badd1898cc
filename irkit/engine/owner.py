"""Which irkit process owns something (a sidecar, a spool folder, a bundle being
written), so a later run can tell live work from the leftovers of a killed one."""

from __future__ import annotations

import socket

import psutil


def owner_tag() -> str:
    """host:pid:start-time of this process (a pid alone is reused)."""
    me = psutil.Process()
    return f"{socket.gethostname()}:{me.pid}:{me.create_time():.3f}"


def owner_alive(tag: str) -> bool:
    """False when the tagged process is gone; True when alive or not ours to judge."""
    try:
        hostname, pid, started = tag.rsplit(":", 2)
        if hostname != socket.gethostname():
            return True
        process = psutil.Process(int(pid))
        return f"{process.create_time():.3f}" == started
    except (ValueError, psutil.Error):
        return False
