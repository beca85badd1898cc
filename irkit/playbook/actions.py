"""What a playbook step can do: the action registry and what an action receives.

An action is a plain callable `(ActionContext, params) -> detail dict`. It
raises an `IrkitError` to fail (the runner records it) or `StepSkipped`. Long
actions poll `ctx.cancelled` or sleep with `ctx.wait()` so that a timeout or
Ctrl-C stops them promptly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from irkit.bundle.model import ArtifactRecord, ArtifactSink, StepRecord, TargetInfo
from irkit.errors import Interrupted, UsageError


@dataclass(frozen=True)
class SealedBundle:
    path: Path
    sha256: str
    complete: bool


class EvidenceBundle(Protocol):
    """An open bundle for one run: a sink to write to, sealed exactly once."""

    @property
    def sink(self) -> ArtifactSink: ...

    @property
    def targets(self) -> tuple[TargetInfo, ...]:
        """The containers the run is about, recorded once in the manifest."""
        ...

    def seal(self, *, complete: bool, note: str) -> SealedBundle: ...


@dataclass
class ActionContext:
    """One step's view of the run."""

    target: str
    case: str
    step: str
    sink: ArtifactSink
    seal: Callable[[str], SealedBundle]
    cancel: threading.Event = field(default_factory=threading.Event)
    shared: dict[str, Any] = field(default_factory=dict)
    """State handed from step to step of one run (e.g. a running capture)."""
    finalizers: dict[str, Callable[[], None]] = field(default_factory=dict)
    """Run before sealing when still here (a capture still running after an abort)."""

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def wait(self, seconds: float) -> None:
        """Sleep, but raise `Interrupted` as soon as the step is cancelled."""
        if self.cancel.wait(max(0.0, seconds)):
            raise Interrupted(f"{self.step} stopped")


class GuardedSink:
    """The sink a step writes through: it refuses writes once the step is cancelled
    (a timed-out export stops at its next chunk instead of racing the seal) and
    records each target once however many steps describe it."""

    def __init__(self, sink: ArtifactSink, cancel: threading.Event) -> None:
        self._sink = sink
        self._cancel = cancel
        self._targets: set[str] = set()

    def for_step(self, cancel: threading.Event) -> GuardedSink:
        guarded = GuardedSink(self._sink, cancel)
        guarded._targets = self._targets
        return guarded

    def _check(self) -> None:
        if self._cancel.is_set():
            raise Interrupted("step cancelled")

    def _guard(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self._check()
            yield chunk

    def add_stream(
        self, path: str, chunks: Iterable[bytes], *, step: str, source: str
    ) -> ArtifactRecord:
        self._check()
        return self._sink.add_stream(path, self._guard(chunks), step=step, source=source)

    def add_bytes(self, path: str, data: bytes, *, step: str, source: str) -> ArtifactRecord:
        self._check()
        return self._sink.add_bytes(path, data, step=step, source=source)

    def add_json(self, path: str, document: Any, *, step: str, source: str) -> ArtifactRecord:
        self._check()
        return self._sink.add_json(path, document, step=step, source=source)

    def record_step(self, step: StepRecord) -> None:
        self._sink.record_step(step)

    def add_target(self, target: TargetInfo) -> None:
        if target.container_id not in self._targets:
            self._targets.add(target.container_id)
            self._sink.add_target(target)

    def custody(self, action: str, detail: str) -> None:
        self._sink.custody(action, detail)


ActionFunc = Callable[[ActionContext, Mapping[str, Any]], "dict[str, Any] | None"]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    run: ActionFunc
    summary: str
    changes_target: bool = False
    """Its effect stays after the run (containment), so it is reported."""
    default_timeout: float = 300.0


class Registry:
    """Action names to callables; a playbook can only name what is here."""

    def __init__(self, specs: Iterable[ActionSpec]) -> None:
        self._specs = {s.name: s for s in specs}

    def get(self, name: str) -> ActionSpec:
        try:
            return self._specs[name]
        except KeyError:
            known = ", ".join(sorted(self._specs))
            raise UsageError(f"unknown action '{name}'", hint=f"known: {known}") from None

    def names(self) -> list[str]:
        return sorted(self._specs)

    def replacing(self, *specs: ActionSpec) -> Registry:
        """A copy with some actions replaced (tests use fakes this way)."""
        return Registry([*self._specs.values(), *specs])
