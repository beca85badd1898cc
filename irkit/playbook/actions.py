"""What a playbook step can do: the action registry and what an action receives.

An action is a plain callable `(ActionContext, params) -> detail dict`. It
raises an `IrkitError` to fail (the runner records it) or `StepSkipped`. Long
actions poll `ctx.cancelled` or sleep with `ctx.wait()` so that a timeout or
Ctrl-C stops them promptly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from irkit.bundle.model import ArtifactSink
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

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def wait(self, seconds: float) -> None:
        """Sleep, but raise `Interrupted` as soon as the step is cancelled."""
        if self.cancel.wait(max(0.0, seconds)):
            raise Interrupted(f"{self.step} stopped")


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
