"""An in-memory evidence bundle for playbook unit tests (no zip, no signature)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from irkit.bundle.model import ArtifactRecord, StepRecord, TargetInfo
from irkit.playbook import RunInfo, SealedBundle


class MemoryBundle:
    def __init__(self, info: RunInfo | None = None) -> None:
        self.info = info
        self.members: dict[str, bytes] = {}
        self.steps: list[StepRecord] = []
        self.custody_log: list[tuple[str, str]] = []
        self.sealed: SealedBundle | None = None
        self.seal_note = ""
        self.targets: tuple[TargetInfo, ...] = (
            TargetInfo("c0ffee", info.target if info else "web", "victim:1", None),
        )
        self.added_targets: list[TargetInfo] = []

    @property
    def sink(self) -> MemoryBundle:
        return self

    def add_stream(
        self, path: str, chunks: Iterable[bytes], *, step: str, source: str
    ) -> ArtifactRecord:
        return self.add_bytes(path, b"".join(chunks), step=step, source=source)

    def add_bytes(self, path: str, data: bytes, *, step: str, source: str) -> ArtifactRecord:
        assert self.sealed is None, "write after seal"
        self.members[path] = data
        digest = hashlib.sha256(data).hexdigest()
        return ArtifactRecord(path, len(data), digest, step, source, datetime.now(timezone.utc))

    def add_json(self, path: str, document: Any, *, step: str, source: str) -> ArtifactRecord:
        return self.add_bytes(path, json.dumps(document).encode(), step=step, source=source)

    def record_step(self, step: StepRecord) -> None:
        self.steps.append(step)

    def add_target(self, target: TargetInfo) -> None:
        self.added_targets.append(target)

    def custody(self, action: str, detail: str) -> None:
        self.custody_log.append((action, detail))

    def seal(self, *, complete: bool, note: str) -> SealedBundle:
        assert self.sealed is None, "sealed twice"
        digest = hashlib.sha256(repr(sorted(self.members.items())).encode()).hexdigest()
        self.sealed = SealedBundle(Path("/evidence/memory.zip"), digest, complete)
        self.seal_note = note
        return self.sealed
