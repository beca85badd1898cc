"""What is contained now, and where the host no longer matches irkit's state."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from irkit.contain.firewall import Firewall
from irkit.contain.rules import Rule, Ruleset
from irkit.contain.spec import Mode
from irkit.contain.state import IsolationEntry, StateStore
from irkit.engine.docker import engine_errors
from irkit.engine.host import Host
from irkit.errors import IrkitError


@dataclass(frozen=True)
class Drift:
    """A state entry or a rule that no longer matches the host."""

    kind: str  # missing-rule | orphan-rule | container-gone | not-paused | ...
    subject: str
    detail: str


@dataclass(frozen=True)
class IsolationStatus:
    container_id: str
    name: str
    case: str
    modes: tuple[Mode, ...]
    since: str
    phase: str
    allow: tuple[str, ...]
    rules: tuple[str, ...]
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class BlockStatus:
    key: str
    case: str
    since: str
    phase: str
    rules: tuple[str, ...]


@dataclass(frozen=True)
class StatusReport:
    isolations: tuple[IsolationStatus, ...]
    blocks: tuple[BlockStatus, ...]
    drift: tuple[Drift, ...]

    @property
    def clean(self) -> bool:
        return not self.drift


def status(host: Host) -> StatusReport:
    """Every isolation and block in the state, checked against the host."""
    state = StateStore(host.state_dir).load()
    firewall = Firewall(host.commands)
    rulesets = {fam: firewall.dump(fam) for fam in (4, 6)}
    drift: list[Drift] = []
    known: set[str] = set()
    isolations: list[IsolationStatus] = []
    for entry in state.isolations.values():
        subject = f"container {entry.name} ({entry.container_id[:12]})"
        known.update(r.comment for r in entry.rules)
        drift += _rule_drift(subject, entry.rules, rulesets)
        if entry.phase != "applied":
            drift.append(Drift("incomplete", subject, f"state phase is {entry.phase}"))
        drift += _docker_drift(host, subject, entry)
        isolations.append(
            IsolationStatus(
                entry.container_id,
                entry.name,
                entry.case,
                entry.modes,
                entry.started,
                entry.phase,
                entry.allow,
                tuple(r.describe() for r in entry.rules),
                entry.errors,
            )
        )
    blocks: list[BlockStatus] = []
    for key, block in state.blocks.items():
        known.update(r.comment for r in block.rules)
        drift += _rule_drift(f"block {key}", block.rules, rulesets)
        if block.phase != "applied":
            drift.append(Drift("incomplete", f"block {key}", f"state phase is {block.phase}"))
        blocks.append(
            BlockStatus(
                key,
                block.case,
                block.started,
                block.phase,
                tuple(r.describe() for r in block.rules),
            )
        )
    for ruleset in rulesets.values():
        for rule, _ in ruleset.rules if ruleset else ():
            if rule.comment not in known:
                drift.append(
                    Drift("orphan-rule", rule.comment, f"{rule.describe()} has no state entry")
                )
    return StatusReport(tuple(isolations), tuple(blocks), tuple(drift))


def _rule_drift(
    subject: str, rules: tuple[Rule, ...], rulesets: Mapping[int, Ruleset | None]
) -> list[Drift]:
    found: list[Drift] = []
    for rule in rules:
        ruleset = rulesets.get(rule.family)
        if ruleset is None:
            found.append(Drift("unchecked", subject, f"cannot list IPv{rule.family} rules"))
        elif rule not in ruleset.present():
            found.append(Drift("missing-rule", subject, rule.describe()))
    return found


def _docker_drift(host: Host, subject: str, entry: IsolationEntry) -> list[Drift]:
    try:
        with engine_errors(f"inspecting {entry.name}"):
            attrs = host.docker.api.inspect_container(entry.container_id)
    except IrkitError as e:
        kind = "container-gone" if "not found" in e.message else "unchecked"
        return [Drift(kind, subject, e.message)]
    state = attrs.get("State") or {}
    found: list[Drift] = []
    if Mode.PAUSE in entry.modes and not entry.was_paused and not state.get("Paused"):
        found.append(Drift("not-paused", subject, "isolated with pause, but it runs"))
    if Mode.STOP in entry.modes and state.get("Running"):
        found.append(Drift("running", subject, "isolated with stop, but it runs"))
    if Mode.DISCONNECT in entry.modes:
        networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
        for name in networks:
            found.append(Drift("reconnected", subject, f"connected to {name} again"))
    walled_only = Mode.FIREWALL in entry.modes and not {Mode.DISCONNECT, Mode.STOP} & set(
        entry.modes
    )
    if walled_only and not state.get("Running"):
        found.append(Drift("stopped", subject, "not running: its address may be reused"))
    return found
