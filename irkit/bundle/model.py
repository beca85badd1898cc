"""What goes into a bundle's manifest, and the interface producers write through.

Collectors, captures and playbooks depend on `ArtifactSink` only; the real
sink is `irkit.bundle.writer.BundleWriter`, tests may use an in-memory one.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

ARTIFACTS_DIR = "artifacts"


class StepStatus(str, enum.Enum):
    OK = "ok"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ArtifactRecord:
    """One member under artifacts/: where it is, what it is, who made it."""

    path: str
    size: int
    sha256: str
    step: str
    source: str
    collected_at: datetime
    error: str | None = None  # set when the source failed part-way: the bytes kept are partial


@dataclass(frozen=True)
class StepRecord:
    """One step of a collection or playbook run; failures are values, not crashes."""

    name: str
    status: StepStatus
    started: datetime
    ended: datetime
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TargetInfo:
    container_id: str
    name: str
    image: str
    image_digest: str | None


class ArtifactSink(Protocol):
    """Where evidence is written. Paths are relative to artifacts/."""

    def add_stream(
        self, path: str, chunks: Iterable[bytes], *, step: str, source: str
    ) -> ArtifactRecord:
        """Stream `chunks` into one member, hashing in the same pass."""
        ...

    def add_bytes(self, path: str, data: bytes, *, step: str, source: str) -> ArtifactRecord: ...

    def add_json(self, path: str, document: Any, *, step: str, source: str) -> ArtifactRecord: ...

    def record_step(self, step: StepRecord) -> None: ...

    def add_target(self, target: TargetInfo) -> None: ...

    def custody(self, action: str, detail: str) -> None:
        """Append an event to the custody chain (collected, ...)."""
        ...


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_component(name: str, max_length: int = 80) -> str:
    """A name made safe as one path component inside a bundle."""
    cleaned = _UNSAFE.sub("_", name).strip("._") or "unnamed"
    return cleaned[:max_length]
