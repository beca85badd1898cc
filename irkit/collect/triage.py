"""`triage`: a read-only, one-screen risk summary of a container.

`assess()` is pure (inspect document plus the host's view of processes,
sockets and changed paths) so each rule is unit-tested; `triage()` gathers the
inputs from a live host. Nothing is changed.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from irkit.collect.base import CollectContext, CollectOptions, Target
from irkit.collect.netstat import Socket, read_sockets
from irkit.collect.proc_net import InetSocket
from irkit.collect.processes import read_processes
from irkit.collect.runner import resolve_targets
from irkit.engine.docker import engine_errors
from irkit.engine.host import Host
from irkit.engine.procfs import ProcFS
from irkit.errors import IrkitError


class Severity(str, enum.Enum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    check: str
    message: str


@dataclass(frozen=True)
class TriageReport:
    container: str
    name: str
    status: str
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]


DANGEROUS_CAPS = {"ALL", "SYS_ADMIN", "SYS_PTRACE", "SYS_MODULE", "NET_ADMIN", "DAC_READ_SEARCH"}
DOCKER_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")
ANY_ADDRESS = ("", "0.0.0.0", "::")  # noqa: S104 (matched, never bound)
LOOPBACK = ("127.", "::1", "::ffff:127.")


def _config_findings(attrs: dict[str, Any]) -> list[Finding]:
    hc = attrs.get("HostConfig") or {}
    cfg = attrs.get("Config") or {}
    f: list[Finding] = []
    if hc.get("Privileged"):
        f.append(Finding(Severity.HIGH, "privileged", "runs privileged (all capabilities)"))
    for cap in hc.get("CapAdd") or []:
        name = str(cap).upper().removeprefix("CAP_")
        sev = Severity.HIGH if name in DANGEROUS_CAPS else Severity.MEDIUM
        f.append(Finding(sev, "capability", f"added capability {name}"))
    for kind, sev in (("Network", Severity.HIGH), ("Pid", Severity.HIGH), ("Ipc", Severity.MEDIUM)):
        if hc.get(f"{kind}Mode") == "host":
            msg = f"shares the host's {kind} namespace"
            f.append(Finding(sev, f"{kind.lower()}-namespace", msg))
    user = str(cfg.get("User") or "")
    if user in ("", "0", "root") or user.startswith(("0:", "root:")):
        f.append(Finding(Severity.MEDIUM, "root-user", "runs as root (no USER set)"))
    if not hc.get("ReadonlyRootfs"):
        f.append(Finding(Severity.LOW, "writable-rootfs", "root filesystem is writable"))
    if not hc.get("Memory"):
        f.append(Finding(Severity.LOW, "no-memory-limit", "no memory limit"))
    if not hc.get("PidsLimit") or int(hc["PidsLimit"]) <= 0:
        f.append(Finding(Severity.LOW, "no-pids-limit", "no pids limit (fork bombs)"))
    for opt in hc.get("SecurityOpt") or []:
        if "unconfined" in str(opt):
            f.append(Finding(Severity.MEDIUM, "security-opt", f"security option {opt}"))
    return f


def _mount_findings(attrs: dict[str, Any]) -> list[Finding]:
    f: list[Finding] = []
    for mount in attrs.get("Mounts") or []:
        source = str(mount.get("Source") or "")
        dest = mount.get("Destination")
        rw = "read-write" if mount.get("RW") else "read-only"
        if source in DOCKER_SOCKETS or source.endswith("/docker.sock"):
            f.append(Finding(Severity.HIGH, "docker-socket", f"Docker socket mounted at {dest}"))
        elif mount.get("Type") == "bind":
            sev = Severity.HIGH if source == "/" else Severity.MEDIUM if rw else Severity.LOW
            f.append(Finding(sev, "host-path", f"host path {source} mounted {rw} at {dest}"))
    return f


def _port_findings(attrs: dict[str, Any]) -> list[Finding]:
    f: list[Finding] = []
    ports = (attrs.get("NetworkSettings") or {}).get("Ports") or {}
    for port, bindings in sorted(ports.items()):
        for b in bindings or []:
            if b.get("HostIp") in ANY_ADDRESS:
                msg = f"port {port} published on {b.get('HostIp') or '*'}:{b.get('HostPort')}"
                f.append(Finding(Severity.MEDIUM, "published-port", msg))
    return f


def _owner(socket: InetSocket) -> str:
    return ", ".join(f"{o.name} (pid {o.pid})" for o in socket.owners) or "no visible owner"


def _socket_findings(sockets: Sequence[Socket]) -> list[Finding]:
    f: list[Finding] = []
    for s in sockets:
        if not isinstance(s, InetSocket):
            continue
        local = f"{s.local_address}:{s.local_port}"
        if s.state == "LISTEN" or (s.proto.startswith("udp") and not s.remote_port):
            f.append(Finding(Severity.INFO, "listening", f"{s.proto} {local} by {_owner(s)}"))
        elif s.state == "ESTABLISHED":
            remote = f"{s.remote_address}:{s.remote_port}"
            sev = Severity.INFO if s.remote_address.startswith(LOOPBACK) else Severity.MEDIUM
            msg = f"{s.proto} {local} -> {remote} by {_owner(s)}"
            f.append(Finding(sev, "established", msg))
    return f


def _process_findings(
    processes: Sequence[dict[str, Any]], changed_paths: set[str]
) -> list[Finding]:
    f: list[Finding] = []
    for p in processes:
        who = f"pid {p['pid']} ({' '.join(p.get('cmdline') or []) or p.get('name')})"
        if p.get("exe_deleted"):
            msg = f"{who} runs a deleted binary {p.get('exe')} sha256 {p.get('exe_sha256')}"
            f.append(Finding(Severity.HIGH, "deleted-binary", msg))
        elif p.get("exe") in changed_paths:
            msg = f"{who} runs {p.get('exe')}, which is not the image's (added or changed)"
            f.append(Finding(Severity.HIGH, "binary-not-in-image", msg))
    return f


def assess(
    attrs: dict[str, Any],
    processes: Sequence[dict[str, Any]] = (),
    sockets: Sequence[Socket] = (),
    changed_paths: set[str] | None = None,
) -> list[Finding]:
    """Every finding, most severe first."""
    findings = [
        *_config_findings(attrs),
        *_mount_findings(attrs),
        *_port_findings(attrs),
        *_process_findings(processes, changed_paths or set()),
        *_socket_findings(sockets),
    ]
    order = list(Severity)
    return sorted(findings, key=lambda x: order.index(x.severity))


def triage(host: Host, ref: str) -> TriageReport:
    """Read inspect, processes, sockets and the diff of one container; change nothing."""
    target: Target = resolve_targets(host.docker, [ref])[0]
    ctx = CollectContext(host, CollectOptions(), ProcFS(host.proc_root))
    notes: list[str] = []
    processes: list[dict[str, Any]] = []
    sockets: list[Socket] = []
    if target.init_pid is None:
        notes.append(f"container is {target.status}: processes and sockets not visible")
    else:
        processes, _ = read_processes(ctx, target)
        sockets = read_sockets(ctx.procfs, target.init_pid)
    changed: set[str] = set()
    try:
        with engine_errors("docker diff"):
            changed = {str(c["Path"]) for c in target.container.diff() or [] if c["Kind"] in (0, 1)}
    except IrkitError as e:
        notes.append(f"diff unavailable: {e.message}")
    findings = assess(target.attrs, processes, sockets, changed)
    return TriageReport(target.id, target.name, target.status, tuple(findings), tuple(notes))
