"""Facts about the collecting host, recorded in every manifest.

The engine is optional: `bundle seal` of a responder's notes must work on a
host where no Docker engine answers.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from irkit.engine.docker import engine_errors
from irkit.engine.host import Host
from irkit.errors import IrkitError

CLOCKSOURCE = Path("/sys/devices/system/clocksource/clocksource0/current_clocksource")


@dataclass(frozen=True)
class HostFacts:
    hostname: str
    kernel: str
    docker_version: str | None
    timezone: str
    clock_source: str


def local_timezone() -> str:
    """The configured zone name where known, with the current UTC offset."""
    name = os.environ.get("TZ") or _read_first_line(Path("/etc/timezone")) or time.tzname[0]
    offset = time.strftime("%z")
    return f"{name} (UTC{offset})"


def _read_first_line(path: Path) -> str:
    try:
        return path.read_text(errors="replace").strip().splitlines()[0]
    except (OSError, IndexError):
        return ""


def gather_host_facts(host: Host | None = None, *, with_engine: bool = True) -> HostFacts:
    """Hostname, kernel, Docker version (None when no engine answers), zone, clock source."""
    docker_version: str | None = None
    if host is not None and with_engine:
        try:
            with engine_errors("docker version"):
                docker_version = str(host.docker.version().get("Version") or "") or None
        except IrkitError:
            docker_version = None
    uname = os.uname()
    return HostFacts(
        hostname=socket.gethostname(),
        kernel=f"{uname.sysname} {uname.release} {uname.machine}",
        docker_version=docker_version,
        timezone=local_timezone(),
        clock_source=_read_first_line(CLOCKSOURCE) or "unknown",
    )
