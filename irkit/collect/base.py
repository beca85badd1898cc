"""The step interface every artifact implements, and the registry of artifacts.

An artifact is a named function that writes evidence through an
`ArtifactSink` and returns a small detail dict for the manifest; it raises an
`IrkitError` (failed) or `StepSkipped` (skipped, with the reason) and never
touches the container's state. Other areas (packet capture) add theirs with
`register()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from docker.models.containers import Container

from irkit.bundle.model import ArtifactSink, StepRecord
from irkit.capture.model import CaptureOptions
from irkit.engine.host import Host
from irkit.engine.procfs import ProcFS
from irkit.errors import UsageError

GIB = 1 << 30
MIB = 1 << 20
DEFAULT_EXPORT_LIMIT = 2 * GIB
DEFAULT_DIFF_LIMIT = 256 * MIB
DEFAULT_PCAP_SECONDS = 10.0
PCAP = "pcap"
LIVE_STATES = ("running", "paused")

Detail = dict[str, Any] | None


@dataclass(frozen=True)
class CollectOptions:
    """Knobs of one collection. `export_limit` applies only when export was not
    asked for by name; `extra` carries options of add-on artifacts. The packet
    capture (`pcap`) runs around the whole collection, at least `pcap_seconds`."""

    since: datetime | None = None
    until: datetime | None = None
    export_limit: int = DEFAULT_EXPORT_LIMIT
    diff_limit: int = DEFAULT_DIFF_LIMIT
    pcap_seconds: float = DEFAULT_PCAP_SECONDS
    capture: CaptureOptions = field(default_factory=CaptureOptions)
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProgressEvent:
    """`start` and `done` per step, `bytes` while a step streams."""

    kind: str
    step: str
    bytes: int = 0
    record: StepRecord | None = None


@dataclass
class Target:
    """One container being collected; `folder` is its sanitised, unique folder."""

    container: Container
    folder: str

    @property
    def attrs(self) -> dict[str, Any]:
        return self.container.attrs

    @property
    def id(self) -> str:
        return str(self.attrs["Id"])

    @property
    def name(self) -> str:
        return str(self.attrs.get("Name", "")).lstrip("/") or self.id[:12]

    @property
    def status(self) -> str:
        return str(self.attrs.get("State", {}).get("Status", "unknown"))

    @property
    def init_pid(self) -> int | None:
        """Host pid of the container's first process, when it is alive."""
        pid = int(self.attrs.get("State", {}).get("Pid") or 0)
        return pid if pid > 0 and self.status in LIVE_STATES else None

    def path(self, *parts: str) -> str:
        return "/".join((self.folder, *parts))


@dataclass
class CollectContext:
    host: Host
    options: CollectOptions
    procfs: ProcFS
    explicit: frozenset[str] = frozenset()
    on_event: Callable[[ProgressEvent], None] | None = None
    step: str = ""
    engine_lost: str | None = None  # why the engine stopped answering, once it has

    def counting(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Pass chunks through, reporting bytes so far for the progress display."""
        total = 0
        for chunk in chunks:
            total += len(chunk)
            if self.on_event is not None:
                self.on_event(ProgressEvent("bytes", self.step, total))
            yield chunk


ContainerCollector = Callable[[CollectContext, Target, ArtifactSink], Detail]
HostCollector = Callable[[CollectContext, ArtifactSink], Detail]


@dataclass(frozen=True)
class Artifact:
    """A kind of evidence. Container-scoped artifacts run once per container,
    host-scoped ones once per collection. Lower `order` runs first (most volatile)."""

    name: str
    summary: str
    order: int
    default: bool = True
    per_container: ContainerCollector | None = None
    per_host: HostCollector | None = None


REGISTRY: dict[str, Artifact] = {}


def register(artifact: Artifact) -> Artifact:
    if (artifact.per_container is None) == (artifact.per_host is None):
        raise ValueError(f"artifact {artifact.name}: give exactly one collector")
    REGISTRY[artifact.name] = artifact
    return artifact


def select(names: Iterable[str] | None) -> list[Artifact]:
    """The artifacts to run, in order; None means the defaults."""
    if names is None:
        chosen = [a for a in REGISTRY.values() if a.default]
    else:
        wanted = list(dict.fromkeys(n.strip() for n in names if n.strip() and n.strip() != PCAP))
        unknown = [n for n in wanted if n not in REGISTRY]
        if unknown:
            raise UsageError(
                f"unknown artifact: {', '.join(unknown)}",
                hint=f"choose from: {', '.join(sorted([*REGISTRY, PCAP]))}",
            )
        chosen = [REGISTRY[n] for n in wanted]
    return sorted(chosen, key=lambda a: a.order)
