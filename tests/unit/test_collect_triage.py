"""Triage rules over an inspect document and the host's view."""

from __future__ import annotations

from typing import Any

from irkit.collect.proc_net import InetSocket, Owner
from irkit.collect.triage import Severity, assess


def _attrs(**host_config: Any) -> dict[str, Any]:
    return {
        "Config": {"User": host_config.pop("User", "")},
        "HostConfig": host_config,
        "Mounts": host_config.pop("Mounts", []),
        "NetworkSettings": {"Ports": host_config.pop("Ports", {})},
    }


def _checks(findings: list[Any]) -> dict[str, Severity]:
    return {f.check: f.severity for f in findings}


def test_a_hardened_container_has_no_findings() -> None:
    attrs = _attrs(User="1000", ReadonlyRootfs=True, Memory=1 << 28, PidsLimit=100)
    assert assess(attrs) == []


def test_dangerous_configuration() -> None:
    attrs = _attrs(
        Privileged=True,
        CapAdd=["CAP_SYS_ADMIN", "CHOWN"],
        NetworkMode="host",
        PidMode="host",
        IpcMode="host",
        SecurityOpt=["seccomp=unconfined"],
        Mounts=[
            {"Type": "bind", "Source": "/var/run/docker.sock", "Destination": "/s", "RW": True},
            {"Type": "bind", "Source": "/", "Destination": "/host", "RW": False},
            {"Type": "bind", "Source": "/srv", "Destination": "/srv", "RW": True},
        ],
        Ports={
            "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}],
            "81/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8081"}],
        },
    )
    findings = assess(attrs)
    messages = [f.message for f in findings]
    assert findings[0].severity is Severity.HIGH
    assert [f.severity for f in findings] == sorted(
        (f.severity for f in findings), key=list(Severity).index
    )
    checks = _checks(findings)
    assert checks["privileged"] is Severity.HIGH
    assert checks["docker-socket"] is Severity.HIGH
    assert checks["network-namespace"] is Severity.HIGH
    assert checks["ipc-namespace"] is Severity.MEDIUM
    assert checks["security-opt"] is Severity.MEDIUM
    assert {"added capability SYS_ADMIN", "added capability CHOWN"} <= set(messages)
    assert "host path / mounted read-only at /host" in messages
    assert "port 80/tcp published on 0.0.0.0:8080" in messages
    assert not any("8081" in m for m in messages)
    assert {"root-user", "writable-rootfs", "no-memory-limit", "no-pids-limit"} <= set(checks)


def _sock(state: str, remote: str, port: int) -> InetSocket:
    owner = Owner(4242, 9, 3, "nc")
    return InetSocket("tcp", "172.17.0.2", 4444, remote, port, state, 1, 0, 0, 0, (owner,))


def test_host_view_findings() -> None:
    processes = [
        {"pid": 1, "cmdline": ["/tmp/sleep", "1000"], "exe": "/tmp/sleep", "exe_deleted": True,
         "exe_sha256": "ab"},
        {"pid": 2, "cmdline": ["/tmp/miner"], "exe": "/tmp/miner", "exe_deleted": False},
        {"pid": 3, "cmdline": ["/bin/sh"], "exe": "/bin/busybox", "exe_deleted": False},
    ]  # fmt: skip
    sockets = [
        _sock("LISTEN", "0.0.0.0", 0),
        _sock("ESTABLISHED", "203.0.113.9", 443),
        _sock("ESTABLISHED", "127.0.0.1", 80),
    ]
    attrs = _attrs(User="1000", ReadonlyRootfs=True, Memory=1, PidsLimit=10)
    findings = assess(attrs, processes, sockets, {"/tmp/miner"})
    by_message = {f.message: f.severity for f in findings}
    assert by_message["pid 1 (/tmp/sleep 1000) runs a deleted binary /tmp/sleep sha256 ab"] is (
        Severity.HIGH
    )
    assert (
        by_message[
            "pid 2 (/tmp/miner) runs /tmp/miner, which is not the image's (added or changed)"
        ]
        is Severity.HIGH
    )
    assert by_message["tcp 172.17.0.2:4444 by nc (pid 4242)"] is Severity.INFO
    assert by_message["tcp 172.17.0.2:4444 -> 203.0.113.9:443 by nc (pid 4242)"] is Severity.MEDIUM
    assert by_message["tcp 172.17.0.2:4444 -> 127.0.0.1:80 by nc (pid 4242)"] is Severity.INFO
    assert len(findings) == 5
