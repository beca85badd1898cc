"""Results of isolate and release: frozen values a CLI or a playbook reads."""

from __future__ import annotations

from dataclasses import dataclass

from irkit.contain.spec import Mode


@dataclass(frozen=True)
class Step:
    """One thing done (or not) to one target; a failure is a value, not a crash."""

    name: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class ContainerOutcome:
    container_id: str
    name: str
    case: str
    modes: tuple[Mode, ...]
    steps: tuple[Step, ...]
    rules: tuple[str, ...] = ()  # the rules in force afterwards, as iptables commands

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps)


@dataclass(frozen=True)
class ContainmentResult:
    """What `isolate` or `release` did, container by container."""

    action: str  # isolate | release
    containers: tuple[ContainerOutcome, ...]
    rules_added: int = 0
    rules_removed: int = 0
    conntrack_flushed: bool = False

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.containers)
