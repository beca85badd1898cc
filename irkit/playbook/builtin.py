"""The real actions, wired to the containment, collection, capture and bundle areas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from irkit.engine.host import Host
from irkit.playbook import act_capture, act_collect, act_contain, notify
from irkit.playbook.actions import ActionContext, ActionSpec, Registry


def _seal(ctx: ActionContext, params: Mapping[str, Any]) -> dict[str, Any]:
    sealed = ctx.seal(str(params.get("note") or "sealed by playbook"))
    return {"path": str(sealed.path), "sha256": sealed.sha256}


def default_registry(host: Host) -> Registry:
    """Every action a playbook can name, bound to `host`."""
    return Registry(
        [
            ActionSpec("notify.webhook", notify.webhook, "POST a JSON note to a URL", False, 30),
            ActionSpec("notify.syslog", notify.syslog, "send a syslog line", False, 30),
            ActionSpec("bundle.seal", _seal, "seal the bundle (sign, hash)", False, 3600),
            *act_contain.specs(host),
            *act_collect.specs(host),
            *act_capture.specs(host),
        ]
    )
