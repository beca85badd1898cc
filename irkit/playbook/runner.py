"""Running a playbook: plan, steps with timeouts, events, interrupt, seal.

The runner emits one event dict per happening (documented in docs/events.md);
the CLI prints them as JSON lines or draws them live. Every run opens a bundle
first (its custody chain starts with the run), records each step, writes its
own event log into the bundle and seals it, also after an abort or a Ctrl-C,
in which case the bundle is marked incomplete.
"""

from __future__ import annotations

import contextlib
import json
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from irkit.bundle.custody import current_actor
from irkit.bundle.model import StepRecord, StepStatus
from irkit.engine.clock import Clock, rfc3339
from irkit.errors import ExitCode, IrkitError
from irkit.jsonable import to_jsonable
from irkit.playbook.actions import (
    ActionContext,
    GuardedSink,
    Registry,
    SealedBundle,
)
from irkit.playbook.model import Playbook, StepSpec
from irkit.playbook.planning import (
    BundleOpener,
    PlannedStep,
    RunInfo,
    RunResult,
    StepOutcome,
    plan,
)
from irkit.steps import StepSkipped

EVENTS_PATH = "run/events.jsonl"
PLAYBOOK_PATH = "run/playbook.yml"
POLL_SECONDS = 0.05


class Runner:
    def __init__(
        self,
        playbook: Playbook,
        inputs: dict[str, Any],
        registry: Registry,
        *,
        clock: Clock,
        emit: Callable[[dict[str, Any]], None],
        open_bundle: BundleOpener,
        grace_seconds: float = 5.0,
        verify_args: str = "",
    ) -> None:
        self.playbook = playbook
        self.inputs = inputs
        self.registry = registry
        self.clock = clock
        self._emit = emit
        self.open_bundle = open_bundle
        self.grace_seconds = grace_seconds
        self.verify_args = verify_args
        self.run_id = uuid.uuid4().hex[:12]
        self.target = str(inputs["target"])
        self.case = str(inputs.get("case") or new_case_id(clock))
        self.log: list[dict[str, Any]] = []
        self._current: tuple[PlannedStep, ActionContext, threading.Thread, Any, float] | None = None
        self.planned = plan(playbook, inputs)
        for step in self.planned:
            registry.get(step.spec.action)

    def emit(self, kind: str, **fields: Any) -> None:
        event = {"event": kind, "time": rfc3339(self.clock.now()), "run_id": self.run_id}
        event.update(to_jsonable(fields))
        self.log.append(event)
        self._emit(event)

    def _start_event(self, dry_run: bool) -> None:
        self.emit(
            "run_start",
            playbook={"name": self.playbook.name, "version": self.playbook.version},
            target=self.target,
            case=self.case,
            inputs=self.inputs,
            dry_run=dry_run,
            steps=len(self.planned),
        )

    def dry_run(self) -> RunResult:
        """Emit the resolved plan; nothing is opened, contained or written."""
        self._start_event(True)
        for step in self.planned:
            self.emit(
                "plan",
                **_step_fields(step.spec),
                params=step.params,
                will_run=step.will_run,
                reason=step.reason,
                on_error=step.spec.on_error,
                timeout=self._timeout(step),
            )
        result = RunResult(self.run_id, "planned", ExitCode.OK, (), None, ())
        self._result_event(result)
        return result

    def run(self) -> RunResult:
        bundle = self.open_bundle(RunInfo(self.run_id, self.playbook, self.target, self.case))
        self._start_event(False)
        sink = bundle.sink
        actor = current_actor()
        sink.custody(
            "run started",
            f"run {self.run_id}: playbook {self.playbook.name} {self.playbook.version} "
            f"against {self.target}, case {self.case}, by {actor.user}@{actor.host}",
        )
        sink.add_bytes(
            PLAYBOOK_PATH, self.playbook.text.encode(), step="run", source=self.playbook.source
        )
        sealed: list[SealedBundle] = []
        shared: dict[str, Any] = {}
        finalizers: dict[str, Callable[[], None]] = {}
        guarded = GuardedSink(sink, threading.Event())
        for target in bundle.targets:
            guarded.add_target(target)
        outcomes: list[StepOutcome] = []
        stopped: str | None = None

        def seal(note: str, complete: bool = True) -> SealedBundle:
            if not sealed:
                self.emit("sealing", note=note, complete=complete)
                data = "".join(json.dumps(e) + "\n" for e in self.log).encode()
                sink.add_bytes(EVENTS_PATH, data, step="run", source=f"irkit run {self.run_id}")
                sealed.append(bundle.seal(complete=complete, note=note))
            return sealed[0]

        try:
            for step in self.planned:
                if stopped is not None or not step.will_run:
                    reason = stopped or step.reason or ""
                    outcomes.append(self._skip(step, reason, sink))
                    continue
                cancel = threading.Event()
                ctx = ActionContext(
                    self.target,
                    self.case,
                    step.spec.name,
                    guarded.for_step(cancel),
                    seal,
                    cancel,
                    shared,
                    finalizers,
                )
                outcome = self._execute(step, ctx)
                outcomes.append(outcome)
                if outcome.status is StepStatus.FAILED and step.spec.on_error == "abort":
                    stopped = f"aborted: {step.spec.label} failed"
        except KeyboardInterrupt:
            stopped = "interrupted"
            outcomes.extend(self._interrupted(outcomes, sink))
        with _ignoring_interrupts():
            self._finalize(finalizers)
            status = _status(stopped, outcomes)
            incomplete = status in ("aborted", "interrupted")
            note = f"{self.playbook.name}: {status}"
            try:
                bundle_result: SealedBundle | None = seal(note, complete=not incomplete)
            except IrkitError as e:
                self.emit("error", message=f"sealing failed: {e.message}")
                bundle_result = None
            result = RunResult(
                self.run_id,
                status,
                _exit_code(status, bundle_result),
                tuple(outcomes),
                bundle_result,
                self._containment(outcomes),
            )
            self._result_event(result)
        return result

    def _finalize(self, finalizers: dict[str, Callable[[], None]]) -> None:
        """What steps left running (a capture never stopped) is ended and kept."""
        for name in list(finalizers):
            try:
                finalizers.pop(name)()
            except IrkitError as e:
                self.emit("cleanup", name=name, status=StepStatus.FAILED, error=e.message)
            else:
                self.emit("cleanup", name=name, status=StepStatus.OK, error=None)

    def _timeout(self, step: PlannedStep) -> float:
        return step.spec.timeout or self.registry.get(step.spec.action).default_timeout

    def _skip(self, step: PlannedStep, reason: str, sink: Any) -> StepOutcome:
        now = self.clock.now()
        sink.record_step(StepRecord(_manifest_name(step), StepStatus.SKIPPED, now, now, reason))
        outcome = StepOutcome(
            step.spec.index, step.spec.name, step.spec.action, StepStatus.SKIPPED, 0.0, reason
        )
        self._end_event(outcome)
        return outcome

    def _execute(self, step: PlannedStep, ctx: ActionContext) -> StepOutcome:
        action = self.registry.get(step.spec.action)
        timeout = self._timeout(step)
        self.emit("step_start", **_step_fields(step.spec), params=step.params, timeout=timeout)
        started, t0 = self.clock.now(), self.clock.monotonic()
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["detail"] = action.run(ctx, step.params) or {}
            except StepSkipped as e:
                box["skipped"] = e.message
            except IrkitError as e:
                box["error"] = e.message
            except Exception as e:
                box["error"] = f"internal error: {type(e).__name__}: {e}"

        worker = threading.Thread(target=work, name=f"step-{step.spec.index}", daemon=True)
        self._current = (step, ctx, worker, started, t0)
        worker.start()
        while worker.is_alive() and self.clock.monotonic() - t0 < timeout:
            worker.join(POLL_SECONDS)
        if worker.is_alive():
            ctx.cancel.set()
            worker.join(self.grace_seconds)
            box = {"error": f"timed out after {timeout:g} s"}
        self._current = None
        if "skipped" in box:
            status, error = StepStatus.SKIPPED, box["skipped"]
        elif "error" in box:
            status, error = StepStatus.FAILED, box["error"]
        else:
            status, error = StepStatus.OK, None
        return self._finish(step, status, error, box.get("detail", {}), started, t0, ctx)

    def _finish(
        self,
        step: PlannedStep,
        status: StepStatus,
        error: str | None,
        detail: dict[str, Any],
        started: Any,
        t0: float,
        ctx: ActionContext,
    ) -> StepOutcome:
        ctx.sink.record_step(
            StepRecord(_manifest_name(step), status, started, self.clock.now(), error, detail)
        )
        duration = round(self.clock.monotonic() - t0, 3)
        outcome = StepOutcome(
            step.spec.index, step.spec.name, step.spec.action, status, duration, error, detail
        )
        self._end_event(outcome)
        return outcome

    def _interrupted(self, done: list[StepOutcome], sink: Any) -> Iterator[StepOutcome]:
        """Stop the running step, record it as failed and the rest as skipped."""
        with _ignoring_interrupts():
            finished = {o.index for o in done}
            if self._current is not None:
                step, ctx, worker, started, t0 = self._current
                ctx.cancel.set()
                worker.join(self.grace_seconds)
                finished.add(step.spec.index)
                yield self._finish(step, StepStatus.FAILED, "interrupted", {}, started, t0, ctx)
                self._current = None
            for step in self.planned:
                if step.spec.index not in finished:
                    yield self._skip(step, "interrupted", sink)

    def _containment(self, outcomes: list[StepOutcome]) -> tuple[dict[str, Any], ...]:
        return tuple(
            {"step": o.name, "action": o.action, "detail": o.detail}
            for o in outcomes
            if o.status is StepStatus.OK and self.registry.get(o.action).changes_target
        )

    def _end_event(self, outcome: StepOutcome) -> None:
        self.emit(
            "step_end",
            index=outcome.index,
            name=outcome.name,
            action=outcome.action,
            status=outcome.status,
            duration_s=outcome.duration_s,
            error=outcome.error,
            detail=outcome.detail,
        )

    def _result_event(self, result: RunResult) -> None:
        counts = {s.value: sum(o.status is s for o in result.steps) for s in StepStatus}
        bundle = result.bundle
        self.emit(
            "result",
            ok=result.exit_code == ExitCode.OK,
            status=result.status,
            exit_code=result.exit_code,
            bundle=None
            if bundle is None
            else {"path": str(bundle.path), "sha256": bundle.sha256, "complete": bundle.complete},
            verify_command=None
            if bundle is None
            else verify_command(bundle.path, self.verify_args),
            containment=result.containment,
            release_command=release_command(self.target, self.case) if result.containment else None,
            steps=counts,
        )


def new_case_id(clock: Clock) -> str:
    """A case id for a run given none: sortable, short enough for rule comments."""
    return clock.now().strftime("ir%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:4]


def verify_command(path: Path, args: str = "") -> str:
    """The command that checks the bundle; `args` name the trusted key."""
    return f"irkit bundle verify {path}" + (f" {args}" if args else "")


def release_command(target: str, case: str) -> str:
    return f"irkit run release --target {target} --case {case}"


def _step_fields(spec: StepSpec) -> dict[str, Any]:
    return {"index": spec.index, "name": spec.name, "action": spec.action}


def _status(stopped: str | None, outcomes: list[StepOutcome]) -> str:
    if stopped == "interrupted":
        return "interrupted"
    if stopped is not None:
        return "aborted"
    if any(o.status is StepStatus.FAILED for o in outcomes):
        return "partial"
    return "complete"


def _exit_code(status: str, bundle: SealedBundle | None) -> int:
    if status == "interrupted":
        return ExitCode.INTERRUPTED
    if status == "complete" and bundle is not None:
        return ExitCode.OK
    return ExitCode.PARTIAL


@contextlib.contextmanager
def _ignoring_interrupts() -> Iterator[None]:
    """A second Ctrl-C must not leave a half-written bundle."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _manifest_name(step: PlannedStep) -> str:
    """Playbook steps are named apart from the artifact steps their actions record."""
    return f"playbook:{step.spec.name}"
