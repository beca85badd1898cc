"""`netstat`: the container's sockets read from the host kernel.

The socket tables of the container's network namespace come from
/proc/PID/net/*; each socket is tied to its owning process through the socket
inodes in /proc/*/fd of the processes sharing that namespace. Needs no shell
and no netstat in the container.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from irkit.bundle.model import ArtifactSink
from irkit.collect.base import Artifact, CollectContext, Detail, Target, register
from irkit.collect.proc_net import (
    INET_TABLES,
    UNIX_TABLE,
    InetSocket,
    Owner,
    UnixSocket,
    as_dict,
    attach_owners,
    parse_inet,
    parse_unix,
    render_netstat,
)
from irkit.collect.processes import require_live
from irkit.engine.procfs import ProcFS
from irkit.errors import EnvironmentProblem

SOURCE = "host /proc/PID/net and /proc/*/fd"

Socket = InetSocket | UnixSocket


def socket_owners(
    procfs: ProcFS, pids: Iterable[int], wanted: set[int] | None = None
) -> dict[int, list[Owner]]:
    """Socket inode -> the processes holding it (all inodes, or only `wanted`)."""
    owners: dict[int, list[Owner]] = defaultdict(list)
    for pid in pids:
        held = [(fd, ino) for fd, ino in procfs.socket_fds(pid) if wanted is None or ino in wanted]
        if not held:
            continue
        name = (procfs.read_text(pid, "comm") or "?").strip()
        ns_pid = procfs.ns_pid(pid)
        for fd, inode in held:
            owners[inode].append(Owner(pid, ns_pid, fd, name))
    return owners


def read_sockets(procfs: ProcFS, pid: int) -> list[Socket]:
    """Every socket of the network namespace `pid` lives in, with owners.

    Owners are looked for among the namespace's processes first; sockets still
    unowned (the engine's embedded DNS is held by dockerd, outside) are looked
    for among all host processes.
    """
    sockets: list[Socket] = []
    for table in INET_TABLES:
        text = procfs.net_table(pid, table)
        if text:
            sockets.extend(parse_inet(table, text))
    unix = procfs.net_table(pid, UNIX_TABLE)
    if unix:
        sockets.extend(parse_unix(unix))
    peers = procfs.namespace_peers(pid, "net")
    owners = socket_owners(procfs, peers)
    unowned = {s.inode for s in sockets if s.inode and s.inode not in owners}
    if unowned:
        known = set(peers)
        others = (p for p in procfs.pids() if p not in known)
        owners.update(socket_owners(procfs, others, unowned))
    return attach_owners(sockets, owners)


def container_sockets(ctx: CollectContext, target: Target) -> list[Socket]:
    pid = require_live(target, "sockets")
    if ctx.procfs.namespace(pid, "net") is None:
        raise EnvironmentProblem(f"cannot read the network namespace of pid {pid} (not root?)")
    return read_sockets(ctx.procfs, pid)


def collect_netstat(ctx: CollectContext, target: Target, sink: ArtifactSink) -> Detail:
    sockets = container_sockets(ctx, target)
    pid = target.init_pid
    mode = target.attrs.get("HostConfig", {}).get("NetworkMode", "")
    document: dict[str, Any] = {
        "container": target.id,
        "read_from_pid": pid,
        "netns": ctx.procfs.namespace(pid, "net") if pid else None,
        "network_mode": mode,
        "sockets": [as_dict(s) for s in sockets],
    }
    sink.add_json(target.path("netstat.json"), document, step=ctx.step, source=SOURCE)
    text = render_netstat(sockets).encode()
    sink.add_bytes(target.path("netstat.txt"), text, step=ctx.step, source=SOURCE)
    inet = [s for s in sockets if isinstance(s, InetSocket)]
    return {
        "sockets": len(sockets),
        "listening": sum(s.state == "LISTEN" for s in inet),
        "established": sum(s.state == "ESTABLISHED" for s in inet),
        "shares_host_network": mode == "host",
    }


register(
    Artifact(
        "netstat",
        "sockets of the container's network namespace from the host, with owning processes",
        order=20,
        per_container=collect_netstat,
    )
)
