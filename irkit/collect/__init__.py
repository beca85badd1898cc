"""Evidence collection from a live (or paused, or stopped) container, seen from the host.

Public API:
- `collect(host, refs, sink, artifacts=None, options=None, on_event=None) -> CollectionResult`
- `REGISTRY` / `register(Artifact(...))` to add an artifact (packet capture adds `pcap`)
- `triage(host, ref) -> TriageReport`

Importing this package registers the built-in artifacts.
"""

from __future__ import annotations

from irkit.collect import diff, exec_netstat, export, host, inspect, logs, netstat, processes
from irkit.collect.base import (
    DEFAULT_DIFF_LIMIT,
    DEFAULT_EXPORT_LIMIT,
    DEFAULT_PCAP_SECONDS,
    REGISTRY,
    Artifact,
    CollectContext,
    CollectOptions,
    ProgressEvent,
    Target,
    register,
    select,
)
from irkit.collect.runner import CollectionResult, collect, resolve_targets

BUILTIN_MODULES = (processes, netstat, exec_netstat, host, inspect, logs, diff, export)

__all__ = [
    "BUILTIN_MODULES",
    "DEFAULT_DIFF_LIMIT",
    "DEFAULT_EXPORT_LIMIT",
    "DEFAULT_PCAP_SECONDS",
    "REGISTRY",
    "Artifact",
    "CollectContext",
    "CollectOptions",
    "CollectionResult",
    "ProgressEvent",
    "Target",
    "collect",
    "register",
    "resolve_targets",
    "select",
]
