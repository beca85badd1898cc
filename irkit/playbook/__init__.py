"""Playbooks: YAML files that drive containment, collection, capture and sealing.

Public API: `load` / `parse` a playbook, `resolve` its inputs, build a `Runner`
with a `Registry` of actions (`default_registry` for the real ones) and a bundle
opener, then `run()` or `dry_run()`; events go to the `emit` callback.
"""

from __future__ import annotations

from irkit.playbook.actions import ActionContext, ActionSpec, EvidenceBundle, Registry, SealedBundle
from irkit.playbook.inputs import InputSpec, parse_assignments, resolve
from irkit.playbook.model import Playbook, PlaybookError, StepSpec, load, parse, shipped_names
from irkit.playbook.planning import RunInfo, RunResult, StepOutcome, plan
from irkit.playbook.runner import Runner

__all__ = [
    "ActionContext",
    "ActionSpec",
    "EvidenceBundle",
    "InputSpec",
    "Playbook",
    "PlaybookError",
    "Registry",
    "RunInfo",
    "RunResult",
    "Runner",
    "SealedBundle",
    "StepOutcome",
    "StepSpec",
    "load",
    "parse",
    "parse_assignments",
    "plan",
    "resolve",
    "shipped_names",
]
