"""The runner with fake actions: order, when, on_error, timeouts, events, interrupt."""

from __future__ import annotations

import _thread
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from irkit.bundle.model import StepStatus
from irkit.engine.clock import SystemClock
from irkit.errors import EngineError, ExitCode
from irkit.playbook import ActionContext, ActionSpec, Registry, RunInfo, Runner, parse, resolve
from irkit.playbook.runner import EVENTS_PATH, PLAYBOOK_PATH
from irkit.steps import StepSkipped
from tests.support.memory_bundle import MemoryBundle

Action = Callable[[ActionContext, Mapping[str, Any]], "dict[str, Any] | None"]


class Harness:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.events: list[dict[str, Any]] = []
        self.bundle: MemoryBundle | None = None
        self.behaviour: dict[str, Action] = {}

    def action(self, name: str, changes_target: bool = False) -> ActionSpec:
        def run(ctx: ActionContext, params: Mapping[str, Any]) -> dict[str, Any] | None:
            self.calls.append((ctx.step, dict(params)))
            special = self.behaviour.get(ctx.step)
            return special(ctx, params) if special else {"did": ctx.step}

        return ActionSpec(name, run, name, changes_target, default_timeout=5)

    def registry(self) -> Registry:
        names = ["collect.logs", "collect.inspect", "pcap.start", "pcap.stop", "notify.syslog"]
        specs = [self.action(n) for n in names]
        specs += [self.action(n, True) for n in ("contain.isolate", "contain.block_ip")]
        seal = ActionSpec("bundle.seal", lambda ctx, p: {"path": str(ctx.seal("s").path)}, "")
        return Registry([*specs, seal])

    def open(self, info: RunInfo) -> MemoryBundle:
        self.bundle = MemoryBundle(info)
        return self.bundle

    def runner(self, text: str, given: dict[str, Any] | None = None) -> Runner:
        book = parse(text, "t.yml")
        values = resolve(book.inputs, {"target": "web", **(given or {})})
        return Runner(
            book,
            values,
            self.registry(),
            clock=SystemClock(),
            emit=self.events.append,
            open_bundle=self.open,
            grace_seconds=1,
        )

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == kind]


BOOK = """
name: t
inputs:
  attacker: {type: addresses}
  mode: {type: string, default: firewall}
steps:
  - {name: cap, action: pcap.start}
  - {name: isolate, action: contain.isolate, with: {mode: "{{ inputs.mode }}"}}
  - name: block
    action: contain.block_ip
    when: inputs.attacker
    with: {addresses: "{{ inputs.attacker }}"}
  - {name: logs, action: collect.logs}
  - {name: inspect, action: collect.inspect}
  - {name: seal, action: bundle.seal}
"""


@pytest.fixture
def h() -> Harness:
    return Harness()


def test_steps_run_in_order_with_substituted_parameters(h: Harness) -> None:
    result = h.runner(BOOK, {"attacker": "203.0.113.5"}).run()
    assert [c[0] for c in h.calls] == ["cap", "isolate", "block", "logs", "inspect"]
    assert h.calls[2][1] == {"addresses": ["203.0.113.5/32"]}
    assert result.status == "complete" and result.exit_code == ExitCode.OK
    assert result.bundle is not None and result.bundle.complete
    assert [c["step"] for c in result.containment] == ["isolate", "block"]


def test_when_false_skips_the_step(h: Harness) -> None:
    result = h.runner(BOOK).run()
    assert "block" not in [c[0] for c in h.calls]
    skipped = next(o for o in result.steps if o.name == "block")
    assert skipped.status is StepStatus.SKIPPED
    assert skipped.error == "when: inputs.attacker"
    assert result.exit_code == ExitCode.OK


def test_collect_failure_continues_and_is_partial(h: Harness) -> None:
    def fail(ctx: ActionContext, params: Mapping[str, Any]) -> None:
        raise EngineError("logs: engine said no")

    h.behaviour["logs"] = fail
    result = h.runner(BOOK).run()
    assert [c[0] for c in h.calls][-1] == "inspect"
    assert result.status == "partial" and result.exit_code == ExitCode.PARTIAL
    failed = next(o for o in result.steps if o.name == "logs")
    assert failed.error == "logs: engine said no"


def test_containment_failure_aborts_and_seals_incomplete(h: Harness) -> None:
    def fail(ctx: ActionContext, params: Mapping[str, Any]) -> None:
        raise EngineError("iptables refused")

    h.behaviour["isolate"] = fail
    result = h.runner(BOOK).run()
    assert [c[0] for c in h.calls] == ["cap", "isolate"]
    assert result.status == "aborted" and result.exit_code == ExitCode.PARTIAL
    assert [o.status.value for o in result.steps] == [
        "ok", "failed", "skipped", "skipped", "skipped", "skipped"
    ]  # fmt: skip
    assert result.steps[-1].error == "aborted: step 2 (isolate) failed"
    assert result.bundle is not None and not result.bundle.complete
    assert h.bundle is not None and h.bundle.sealed is not None


def test_on_error_can_be_overridden(h: Harness) -> None:
    text = BOOK.replace("action: contain.isolate,", "action: contain.isolate, on_error: continue,")
    h.behaviour["isolate"] = lambda ctx, p: (_ for _ in ()).throw(EngineError("no"))
    result = h.runner(text).run()
    assert result.status == "partial"
    assert "inspect" in [c[0] for c in h.calls]


def test_step_skipped_by_the_action(h: Harness) -> None:
    def skip(ctx: ActionContext, params: Mapping[str, Any]) -> None:
        raise StepSkipped("nothing to capture")

    h.behaviour["cap"] = skip
    result = h.runner(BOOK).run()
    assert result.steps[0].status is StepStatus.SKIPPED
    assert result.exit_code == ExitCode.OK


def test_timeout_stops_a_cooperative_step(h: Harness) -> None:
    stopped: list[bool] = []

    def slow(ctx: ActionContext, params: Mapping[str, Any]) -> None:
        try:
            ctx.wait(30)
        finally:
            stopped.append(ctx.cancelled)

    h.behaviour["logs"] = slow
    text = BOOK.replace("action: collect.logs}", "action: collect.logs, timeout: 0.3}")
    t0 = time.monotonic()
    result = h.runner(text).run()
    assert time.monotonic() - t0 < 5
    logs = next(o for o in result.steps if o.name == "logs")
    assert logs.status is StepStatus.FAILED and logs.error == "timed out after 0.3 s"
    assert stopped == [True]
    assert result.status == "partial"


def test_a_bug_in_an_action_is_a_failed_step(h: Harness) -> None:
    h.behaviour["inspect"] = lambda ctx, p: {}["missing"]
    result = h.runner(BOOK).run()
    inspect = next(o for o in result.steps if o.name == "inspect")
    assert inspect.error == "internal error: KeyError: 'missing'"


def test_events_stream(h: Harness) -> None:
    result = h.runner(BOOK).run()
    kinds = [e["event"] for e in h.events]
    assert kinds[0] == "run_start" and kinds[-1] == "result"
    assert kinds.count("step_start") == 5 and kinds.count("step_end") == 6
    for event in h.events:
        json.dumps(event)
        assert event["run_id"] == result.run_id and event["time"].endswith("Z")
    final = h.of("result")[0]
    assert final["bundle"]["sha256"] == result.bundle.sha256  # type: ignore[union-attr]
    assert final["verify_command"].startswith("irkit bundle verify ")
    case = h.of("run_start")[0]["case"]
    assert final["release_command"] == f"irkit run release --target web --case {case}"
    assert final["steps"] == {"ok": 5, "failed": 0, "skipped": 1}


def test_run_log_and_playbook_go_into_the_bundle(h: Harness) -> None:
    h.runner(BOOK).run()
    assert h.bundle is not None
    logged = [json.loads(line) for line in h.bundle.members[EVENTS_PATH].splitlines()]
    assert logged[0]["event"] == "run_start"
    assert logged[-1]["event"] == "sealing"
    assert b"contain.isolate" in h.bundle.members[PLAYBOOK_PATH]
    assert h.bundle.custody_log[0][0] == "run started"
    assert [s.name for s in h.bundle.steps][:2] == ["playbook:cap", "playbook:isolate"]
    assert [t.name for t in h.bundle.added_targets] == ["web"]


def test_seal_happens_once_even_without_a_seal_step(h: Harness) -> None:
    text = BOOK.replace("  - {name: seal, action: bundle.seal}\n", "")
    result = h.runner(text).run()
    assert result.bundle is not None and result.bundle.complete


def test_dry_run_opens_nothing_and_calls_nothing(h: Harness) -> None:
    result = h.runner(BOOK, {"attacker": "203.0.113.0/24", "mode": "pause"}).dry_run()
    assert h.calls == [] and h.bundle is None
    plan = h.of("plan")
    assert [p["will_run"] for p in plan] == [True] * 6
    assert plan[1]["params"] == {"mode": "pause"}
    assert plan[1]["on_error"] == "abort"
    assert result.exit_code == ExitCode.OK


def test_bad_substituted_value_is_refused_before_anything_runs(h: Harness) -> None:
    with pytest.raises(Exception, match=r"t.yml:\d+: step 2 \(isolate\): unknown mode 'sideways'"):
        h.runner(BOOK, {"mode": "sideways"})
    assert h.calls == []


def test_ctrl_c_stops_the_step_seals_incomplete_and_keeps_containment(h: Harness) -> None:
    stopped: list[bool] = []

    def interrupted(ctx: ActionContext, params: Mapping[str, Any]) -> None:
        _thread.interrupt_main()
        try:
            ctx.wait(30)
        finally:
            stopped.append(ctx.cancelled)

    h.behaviour["logs"] = interrupted
    result = h.runner(BOOK).run()
    assert stopped == [True]
    assert result.status == "interrupted" and result.exit_code == ExitCode.INTERRUPTED
    statuses = {o.name: (o.status.value, o.error) for o in result.steps}
    assert statuses["logs"] == ("failed", "interrupted")
    assert statuses["inspect"] == ("skipped", "interrupted")
    assert result.bundle is not None and not result.bundle.complete
    assert [c["step"] for c in result.containment] == ["isolate"]
    assert h.of("result")[0]["release_command"]


def test_finalizers_left_by_a_step_run_before_sealing(h: Harness) -> None:
    def start(ctx: ActionContext, params: Mapping[str, Any]) -> None:
        ctx.finalizers["capture"] = lambda: (
            ctx.sink.add_bytes("cap.pcap", b"pcap", step="cap", source="test") and None
        )

    def fail(ctx: ActionContext, params: Mapping[str, Any]) -> None:
        raise EngineError("iptables refused")

    h.behaviour["cap"] = start
    h.behaviour["isolate"] = fail
    result = h.runner(BOOK).run()
    assert result.status == "aborted"
    assert h.bundle is not None and h.bundle.members["cap.pcap"] == b"pcap"
    assert h.of("cleanup") == [
        {**h.of("cleanup")[0], "name": "capture", "status": "ok", "error": None}
    ]


def test_a_timed_out_step_cannot_write_any_more(h: Harness) -> None:
    def late_writer(ctx: ActionContext, params: Mapping[str, Any]) -> None:
        def chunks():
            yield b"first"
            ctx.cancel.wait(10)
            yield b"too late"

        ctx.sink.add_stream("export.tar", chunks(), step="logs", source="test")

    h.behaviour["logs"] = late_writer
    text = BOOK.replace("action: collect.logs}", "action: collect.logs, timeout: 0.3}")
    result = h.runner(text).run()
    assert next(o for o in result.steps if o.name == "logs").status is StepStatus.FAILED
    assert h.bundle is not None and "export.tar" not in h.bundle.members


def test_an_unset_optional_input_leaves_the_parameter_out(h: Harness) -> None:
    text = BOOK.replace("    when: inputs.attacker\n", "")
    with pytest.raises(Exception, match="missing required field 'addresses'"):
        h.runner(text)
    h.runner(BOOK.replace('{mode: "{{ inputs.mode }}"}', "{mode: firewall}")).run()
    assert h.calls[1] == ("isolate", {"mode": "firewall"})
