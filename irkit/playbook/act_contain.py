"""contain.isolate, contain.block_ip, contain.release: the containment area as steps.

Each step records what it changed in the custody chain, so the bundle says
which containment was in force while the evidence was taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from irkit import contain
from irkit.contain.state import StateStore
from irkit.engine.host import Host
from irkit.errors import EngineError, IrkitError
from irkit.jsonable import to_jsonable
from irkit.playbook.actions import ActionContext, ActionSpec

TIMEOUT = 120.0


def _addresses(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _failures(result: contain.ContainmentResult) -> list[str]:
    return [
        f"{c.name}: {s.name}: {s.detail}" for c in result.containers for s in c.steps if not s.ok
    ]


def _isolation_detail(result: contain.ContainmentResult) -> dict[str, Any]:
    return {
        "rules_added": result.rules_added,
        "rules_removed": result.rules_removed,
        "containers": to_jsonable(result.containers),
    }


def isolate(host: Host, ctx: ActionContext, params: Mapping[str, Any]) -> dict[str, Any]:
    mode = str(params["mode"])
    result = contain.isolate(host, [ctx.target], modes=[mode], case=ctx.case)
    ctx.sink.custody("contained", f"{ctx.target} isolated ({mode}), case {ctx.case}")
    failures = _failures(result)
    if failures:
        raise EngineError(f"isolate {mode}: " + "; ".join(failures))
    return {"mode": mode, **_isolation_detail(result)}


def block_ip(host: Host, ctx: ActionContext, params: Mapping[str, Any]) -> dict[str, Any]:
    """Block every address; one refused address does not stop the others."""
    direction = str(params.get("direction", "both"))
    blocked: list[str] = []
    errors: list[str] = []
    rules = 0
    for address in _addresses(params["addresses"]):
        try:
            spec = contain.block_spec(address, direction=direction)
            result = contain.block_ip(host, spec, case=ctx.case)
        except IrkitError as e:
            errors.append(f"{address}: {e.message}")
            continue
        blocked.append(result.key)
        rules += result.rules_added
    if blocked:
        ctx.sink.custody("contained", f"blocked {', '.join(blocked)}, case {ctx.case}")
    if errors:
        raise EngineError("block: " + "; ".join(errors))
    return {"blocked": blocked, "rules_added": rules}


def release(host: Host, ctx: ActionContext, params: Mapping[str, Any]) -> dict[str, Any]:
    """Release the target's isolation, the run case's blocks and the listed addresses."""
    detail: dict[str, Any] = {"isolation": None, "unblocked": []}
    errors: list[str] = []
    if params.get("isolation", True):
        try:
            result = contain.release(host, [ctx.target])
        except IrkitError as e:
            if "is not isolated" not in e.message:
                raise
            detail["isolation"] = "not isolated"
        else:
            errors += _failures(result)
            detail["isolation"] = _isolation_detail(result)
    state = StateStore(host.state_dir).load()
    doomed = {k: e.spec for k, e in state.blocks.items() if e.case == ctx.case}
    for address in _addresses(params.get("unblock")):
        spec = contain.block_spec(address)
        doomed.setdefault(
            spec.key, state.blocks[spec.key].spec if spec.key in state.blocks else spec
        )
    for key, spec in doomed.items():
        try:
            contain.unblock_ip(host, spec)
        except IrkitError as e:
            errors.append(f"unblock {key}: {e.message}")
        else:
            detail["unblocked"].append(key)
    ctx.sink.custody("released", f"{ctx.target}: isolation and {len(detail['unblocked'])} blocks")
    if errors:
        raise EngineError("release: " + "; ".join(errors))
    return detail


def specs(host: Host) -> list[ActionSpec]:
    def bind(func: Any) -> Any:
        return lambda ctx, params: func(host, ctx, params)

    return [
        ActionSpec("contain.isolate", bind(isolate), "isolate the container", True, TIMEOUT),
        ActionSpec("contain.block_ip", bind(block_ip), "block addresses", True, TIMEOUT),
        ActionSpec("contain.release", bind(release), "undo containment", False, TIMEOUT),
    ]
