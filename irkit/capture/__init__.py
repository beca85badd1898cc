"""Packet capture from a container's own network namespace (sidecar or host).

Public API: `start_capture` -> `CaptureSession.stop()` -> `CaptureResult`,
`add_to_bundle`, `build_capture_image`, `find_orphans` / `remove_orphans`.
"""

from irkit.capture.bundle import add_to_bundle
from irkit.capture.image import BuiltImage, build_capture_image
from irkit.capture.model import (
    CaptureLimits,
    CaptureOptions,
    CaptureResult,
    Method,
    TcpdumpCounters,
)
from irkit.capture.session import CaptureSession, Progress, start_capture
from irkit.capture.sidecar import Sidecar, find_orphans, list_sidecars, remove_orphans

__all__ = [
    "BuiltImage",
    "CaptureLimits",
    "CaptureOptions",
    "CaptureResult",
    "CaptureSession",
    "Method",
    "Progress",
    "Sidecar",
    "TcpdumpCounters",
    "add_to_bundle",
    "build_capture_image",
    "find_orphans",
    "list_sidecars",
    "remove_orphans",
    "start_capture",
]
