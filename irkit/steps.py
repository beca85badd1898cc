"""Running one step so that its failure becomes a recorded value."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from irkit.bundle.model import ArtifactSink, StepRecord, StepStatus
from irkit.engine.clock import Clock
from irkit.errors import IrkitError, SinkBroken


class StepSkipped(IrkitError):
    """Raised inside a step to record it as skipped, with the reason."""


def run_step(
    sink: ArtifactSink,
    clock: Clock,
    name: str,
    action: Callable[[], dict[str, Any] | None],
) -> StepRecord:
    """Run `action`, record ok / failed / skipped with times, and never raise an IrkitError
    but `SinkBroken` (nothing more can be written: the run must stop).

    `action` may return a detail dict for the manifest. Anything else than an
    IrkitError (a bug) still propagates after the step is recorded as failed.
    """
    started = clock.now()
    try:
        detail = action() or {}
    except SinkBroken as e:
        sink.record_step(StepRecord(name, StepStatus.FAILED, started, clock.now(), e.message))
        raise
    except StepSkipped as e:
        record = StepRecord(name, StepStatus.SKIPPED, started, clock.now(), e.message)
    except IrkitError as e:
        record = StepRecord(name, StepStatus.FAILED, started, clock.now(), e.message)
    except Exception as e:
        sink.record_step(
            StepRecord(name, StepStatus.FAILED, started, clock.now(), f"{type(e).__name__}: {e}")
        )
        raise
    else:
        record = StepRecord(name, StepStatus.OK, started, clock.now(), None, detail)
    sink.record_step(record)
    return record
