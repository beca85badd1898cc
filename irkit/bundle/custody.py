"""The chain of custody: JSON lines, each carrying the SHA-256 of the line before.

Editing, dropping or reordering a line breaks the chain at that point, and the
chain is bound to one bundle by its UUID.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import socket
from dataclasses import dataclass
from typing import Any

from irkit.bundle.manifest import utf8_json
from irkit.engine.clock import Clock, rfc3339

MAX_LINES = 100_000


@dataclass(frozen=True)
class Actor:
    """Who handled the evidence, and where."""

    user: str
    host: str


def current_actor() -> Actor:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid:{os.getuid()}"
    return Actor(user=user, host=socket.gethostname())


def line_hash(line: bytes) -> str:
    """The hash the next line carries in `prev`: SHA-256 of the line without its newline."""
    return hashlib.sha256(line.rstrip(b"\n")).hexdigest()


class CustodyChain:
    """Builds custody.jsonl in memory (events are few and small)."""

    def __init__(self, bundle_id: str, actor: Actor, clock: Clock, lines: tuple[bytes, ...] = ()):
        self.bundle_id = bundle_id
        self.actor = actor
        self.clock = clock
        self.lines: list[bytes] = list(lines)

    def append(self, action: str, detail: str, **extra: Any) -> dict[str, Any]:
        event: dict[str, Any] = {
            "seq": len(self.lines),
            "time": rfc3339(self.clock.now()),
            "actor": {"user": self.actor.user, "host": self.actor.host},
            "action": action,
            "detail": detail,
            "bundle_id": self.bundle_id,
            "prev": line_hash(self.lines[-1]) if self.lines else None,
            **extra,
        }
        line = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        self.lines.append(utf8_json(line) + b"\n")
        return event

    def text(self) -> bytes:
        return b"".join(self.lines)


@dataclass(frozen=True)
class ChainCheck:
    events: tuple[dict[str, Any], ...]
    failures: tuple[str, ...]


def check_chain(data: bytes, bundle_id: str | None) -> ChainCheck:
    """Check every link of custody.jsonl; list each break rather than stop at the first."""
    failures: list[str] = []
    events: list[dict[str, Any]] = []
    raw_lines = data.splitlines(keepends=True)
    if not raw_lines:
        return ChainCheck((), ("custody.jsonl is empty",))
    if len(raw_lines) > MAX_LINES:
        return ChainCheck((), (f"custody.jsonl has more than {MAX_LINES} lines",))
    prev: str | None = None
    for number, line in enumerate(raw_lines, start=1):
        try:
            event = json.loads(line)
        except (ValueError, RecursionError):  # bad JSON, bad UTF-8, or nested too deep
            failures.append(f"custody line {number} is not JSON")
            prev = line_hash(line)
            continue
        if not isinstance(event, dict):
            failures.append(f"custody line {number} is not a JSON object")
        else:
            events.append(event)
            if event.get("prev") != prev:
                failures.append(f"custody chain broken at line {number} (prev hash mismatch)")
            if event.get("seq") != number - 1:
                failures.append(f"custody line {number} has sequence {event.get('seq')!r}")
            if bundle_id is not None and event.get("bundle_id") != bundle_id:
                failures.append(f"custody line {number} belongs to another bundle")
        prev = line_hash(line)
    return ChainCheck(tuple(events), tuple(failures))
