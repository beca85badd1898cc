"""Isolate containers and release them exactly.

Order of work: validate everything (nothing is applied when any input is
bad), record the plan in the state file, apply the firewall for all containers
in one restore call per family, then the Docker modes, then record the outcome.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import docker

from irkit.contain.docker_ops import (
    Attrs,
    apply_modes,
    display_name,
    endpoints,
    firewall_addresses,
    inspect,
    restart_policy,
    undo_modes,
)
from irkit.contain.firewall import Firewall, plan
from irkit.contain.model import ContainerOutcome, ContainmentResult, Step
from irkit.contain.rules import Rule, isolation_comment, isolation_rules
from irkit.contain.spec import Allow, IPAddress, Mode, parse_allow, validate_case, validate_modes
from irkit.contain.state import IsolationEntry, StateStore
from irkit.engine.clock import rfc3339
from irkit.engine.host import Host
from irkit.errors import IrkitError, UsageError

_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_DOCKER_MODES = {Mode.DISCONNECT, Mode.PAUSE, Mode.STOP}


@dataclass(frozen=True)
class _Plan:
    entry: IsolationEntry
    attrs: Attrs
    new: set[Mode]
    addresses: tuple[IPAddress, ...]


def isolate(
    host: Host,
    refs: Sequence[str],
    modes: Iterable[Mode | str] = (Mode.FIREWALL,),
    allow: Sequence[Allow | str] = (),
    case: str | None = None,
    stop_timeout: int = 10,
) -> ContainmentResult:
    """Isolate every container in `refs`; running it twice adds nothing twice."""
    case_id = validate_case(case)
    chosen = validate_modes(modes)
    holes = [a if isinstance(a, Allow) else parse_allow(a) for a in allow]
    if stop_timeout < 0:
        raise UsageError(f"invalid stop timeout: {stop_timeout}", hint="use 0 or more seconds")
    targets = _resolve(host.docker, refs)
    store = StateStore(host.state_dir)
    firewall = Firewall(host.commands)
    now = rfc3339(host.clock.now())
    with store.locked() as state:
        before = dict(state.isolations)
        plans = [
            _plan(attrs, state.isolations.get(cid), chosen, holes, case_id, now)
            for cid, attrs in targets.items()
        ]
        walled = [p.entry for p in plans if Mode.FIREWALL in p.entry.modes]
        families = sorted({r.family for e in walled for r in e.rules})
        rulesets = {fam: firewall.require(fam) for fam in families}
        for p in plans:
            state.isolations[p.entry.container_id] = p.entry
        store.save(state)
        added = 0
        try:
            for fam, ruleset in rulesets.items():
                delete, insert = plan(ruleset, _groups(walled, fam))
                firewall.apply(fam, delete, insert)
                added += len(insert) - len(delete)
        except IrkitError:
            _undo_new_rules(firewall, [p.entry for p in plans if p.new & {Mode.FIREWALL}])
            state.isolations = before
            store.save(state)
            raise
        fresh = [a for p in plans for a in p.addresses]
        flushed = firewall.flush_conntrack(fresh) if fresh else False
        outcomes: list[ContainerOutcome] = []
        for p in plans:
            steps = [Step("firewall", True, f"{len(p.entry.rules)} rules")] if p.entry.rules else []
            if p.new & _DOCKER_MODES:
                steps += apply_modes(host.docker, p.entry, p.attrs, p.new, stop_timeout)
            errors = tuple(s.detail for s in steps if not s.ok)
            entry = replace(p.entry, phase="partial" if errors else "applied", errors=errors)
            state.isolations[entry.container_id] = entry
            outcomes.append(_outcome(entry, steps))
        store.save(state)
        store.audit([_audit("isolate", now, o) for o in outcomes])
    return ContainmentResult(
        "isolate", tuple(outcomes), rules_added=added, conntrack_flushed=flushed
    )


def release(host: Host, refs: Sequence[str]) -> ContainmentResult:
    """Undo what isolate did; entries whose every step worked leave the state."""
    store = StateStore(host.state_dir)
    firewall = Firewall(host.commands)
    now = rfc3339(host.clock.now())
    with store.locked() as state:
        entries = _find_entries(host, state.isolations, refs)
        for entry in entries:
            state.isolations[entry.container_id] = replace(entry, phase="releasing")
        store.save(state)
        steps: dict[str, list[Step]] = {e.container_id: [] for e in entries}
        for entry in entries:
            if set(entry.modes) & _DOCKER_MODES:
                steps[entry.container_id] += undo_modes(host.docker, entry)
        removed = _remove_rules(firewall, entries, steps)
        outcomes: list[ContainerOutcome] = []
        for entry in entries:
            errors = tuple(s.detail for s in steps[entry.container_id] if not s.ok)
            if errors:
                state.isolations[entry.container_id] = replace(
                    entry, phase="release-failed", errors=errors
                )
            else:
                del state.isolations[entry.container_id]
            outcomes.append(_outcome(entry, steps[entry.container_id], rules=False))
        store.save(state)
        store.audit([_audit("release", now, o) for o in outcomes])
    return ContainmentResult("release", tuple(outcomes), rules_removed=removed)


def _resolve(client: docker.DockerClient, refs: Sequence[str]) -> dict[str, Attrs]:
    if not refs:
        raise UsageError("name at least one container")
    for ref in refs:
        _check_ref(ref)
    # Inspections wait on the engine, not on us: run a few at once for long lists.
    with ThreadPoolExecutor(max_workers=min(8, len(refs))) as pool:
        found = list(pool.map(lambda ref: inspect(client, ref), refs))
    targets: dict[str, Attrs] = {}
    for attrs in found:
        targets.setdefault(attrs["Id"], attrs)
    return targets


def _check_ref(ref: str) -> None:
    if not _REF.fullmatch(ref.lstrip("/")):
        raise UsageError(f"invalid container name or id: {ref!r}")


def _plan(
    attrs: Attrs,
    existing: IsolationEntry | None,
    chosen: tuple[Mode, ...],
    holes: Sequence[Allow],
    case: str,
    now: str,
) -> _Plan:
    cid = attrs["Id"]
    name = display_name(attrs)
    if existing is not None and existing.case != case:
        raise UsageError(
            f"container {name} is already isolated under case {existing.case}",
            hint=f"release it first, or pass --case {existing.case}",
        )
    have = set(existing.modes) if existing else set()
    new = set(chosen) - have
    if {Mode.PAUSE, Mode.STOP} <= have | new:
        raise UsageError(f"container {name}: modes pause and stop exclude each other")
    base = existing or IsolationEntry(
        cid, name, case, (), now, "applying", allow=tuple(str(h) for h in holes)
    )
    addresses: tuple[IPAddress, ...] = ()
    rules = base.rules
    if Mode.FIREWALL in new:
        addresses = tuple(firewall_addresses(attrs))
        rules = tuple(isolation_rules(addresses, holes, isolation_comment(case, cid)))
    entry = replace(
        base,
        modes=tuple(m for m in Mode if m in have | new),
        phase="applying",
        rules=rules,
        errors=(),
    )
    if Mode.DISCONNECT in new:
        entry = replace(entry, endpoints=endpoints(attrs))
    if new & {Mode.PAUSE, Mode.STOP}:
        state = attrs.get("State") or {}
        entry = replace(
            entry,
            restart_policy=entry.restart_policy or restart_policy(attrs),
            was_paused=bool(state.get("Paused")),
            was_running=bool(state.get("Running")),
        )
    return _Plan(entry, attrs, new, addresses)


def _groups(entries: Sequence[IsolationEntry], family: int) -> dict[str, list[Rule]]:
    return {
        isolation_comment(e.case, e.container_id): [r for r in e.rules if r.family == family]
        for e in entries
    }


def _undo_new_rules(firewall: Firewall, entries: Sequence[IsolationEntry]) -> None:
    """After a failed restore of one family, take back what another family got."""
    comments = {isolation_comment(e.case, e.container_id) for e in entries}
    for fam in sorted({r.family for e in entries for r in e.rules}):
        ruleset = firewall.dump(fam)
        if ruleset is not None:
            firewall.apply(fam, [w for _, w in ruleset.with_comment(comments)], [])


def _remove_rules(
    firewall: Firewall, entries: Sequence[IsolationEntry], steps: dict[str, list[Step]]
) -> int:
    """Delete every rule carrying these entries' comments, one restore per family."""
    removed = 0
    for fam in sorted({r.family for e in entries for r in e.rules}):
        mine = [e for e in entries if any(r.family == fam for r in e.rules)]
        comments = {isolation_comment(e.case, e.container_id) for e in mine}
        ruleset = firewall.dump(fam)
        try:
            if ruleset is None:
                raise UsageError(f"cannot read the IPv{fam} firewall to remove rules")
            doomed = ruleset.with_comment(comments)
            firewall.apply(fam, [w for _, w in doomed], [])
        except IrkitError as e:
            for entry in mine:
                steps[entry.container_id].append(Step(f"firewall IPv{fam}", False, e.message))
            continue
        removed += len(doomed)
        for entry in mine:
            comment = isolation_comment(entry.case, entry.container_id)
            count = sum(1 for r, _ in doomed if r.comment == comment)
            steps[entry.container_id].append(Step(f"firewall IPv{fam}", True, f"{count} removed"))
    return removed


def _find_entries(
    host: Host, isolations: dict[str, IsolationEntry], refs: Sequence[str]
) -> list[IsolationEntry]:
    if not refs:
        raise UsageError("name at least one container")
    found: dict[str, IsolationEntry] = {}
    for ref in refs:
        _check_ref(ref)
        name = ref.lstrip("/")
        match = [
            e for e in isolations.values() if e.name == name or e.container_id.startswith(name)
        ]
        if not match:
            cid = inspect(host.docker, ref)["Id"]
            match = [isolations[cid]] if cid in isolations else []
        if len(match) != 1:
            raise UsageError(
                f"{ref} is not isolated by irkit" if not match else f"{ref} is ambiguous",
                hint="irkit status lists what is isolated",
            )
        found.setdefault(match[0].container_id, match[0])
    return list(found.values())


def _outcome(entry: IsolationEntry, steps: list[Step], *, rules: bool = True) -> ContainerOutcome:
    return ContainerOutcome(
        entry.container_id,
        entry.name,
        entry.case,
        entry.modes,
        tuple(steps),
        tuple(r.describe() for r in entry.rules) if rules else (),
    )


def _audit(action: str, now: str, outcome: ContainerOutcome) -> dict[str, object]:
    return {
        "time": now,
        "action": action,
        "case": outcome.case,
        "container": outcome.container_id,
        "name": outcome.name,
        "modes": [m.value for m in outcome.modes],
        "ok": outcome.ok,
        "failed": [f"{s.name}: {s.detail}" for s in outcome.steps if not s.ok],
    }
