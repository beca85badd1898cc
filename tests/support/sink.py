"""A directory-backed `ArtifactSink` for tests: members become files, records stay in lists."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from irkit.bundle.model import ArtifactRecord, StepRecord, TargetInfo


class DirectorySink:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.artifacts: dict[str, ArtifactRecord] = {}
        self.steps: list[StepRecord] = []
        self.targets: list[TargetInfo] = []
        self.custody_events: list[tuple[str, str]] = []

    def add_stream(
        self, path: str, chunks: Iterable[bytes], *, step: str, source: str
    ) -> ArtifactRecord:
        if path in self.artifacts or path.startswith("/") or ".." in path.split("/"):
            raise ValueError(f"bad or duplicate member: {path}")
        dest = self.root / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with open(dest, "wb") as handle:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                handle.write(chunk)
        record = ArtifactRecord(
            path, size, digest.hexdigest(), step, source, datetime.now(timezone.utc)
        )
        self.artifacts[path] = record
        return record

    def add_bytes(self, path: str, data: bytes, *, step: str, source: str) -> ArtifactRecord:
        return self.add_stream(path, [data], step=step, source=source)

    def add_json(self, path: str, document: Any, *, step: str, source: str) -> ArtifactRecord:
        data = json.dumps(document, indent=2, sort_keys=True).encode()
        return self.add_bytes(path, data, step=step, source=source)

    def record_step(self, step: StepRecord) -> None:
        self.steps.append(step)

    def add_target(self, target: TargetInfo) -> None:
        self.targets.append(target)

    def custody(self, action: str, detail: str) -> None:
        self.custody_events.append((action, detail))

    # helpers for assertions
    def read(self, path: str) -> bytes:
        return (self.root / path).read_bytes()

    def json(self, path: str) -> Any:
        return json.loads(self.read(path))

    def step(self, name: str) -> StepRecord:
        return next(s for s in self.steps if s.name == name)
