"""What a capture is asked to do and what it produced, as plain values."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from irkit.engine.clock import rfc3339

ROLE_LABEL = "irkit.role"
ROLE_CAPTURE = "capture"
TARGET_LABEL = "irkit.capture.target"
OWNER_LABEL = "irkit.capture.owner"


class Method(str, enum.Enum):
    SIDECAR = "sidecar"
    HOST = "host"


@dataclass(frozen=True)
class CaptureLimits:
    """Stop at the first one reached; None means no such limit."""

    seconds: float | None = None
    max_packets: int | None = None
    max_bytes: int | None = None  # size of the whole pcap file, header included


@dataclass(frozen=True)
class CaptureOptions:
    limits: CaptureLimits = CaptureLimits()
    bpf_filter: str | None = None
    interface: str = "any"
    method: Method | None = None  # None: sidecar if an image is at hand, else host
    image: str | None = None  # None: IRKIT_CAPTURE_IMAGE, then irkit/capture:local
    allow_pull: bool = True


@dataclass(frozen=True)
class TcpdumpCounters:
    """tcpdump's own end-of-run statistics (None when it printed none)."""

    captured: int | None = None
    received_by_filter: int | None = None
    dropped_by_kernel: int | None = None
    dropped_by_interface: int | None = None


@dataclass(frozen=True)
class CaptureResult:
    method: Method
    target_id: str
    target_name: str
    image: str | None
    image_digest: str | None
    interface: str
    bpf_filter: str | None
    limits: CaptureLimits
    started: datetime
    ended: datetime
    stop_reason: str
    packets: int  # records in the pcap
    bytes: int  # size of the pcap file
    counters: TcpdumpCounters
    sha256: str
    path: Path

    def manifest_detail(self) -> dict[str, Any]:
        """The step detail a bundle manifest records for this capture."""
        return {
            "method": self.method.value,
            "target": self.target_id,
            "target_name": self.target_name,
            "image": self.image,
            "image_digest": self.image_digest,
            "interface": self.interface,
            "filter": self.bpf_filter,
            "limits": {
                "seconds": self.limits.seconds,
                "max_packets": self.limits.max_packets,
                "max_bytes": self.limits.max_bytes,
            },
            "start": rfc3339(self.started),
            "end": rfc3339(self.ended),
            "stop_reason": self.stop_reason,
            "packets": self.packets,
            "bytes": self.bytes,
            "tcpdump": {
                "captured": self.counters.captured,
                "received_by_filter": self.counters.received_by_filter,
                "dropped_by_kernel": self.counters.dropped_by_kernel,
                "dropped_by_interface": self.counters.dropped_by_interface,
            },
            "sha256": self.sha256,
        }


# The kernel ring tcpdump reads from: the default 2 MiB drops most of a bulk
# transfer's packets; 16 MiB keeps kernel drops low (see bench/capture.py).
BUFFER_KIB = 16384


def tcpdump_args(options: CaptureOptions) -> list[str]:
    """tcpdump's arguments (without the program): pcap to stdout, flushed per packet."""
    args = ["-i", options.interface, "-U", "--immediate-mode", "-B", str(BUFFER_KIB), "-w", "-"]
    if options.limits.max_packets is not None:
        args += ["-c", str(options.limits.max_packets)]
    if options.bpf_filter:
        # "--" ends tcpdump's options: a filter such as "-w/etc/x" is an expression
        # (refused by tcpdump's parser), never an option that writes a host file.
        args += ["--", options.bpf_filter]
    return args


_COUNTERS = {
    "captured": re.compile(r"^(\d+) packets? captured", re.M),
    "received_by_filter": re.compile(r"^(\d+) packets? received by filter", re.M),
    "dropped_by_kernel": re.compile(r"^(\d+) packets? dropped by kernel", re.M),
    "dropped_by_interface": re.compile(r"^(\d+) packets? dropped by interface", re.M),
}


def parse_counters(stderr: str) -> TcpdumpCounters:
    found: dict[str, int | None] = {}
    for name, pattern in _COUNTERS.items():
        match = pattern.search(stderr)
        found[name] = int(match.group(1)) if match else None
    return TcpdumpCounters(**found)


READY_MARK = "listening on "


def tcpdump_error(stderr: str) -> str:
    """tcpdump's complaint: the last 'tcpdump:' line that is not chatter."""
    lines = [
        ln.strip()
        for ln in stderr.splitlines()
        if ln.strip() and "data link type" not in ln and READY_MARK not in ln
    ]
    return lines[-1] if lines else "tcpdump exited without a message"


def is_filter_error(message: str) -> bool:
    return "filter expression" in message or "syntax error" in message
