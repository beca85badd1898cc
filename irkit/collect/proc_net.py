"""Parsers for the kernel's socket tables (/proc/PID/net/*) and a netstat-style rendering.

Pure functions over text, so they are tested without a kernel. The kernel
prints each 32-bit address word in host byte order; ports are already numbers.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

INET_TABLES = ("tcp", "tcp6", "udp", "udp6", "raw", "raw6")
UNIX_TABLE = "unix"

TCP_STATES = {
    1: "ESTABLISHED",
    2: "SYN_SENT",
    3: "SYN_RECV",
    4: "FIN_WAIT1",
    5: "FIN_WAIT2",
    6: "TIME_WAIT",
    7: "CLOSE",
    8: "CLOSE_WAIT",
    9: "LAST_ACK",
    10: "LISTEN",
    11: "CLOSING",
    12: "NEW_SYN_RECV",
}
UNIX_TYPES = {1: "STREAM", 2: "DGRAM", 3: "RAW", 4: "RDM", 5: "SEQPACKET"}
UNIX_STATES = {0: "FREE", 1: "UNCONNECTED", 2: "CONNECTING", 3: "CONNECTED", 4: "DISCONNECTING"}
UNIX_ACCEPTING = 0x10000  # __SO_ACCEPTCON: a listening socket


@dataclass(frozen=True)
class Owner:
    """A process holding a socket open: host pid, pid inside the container, fd."""

    pid: int
    ns_pid: int | None
    fd: int
    name: str


@dataclass(frozen=True)
class InetSocket:
    proto: str
    local_address: str
    local_port: int
    remote_address: str
    remote_port: int
    state: str
    inode: int
    uid: int
    send_queue: int
    recv_queue: int
    owners: tuple[Owner, ...] = field(default=())


@dataclass(frozen=True)
class UnixSocket:
    proto: str
    type: str
    state: str
    flags: int
    inode: int
    path: str
    refcount: int
    owners: tuple[Owner, ...] = field(default=())


def decode_address(hex_address: str, byteorder: str = sys.byteorder) -> str:
    """'0100007F' -> '127.0.0.1'; 32 hex digits -> an IPv6 address (mapped IPv4 dotted)."""
    if len(hex_address) not in (8, 32):
        raise ValueError(f"not an address: {hex_address!r}")
    words = [hex_address[i : i + 8] for i in range(0, len(hex_address), 8)]
    raw = b"".join(int(w, 16).to_bytes(4, byteorder) for w in words)  # type: ignore[arg-type]
    if len(raw) == 4:
        return str(ipaddress.IPv4Address(raw))
    address = ipaddress.IPv6Address(raw)
    return f"::ffff:{address.ipv4_mapped}" if address.ipv4_mapped else str(address)


def _endpoint(text: str, byteorder: str) -> tuple[str, int]:
    address, _, port = text.partition(":")
    return decode_address(address, byteorder), int(port, 16)


def _state_name(proto: str, code: int) -> str:
    if proto.startswith("tcp"):
        return TCP_STATES.get(code, f"UNKNOWN({code})")
    if proto.startswith("udp"):
        # 7 (CLOSE) is an unconnected UDP socket; netstat leaves the column blank.
        return "" if code == 7 else TCP_STATES.get(code, str(code))
    return str(code)


def parse_inet(proto: str, text: str, byteorder: str = sys.byteorder) -> list[InetSocket]:
    """Parse /proc/net/{tcp,tcp6,udp,udp6,raw,raw6}; malformed lines are skipped."""
    sockets: list[InetSocket] = []
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 10:
            continue
        try:
            local_address, local_port = _endpoint(fields[1], byteorder)
            remote_address, remote_port = _endpoint(fields[2], byteorder)
            tx_queue, _, rx_queue = fields[4].partition(":")
            sockets.append(
                InetSocket(
                    proto=proto,
                    local_address=local_address,
                    local_port=local_port,
                    remote_address=remote_address,
                    remote_port=remote_port,
                    state=_state_name(proto, int(fields[3], 16)),
                    inode=int(fields[9]),
                    uid=int(fields[7]),
                    send_queue=int(tx_queue, 16),
                    recv_queue=int(rx_queue, 16),
                )
            )
        except ValueError:
            continue
    return sockets


def parse_unix(text: str) -> list[UnixSocket]:
    """Parse /proc/net/unix; a path may hold spaces, an abstract name starts with '@'."""
    sockets: list[UnixSocket] = []
    for line in text.splitlines()[1:]:
        fields = line.split(maxsplit=7)
        if len(fields) < 7:
            continue
        try:
            flags = int(fields[3], 16)
            sockets.append(
                UnixSocket(
                    proto="unix",
                    type=UNIX_TYPES.get(int(fields[4], 16), fields[4]),
                    state=UNIX_STATES.get(int(fields[5], 16), fields[5]),
                    flags=flags,
                    inode=int(fields[6]),
                    path=fields[7] if len(fields) > 7 else "",
                    refcount=int(fields[1], 16),
                )
            )
        except ValueError:
            continue
    return sockets


def attach_owners(
    sockets: Sequence[InetSocket | UnixSocket], owners: Mapping[int, Sequence[Owner]]
) -> list[InetSocket | UnixSocket]:
    """Each socket with the processes that hold its inode (from /proc/*/fd)."""
    return [replace(s, owners=tuple(owners.get(s.inode, ()))) for s in sockets]


def as_dict(sock: InetSocket | UnixSocket) -> dict[str, Any]:
    """Plain JSON types; several times faster than `dataclasses.asdict` for 1,000s of sockets."""
    return {**vars(sock), "owners": [vars(o) for o in sock.owners]}


def _hostport(address: str, port: int) -> str:
    """netstat's form: '0.0.0.0:*', ':::8080', '10.0.0.2:4444'."""
    return f"{address}:{port or '*'}"


def _owner_text(owners: Iterable[Owner]) -> str:
    first = next(iter(owners), None)
    return f"{first.pid}/{first.name}" if first else "-"


def render_netstat(sockets: Iterable[InetSocket | UnixSocket]) -> str:
    """A `netstat -anp`-style text (host pids in the PID column)."""
    inet = [s for s in sockets if isinstance(s, InetSocket)]
    unix = [s for s in sockets if isinstance(s, UnixSocket)]
    lines = [
        "Active Internet connections (servers and established)",
        f"{'Proto':<5} {'Recv-Q':>6} {'Send-Q':>6} {'Local Address':<23} "
        f"{'Foreign Address':<23} {'State':<11} PID/Program name",
    ]
    for s in inet:
        local = _hostport(s.local_address, s.local_port)
        remote = _hostport(s.remote_address, s.remote_port)
        lines.append(
            f"{s.proto:<5} {s.recv_queue:>6} {s.send_queue:>6} {local:<23} {remote:<23} "
            f"{s.state:<11} {_owner_text(s.owners)}"
        )
    lines += [
        "Active UNIX domain sockets (servers and established)",
        f"{'Proto':<5} {'RefCnt':<6} {'Flags':<11} {'Type':<10} {'State':<13} "
        f"{'I-Node':<8} {'PID/Program name':<20} Path",
    ]
    for u in unix:
        flags = "[ ACC ]" if u.flags & UNIX_ACCEPTING else "[ ]"
        state = "LISTENING" if u.flags & UNIX_ACCEPTING else u.state
        lines.append(
            f"{u.proto:<5} {u.refcount:<6} {flags:<11} {u.type:<10} {state:<13} "
            f"{u.inode:<8} {_owner_text(u.owners):<20} {u.path}"
        )
    return "\n".join(lines) + "\n"
