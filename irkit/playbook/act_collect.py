"""collect.<artifact>: one collection artifact (or the defaults) as a playbook step."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from irkit import collect
from irkit.bundle.model import StepStatus
from irkit.engine.host import Host
from irkit.errors import EngineError
from irkit.playbook.actions import ActionContext, ActionSpec
from irkit.steps import StepSkipped

ALL = "all"
TIMEOUT = 600.0


def run_collect(
    host: Host, artifact: str, ctx: ActionContext, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Collect into the run's bundle; a failed artifact fails the step, all skipped skips it."""
    names = None if artifact == ALL else [artifact]
    result = collect.collect(host, [ctx.target], ctx.sink, artifacts=names)
    failed = result.failed()
    if failed:
        raise EngineError("; ".join(f"{s.name}: {s.error}" for s in failed))
    if result.steps and all(s.status is StepStatus.SKIPPED for s in result.steps):
        raise StepSkipped("; ".join(f"{s.name}: {s.error}" for s in result.steps))
    return {"steps": [s.name for s in result.steps]}


def artifact_names() -> list[str]:
    """`all` and every artifact the collection area has registered."""
    return [ALL, *sorted(collect.REGISTRY)]


def specs(host: Host) -> list[ActionSpec]:
    def bind(artifact: str) -> Any:
        return lambda ctx, params: run_collect(host, artifact, ctx, params)

    found = []
    for name in artifact_names():
        summary = collect.REGISTRY[name].summary if name in collect.REGISTRY else "the defaults"
        found.append(ActionSpec(f"collect.{name}", bind(name), summary, False, TIMEOUT))
    return found
