"""`host`: the host's context at collection time, once per collection.

Firewall rules (iptables-save, ip6tables-save), the engine's info and
version, uname, time, time zone, clock synchronisation where known, and the
daemon's configuration file. A part that cannot be read is noted in
host.json and fails the step after the rest is written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from irkit import __version__
from irkit.bundle.model import ArtifactSink
from irkit.collect.base import Artifact, CollectContext, Detail, register
from irkit.engine.clock import rfc3339
from irkit.engine.docker import engine_errors
from irkit.errors import EngineError, IrkitError

DAEMON_JSON = Path("/etc/docker/daemon.json")
FIREWALL_TOOLS = ("iptables-save", "ip6tables-save")


def _command_text(ctx: CollectContext, argv: list[str]) -> bytes:
    return ctx.host.commands.run(argv, check=True, timeout=30).stdout


def clock_sync(ctx: CollectContext) -> str:
    """'yes' / 'no' from systemd when it knows, otherwise 'unknown'."""
    if ctx.host.commands.which("timedatectl"):
        result = ctx.host.commands.run(
            ["timedatectl", "show", "-p", "NTPSynchronized", "--value"], check=False, timeout=10
        )
        value = result.stdout.decode(errors="replace").strip()
        if result.ok and value:
            return value
    return "unknown (no timedatectl answer)"


def _time_context(ctx: CollectContext) -> dict[str, Any]:
    now = ctx.host.clock.now()
    localtime = Path("/etc/localtime")
    return {
        "utc": rfc3339(now),
        "local": now.astimezone().isoformat(),
        "tzname": list(time.tzname),
        "timezone_file": os.path.realpath(localtime) if localtime.exists() else None,
        "clock_synchronised": clock_sync(ctx),
    }


def _uname() -> dict[str, str]:
    u = os.uname()
    return {k: getattr(u, k) for k in ("sysname", "nodename", "release", "version", "machine")}


def collect_host(ctx: CollectContext, sink: ArtifactSink) -> Detail:
    def engine() -> dict[str, Any]:
        with engine_errors("engine info"):
            return {"version": ctx.host.docker.version(), "info": ctx.host.docker.info()}

    context: dict[str, Any] = {"irkit": __version__, "uname": _uname()}
    missing: list[str] = []
    parts: list[tuple[str, Callable[[], Any]]] = [
        ("time", lambda: _time_context(ctx)),
        ("engine", engine),
    ]
    for key, fetch in parts:
        try:
            context[key] = fetch()
        except IrkitError as e:
            missing.append(f"{key}: {e.message}")
    for tool in FIREWALL_TOOLS:
        try:
            text = _command_text(ctx, [tool])
        except IrkitError as e:
            missing.append(f"{tool}: {e.message}")
            continue
        sink.add_bytes(f"host/{tool}.txt", text, step=ctx.step, source=tool)
    if DAEMON_JSON.is_file():
        sink.add_bytes(
            "host/daemon.json", DAEMON_JSON.read_bytes(), step=ctx.step, source=str(DAEMON_JSON)
        )
    else:
        context["daemon_json"] = f"{DAEMON_JSON} not present"
    context["missing"] = missing
    sink.add_json("host/host.json", context, step=ctx.step, source="irkit on the host")
    if missing:
        raise EngineError("host context incomplete: " + "; ".join(missing))
    return None


register(
    Artifact(
        "host",
        "host context: iptables-save, ip6tables-save, engine info/version, uname, time, clock sync",
        order=35,
        per_host=collect_host,
    )
)
