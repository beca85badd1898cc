"""Containment: isolate containers, block addresses, release exactly, report drift.

The public API (used by the CLI and the playbook engine):

    isolate(host, refs, modes=(Mode.FIREWALL,), allow=(), case=None, stop_timeout=10)
        -> ContainmentResult
    release(host, refs) -> ContainmentResult
    block_ip(host, spec, case=None, force=False) -> BlockResult
    unblock_ip(host, spec, case=None) -> BlockResult
    status(host) -> StatusReport

`spec` is a `BlockSpec` from `block_spec(address, port, proto, direction)` or an
address string. Bad input raises `UsageError` before anything is applied.

Names load on first use, so `irkit isolate` pays only for the isolate path.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from irkit.contain.block import BlockResult, block_ip, unblock_ip
    from irkit.contain.isolation import isolate, release
    from irkit.contain.model import ContainerOutcome, ContainmentResult, Step
    from irkit.contain.report import (
        BlockStatus,
        Drift,
        IsolationStatus,
        StatusReport,
        status,
    )
    from irkit.contain.spec import Allow, BlockSpec, Direction, Mode, block_spec, parse_allow

_WHERE = {
    "block": ("BlockResult", "block_ip", "unblock_ip"),
    "isolation": ("isolate", "release"),
    "model": ("ContainerOutcome", "ContainmentResult", "Step"),
    "spec": ("Allow", "BlockSpec", "Direction", "Mode", "block_spec", "parse_allow"),
    "report": ("BlockStatus", "Drift", "IsolationStatus", "StatusReport", "status"),
}
_MODULE = {name: module for module, names in _WHERE.items() for name in names}

__all__ = [
    "Allow",
    "BlockResult",
    "BlockSpec",
    "BlockStatus",
    "ContainerOutcome",
    "ContainmentResult",
    "Direction",
    "Drift",
    "IsolationStatus",
    "Mode",
    "StatusReport",
    "Step",
    "block_ip",
    "block_spec",
    "isolate",
    "parse_allow",
    "release",
    "status",
    "unblock_ip",
]


def __getattr__(name: str) -> Any:
    module = _MODULE.get(name)
    if module is None:
        raise AttributeError(f"module 'irkit.contain' has no attribute {name!r}")
    return getattr(importlib.import_module(f"irkit.contain.{module}"), name)
