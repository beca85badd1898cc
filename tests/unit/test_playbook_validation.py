"""Malformed playbooks are refused with FILE:LINE: step N (name): message."""

from __future__ import annotations

import textwrap

import pytest

from irkit.engine.clock import SystemClock
from irkit.engine.commands import SubprocessRunner
from irkit.engine.host import Host
from irkit.errors import ExitCode
from irkit.playbook import PlaybookError, load, parse, shipped_names
from irkit.playbook.builtin import default_registry
from irkit.playbook.schema import action_names
from irkit.playbook.yamlsafe import MAX_BYTES

GOOD_HEAD = "name: t\nsteps:\n"

CASES = [
    (
        "unknown mode",
        """
        name: contain
        steps:
          - action: collect.inspect
          - action: collect.logs
          - name: isolate
            action: contain.isolate
            with:
              mode: firewal
        """,
        "contain.yml:9: step 3 (isolate): unknown mode 'firewal'; "
        "expected one of firewall, disconnect, pause, stop",
    ),
    (
        "unknown action",
        "name: t\nsteps:\n  - action: contain.isolat\n",
        "contain.yml:3: step 1 (contain.isolat): unknown action 'contain.isolat'; expected one of",
    ),
    ("missing steps", "name: t\n", "contain.yml:1: missing required field 'steps'"),
    ("empty steps", "name: t\nsteps: []\n", "contain.yml:2: steps needs at least 1 item(s)"),
    (
        "unknown step field",
        "name: t\nsteps:\n  - action: bundle.seal\n    retries: 3\n",
        "contain.yml:4: step 1 (bundle.seal): unknown field 'retries'",
    ),
    (
        "missing required parameter",
        "name: t\nsteps:\n  - name: block\n    action: contain.block_ip\n",
        "contain.yml:3: step 1 (block): missing required field 'with'",
    ),
    (
        "bad on_error",
        "name: t\nsteps:\n  - action: collect.logs\n    on_error: ignore\n",
        "contain.yml:4: step 1 (collect.logs): unknown on_error 'ignore'; "
        "expected one of continue, abort",
    ),
    (
        "bad timeout",
        "name: t\nsteps:\n  - action: collect.logs\n    timeout: -3\n",
        "contain.yml:4: step 1 (collect.logs): timeout -3 is not valid",
    ),
    (
        "unknown input in substitution",
        GOOD_HEAD + "  - action: contain.block_ip\n    with:\n      addresses: '{{ inputs.ip }}'\n",
        "contain.yml:4: step 1 (contain.block_ip): unknown input 'ip' in {{ inputs.ip }}",
    ),
    (
        "code in substitution",
        GOOD_HEAD + "  - action: bundle.seal\n    with:\n      note: \"{{ ''.__class__ }}\"\n",
        "contain.yml:4: step 1 (bundle.seal): bad substitution",
    ),
    (
        "bad condition",
        GOOD_HEAD + "  - action: collect.logs\n    when: inputs.x ==\n",
        "contain.yml:4: step 1 (collect.logs): condition ends early",
    ),
    (
        "condition on unknown input",
        GOOD_HEAD + "  - action: collect.logs\n    when: inputs.attacker\n",
        "contain.yml:4: step 1 (collect.logs): unknown input 'attacker' in condition",
    ),
    (
        "bad input type",
        "name: t\ninputs:\n  ip:\n    type: ip\nsteps:\n  - action: collect.logs\n",
        "contain.yml:4: unknown type 'ip'; expected one of string",
    ),
    (
        "bad default",
        "name: t\ninputs:\n  n:\n    type: integer\n    default: many\nsteps:\n"
        "  - action: collect.logs\n",
        "contain.yml:5: input 'n': 'many' is not a whole number",
    ),
    (
        "duplicate step name",
        GOOD_HEAD + "  - {name: a, action: collect.logs}\n  - {name: a, action: collect.inspect}\n",
        "contain.yml:4: step 2 (a): duplicate step name 'a'",
    ),
    (
        "duplicate key",
        "name: t\nname: u\nsteps: []\n",
        "contain.yml:2: duplicate key 'name'",
    ),
    ("not a mapping", "- just\n- a list\n", "contain.yml:1: value must be a mapping"),
    ("invalid yaml", "name: [unclosed\n", "contain.yml:2: invalid YAML"),
    (
        "python tag",
        "name: !!python/object/apply:os.system ['true']\nsteps: []\n",
        "contain.yml:1: tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed",
    ),
    ("alias bomb", "a: &a [x, x]\nb: [*a, *a]\n", "contain.yml:1: anchors and aliases"),
    ("deep nesting", "a: " + "[" * 40 + "]" * 40 + "\n", "contain.yml:1: nesting deeper than"),
    ("empty", "", "contain.yml:1: empty document"),
    (
        "bad name",
        "name: Contain Me\nsteps:\n  - action: collect.logs\n",
        "contain.yml:1: name 'Contain Me' does not match",
    ),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_playbook_is_refused_with_its_line(text: str, expected: str) -> None:
    with pytest.raises(PlaybookError) as caught:
        parse(textwrap.dedent(text), "contain.yml")
    assert caught.value.exit_code == ExitCode.USAGE
    assert any(p.startswith(expected) for p in caught.value.problems), caught.value.problems


def test_every_problem_is_reported_in_line_order() -> None:
    text = GOOD_HEAD + (
        "  - action: contain.isolate\n    with: {mode: nope}\n  - action: collect.bogus\n"
    )
    with pytest.raises(PlaybookError) as caught:
        parse(text, "p.yml")
    assert [p.split(":")[1] for p in caught.value.problems] == ["4", "5"]
    assert "(and 1 more problem(s))" in caught.value.message


def test_huge_document_is_refused() -> None:
    with pytest.raises(PlaybookError, match="larger than"):
        parse("#" * (MAX_BYTES + 1), "big.yml")


def test_many_events_are_refused() -> None:
    text = GOOD_HEAD + "".join("  - action: collect.logs\n" for _ in range(8000))
    with pytest.raises(PlaybookError, match="too large"):
        parse(text, "many.yml")


@pytest.mark.parametrize("name", shipped_names())
def test_shipped_playbooks_are_valid(name: str) -> None:
    book = load(name)
    assert book.name == name
    assert book.description


def test_shipped_playbooks_are_the_issue_list() -> None:
    assert set(shipped_names()) == {
        "contain-and-collect",
        "collect-only",
        "quarantine",
        "block-attacker",
        "release",
    }


def test_defaults_of_on_error_follow_the_action() -> None:
    book = load("contain-and-collect")
    on_error = {s.action: s.on_error for s in book.steps}
    assert on_error["contain.isolate"] == "abort"
    assert on_error["collect.logs"] == "continue"
    assert on_error["pcap.start"] == "continue"


def test_playbook_by_path(tmp_path) -> None:
    path = tmp_path / "mine.yml"
    path.write_text(GOOD_HEAD + "  - action: collect.logs\n    timeout: 2m\n")
    book = load(str(path))
    assert book.steps[0].timeout == 120.0


def test_unknown_name_is_usage_error() -> None:
    with pytest.raises(Exception, match="no playbook named 'nope'"):
        load("nope")


def test_schema_and_registry_name_the_same_actions(tmp_path) -> None:
    host = Host(SubprocessRunner(), SystemClock(), tmp_path)
    assert sorted(action_names()) == default_registry(host).names()
