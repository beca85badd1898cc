"""Block an attacker's address for every container (DOCKER-USER) and the host.

Refuses addresses that would lock the responder out or cut the host off
(everything, loopback, the host's own addresses, the SSH client) unless forced.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

from irkit.contain.firewall import Firewall, plan
from irkit.contain.rules import DOCKER_USER, block_comment, block_rules
from irkit.contain.spec import BlockSpec, IPAddress, block_spec, refusal, validate_case
from irkit.contain.state import BlockEntry, StateStore
from irkit.engine.clock import rfc3339
from irkit.engine.host import Host
from irkit.errors import IrkitError, UsageError


@dataclass(frozen=True)
class BlockResult:
    """What `block_ip` or `unblock_ip` did."""

    action: str  # block | unblock
    key: str
    case: str
    rules: tuple[str, ...]
    rules_added: int = 0
    rules_removed: int = 0
    forced: bool = False
    note: str = ""


def own_addresses() -> list[IPAddress]:
    """Every address on this host's interfaces (Docker bridges included)."""
    import psutil  # only block-ip needs it

    found: list[IPAddress] = []
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            try:
                found.append(ipaddress.ip_address(addr.address.split("%", 1)[0]))
            except ValueError:
                continue  # a MAC address
    return found


def ssh_client(environ: Mapping[str, str] = os.environ) -> IPAddress | None:
    """The address the responder's SSH session comes from, if any."""
    words = (environ.get("SSH_CONNECTION") or "").split()
    try:
        return ipaddress.ip_address(words[0]) if words else None
    except ValueError:
        return None


def _as_spec(spec: BlockSpec | str) -> BlockSpec:
    return spec if isinstance(spec, BlockSpec) else block_spec(spec)


def block_ip(
    host: Host, spec: BlockSpec | str, case: str | None = None, force: bool = False
) -> BlockResult:
    """Drop traffic from and/or to `spec` for all containers and the host."""
    target = _as_spec(spec)
    case_id = validate_case(case)
    if not force:
        reason = refusal(target.network, own_addresses(), ssh_client())
        if reason:
            raise UsageError(reason, hint="pass --force if you really mean it")
    store, firewall, now = _tools(host)
    family = target.network.version
    with store.locked() as state:
        existing = state.blocks.get(target.key)
        if existing is not None and existing.case != case_id:
            raise UsageError(
                f"{target.key} is already blocked under case {existing.case}",
                hint=f"pass --case {existing.case}",
            )
        ruleset = firewall.readable(family)
        comment = block_comment(case_id, target)
        rules = block_rules(target, comment)
        note = ""
        if DOCKER_USER not in ruleset.chains:
            # Docker does not filter this family (e.g. IPv6 off): protect the host alone.
            rules = [r for r in rules if r.chain != DOCKER_USER]
            note = f"no DOCKER-USER chain for IPv{family}: blocked for the host only"
        entry = BlockEntry(
            target, case_id, existing.started if existing else now, "applying", tuple(rules)
        )
        state.blocks[target.key] = entry
        store.save(state)
        delete, insert = plan(ruleset, {comment: rules})
        try:
            firewall.apply(family, delete, insert)
        except IrkitError:
            _restore(state.blocks, target.key, existing)
            store.save(state)
            raise
        state.blocks[target.key] = replace(entry, phase="applied")
        store.save(state)
        store.audit([_audit("block", now, target, case_id, force)])
    return BlockResult(
        "block",
        target.key,
        case_id,
        tuple(r.describe() for r in rules),
        rules_added=len(insert) - len(delete),
        forced=force,
        note=note,
    )


def unblock_ip(host: Host, spec: BlockSpec | str, case: str | None = None) -> BlockResult:
    """Remove a block; with `case`, also rules whose state entry was lost."""
    target = _as_spec(spec)
    case_id = validate_case(case) if case is not None else None
    store, firewall, now = _tools(host)
    family = target.network.version
    with store.locked() as state:
        existing = state.blocks.get(target.key)
        owner = existing.case if existing is not None else case_id
        if owner is None:
            raise UsageError(
                f"{target.key} is not blocked by irkit", hint="irkit status lists the blocks"
            )
        ruleset = firewall.readable(family)
        doomed = ruleset.with_comment([block_comment(owner, target)])
        if existing is None and not doomed:
            raise UsageError(f"{target.key} is not blocked by irkit under case {owner}")
        firewall.apply(family, [w for _, w in doomed], [])
        state.blocks.pop(target.key, None)
        store.save(state)
        store.audit([_audit("unblock", now, target, owner, False)])
    return BlockResult(
        "unblock",
        target.key,
        owner,
        tuple(r.describe() for r, _ in doomed),
        rules_removed=len(doomed),
    )


def _tools(host: Host) -> tuple[StateStore, Firewall, str]:
    return StateStore(host.state_dir), Firewall(host.commands), rfc3339(host.clock.now())


def _restore(blocks: dict[str, BlockEntry], key: str, previous: BlockEntry | None) -> None:
    if previous is None:
        blocks.pop(key, None)
    else:
        blocks[key] = previous


def _audit(action: str, now: str, spec: BlockSpec, case: str, forced: bool) -> dict[str, object]:
    return {"time": now, "action": action, "case": case, "block": spec.key, "forced": forced}
