"""The real actions, wired to the containment, collection, capture and bundle areas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from irkit.engine.host import Host
from irkit.errors import EnvironmentProblem
from irkit.playbook import act_capture, act_collect, notify, schema
from irkit.playbook.actions import (
    ActionContext,
    ActionFunc,
    ActionSpec,
    Registry,
)


def _seal(ctx: ActionContext, params: Mapping[str, Any]) -> dict[str, Any]:
    sealed = ctx.seal(str(params.get("note") or "sealed by playbook"))
    return {"path": str(sealed.path), "sha256": sealed.sha256}


def _pending(area: str) -> ActionFunc:
    def run(ctx: ActionContext, params: Mapping[str, Any]) -> dict[str, Any]:
        raise EnvironmentProblem(f"{ctx.step}: the {area} area is not part of this build")

    return run


def default_registry(host: Host) -> Registry:
    """Every action the schema names, bound to `host`."""
    specs = [
        ActionSpec("notify.webhook", notify.webhook, "POST a JSON note to a URL", False, 30),
        ActionSpec("notify.syslog", notify.syslog, "send a syslog line", False, 30),
        ActionSpec("bundle.seal", _seal, "seal the bundle (sign, hash)", False, 3600),
        *act_capture.specs(host),
        *act_collect.specs(host),
    ]
    names = {s.name for s in specs}
    for name in schema.action_names():
        if name not in names:
            area = name.split(".", 1)[0]
            specs.append(ActionSpec(name, _pending(area), name, area == "contain"))
    return Registry(specs)
