"""A run's plan and its results: what will run, with which parameters, and what did.

Kept apart from the runner so that openers, the CLI and the demo depend on
these values, not on the machinery that produces them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from irkit.bundle.model import StepStatus
from irkit.playbook import schema, template
from irkit.playbook.actions import EvidenceBundle, SealedBundle
from irkit.playbook.model import Playbook, PlaybookError, StepSpec


@dataclass(frozen=True)
class PlannedStep:
    spec: StepSpec
    params: dict[str, Any]
    will_run: bool
    reason: str | None = None


@dataclass(frozen=True)
class RunInfo:
    """What a bundle opener needs to know about the run."""

    run_id: str
    playbook: Playbook
    target: str
    case: str


BundleOpener = Callable[[RunInfo], EvidenceBundle]


@dataclass(frozen=True)
class StepOutcome:
    index: int
    name: str
    action: str
    status: StepStatus
    duration_s: float
    error: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunResult:
    run_id: str
    status: str
    """complete, partial (some step failed), aborted, interrupted or planned."""
    exit_code: int
    steps: tuple[StepOutcome, ...]
    bundle: SealedBundle | None
    containment: tuple[dict[str, Any], ...]


def plan(playbook: Playbook, inputs: dict[str, Any]) -> list[PlannedStep]:
    """Resolve conditions and parameters; a bad substituted value is exit 2 here."""
    planned, problems = [], []
    for spec in playbook.steps:
        if spec.when is not None and not spec.when.holds(inputs):
            planned.append(PlannedStep(spec, spec.params, False, f"when: {spec.when.text}"))
            continue
        params = {
            k: v for k, v in template.substitute(spec.params, inputs).items() if v is not None
        }
        for problem in schema.validate_params(spec.action, params):
            field_ = ".".join(str(p) for p in problem.path)
            where = f" ({field_})" if field_ else ""
            problems.append(
                f"{playbook.source}:{spec.line}: {spec.label}: {problem.message}{where}"
            )
        planned.append(PlannedStep(spec, params, True))
    if problems:
        raise PlaybookError(problems)
    return planned
