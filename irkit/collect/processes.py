"""`processes`: every process of the container, read on the host (psutil, /proc).

The container's own `ps` may be missing or lying; the host kernel is not. A
deleted binary is still hashed through /proc/PID/exe (a classic implant).
`docker top` is kept next to it for comparison.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import psutil

from irkit.bundle.model import ArtifactSink
from irkit.collect.base import Artifact, CollectContext, Detail, Target, register
from irkit.engine.clock import rfc3339
from irkit.engine.docker import engine_errors
from irkit.engine.procfs import ProcFS
from irkit.errors import IrkitError
from irkit.steps import StepSkipped

SOURCE = "host /proc via psutil"
DELETED_SUFFIX = " (deleted)"
_ATTRS = [
    "ppid",
    "name",
    "status",
    "uids",
    "gids",
    "username",
    "cmdline",
    "cwd",
    "create_time",
    "num_threads",
    "terminal",
    "environ",
    "open_files",
]


def container_pids(procfs: ProcFS, target: Target) -> tuple[list[int], str]:
    """Host pids of the container's processes and how they were found.

    Peers of the init process in its pid namespace catch `docker exec`
    children too; a container sharing the host's pid namespace falls back to
    cgroup membership by container id.
    """
    init = target.init_pid
    if init is None:
        return [], "none"
    own = procfs.namespace(init, "pid")
    if own is not None and own != procfs.namespace(1, "pid"):
        return procfs.namespace_peers(init, "pid"), "pid-namespace"
    return procfs.cgroup_members(target.id), "cgroup"


def require_live(target: Target, what: str) -> int:
    """The init pid, or a skip that says why `what` cannot be read."""
    if target.init_pid is None:
        raise StepSkipped(f"container is {target.status}: no {what} to read from the host")
    return target.init_pid


def describe(procfs: ProcFS, pid: int) -> dict[str, Any] | None:
    """One process as evidence, or None if it exited meanwhile."""
    try:
        info = psutil.Process(pid).as_dict(attrs=_ATTRS, ad_value=None)
    except psutil.NoSuchProcess:
        return None
    link = procfs.exe_link(pid)
    exe_hash = procfs.hash_exe(pid)
    created = info.pop("create_time")
    uids, gids, files = info.pop("uids"), info.pop("gids"), info.pop("open_files")
    return {
        "pid": pid,
        "ns_pid": procfs.ns_pid(pid),
        **info,
        "uids": list(uids) if uids else None,
        "gids": list(gids) if gids else None,
        "exe": link.removesuffix(DELETED_SUFFIX) if link else None,
        "exe_deleted": bool(link and link.endswith(DELETED_SUFFIX)),
        "exe_sha256": exe_hash.sha256 if exe_hash else None,
        "exe_size": exe_hash.size if exe_hash else None,
        "started": rfc3339(datetime.fromtimestamp(created, timezone.utc)) if created else None,
        "open_files": [{"path": f.path, "fd": f.fd} for f in files or ()],
    }


def read_processes(ctx: CollectContext, target: Target) -> tuple[list[dict[str, Any]], str]:
    pids, method = container_pids(ctx.procfs, target)
    found = (describe(ctx.procfs, pid) for pid in pids)
    return [p for p in found if p is not None], method


def collect_processes(ctx: CollectContext, target: Target, sink: ArtifactSink) -> Detail:
    require_live(target, "processes")
    processes, method = read_processes(ctx, target)
    if not processes:
        raise StepSkipped(f"no process of container {target.name} is visible on the host")
    sink.add_json(
        target.path("processes.json"),
        {"container": target.id, "method": method, "processes": processes},
        step=ctx.step,
        source=SOURCE,
    )
    detail: dict[str, Any] = {
        "processes": len(processes),
        "method": method,
        "deleted_binaries": [p["pid"] for p in processes if p["exe_deleted"]],
    }
    try:
        with engine_errors(f"docker top {target.name}"):
            top = target.container.top()
        sink.add_json(target.path("docker-top.json"), top, step=ctx.step, source="docker top")
    except IrkitError as e:
        detail["docker_top_error"] = e.message
    return detail


register(
    Artifact(
        "processes",
        "every process seen from the host: ids, user, cmdline, exe sha256, cwd, files, environment",
        order=10,
        per_container=collect_processes,
    )
)
