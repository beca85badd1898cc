"""Fuzzing the playbook loader: malformed YAML, alias bombs, deep nesting, huge
documents, wrong types, tags that would run code.

Every case ends in a `Playbook` or a `PlaybookError` (exit 2 from
`irkit playbook validate`, one message per problem, no traceback), fast, and
nothing is ever executed (a canary file would appear).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from irkit.playbook.model import PlaybookError, _shipped_text, parse, shipped_names
from tests.support.hostile import json_values, run_cli

CANARY = Path("/tmp/irkit-playbook-canary")
CASE_SECONDS = 2.0
FAST_EXAMPLES = 150
SLOW_EXAMPLES = int(os.environ.get("IRKIT_FUZZ_EXAMPLES", "600")) * 4
SHIPPED = [_shipped_text(name) for name in shipped_names()]
TOKENS = [
    "&a ", "*a", "<<: *a\n", "!!python/object/apply:os.system ['touch /tmp/irkit-playbook-canary']",
    "!!python/name:os.system", "!!binary ", "!!set ", "!!omap ", "!!timestamp ", "? ", "---\n",
    "...\n", "%YAML 1.1\n", "%TAG ! tag:x,2000:\n", "\t", "{", "}", "[", "]", ": ", "- ", "|",
    ">", "'", '"', "#", "\x00", "\ufeff", "\x1b[2J", "2001-13-45", "1" * 5000, "0x" + "f" * 5000,
    ".inf", "~", "null", "yes", "on", "0o7", "{{ inputs.target }}", "{{ ", " }}", "\\", "\n",
]  # fmt: skip
FIELDS = ["name", "description", "version", "inputs", "steps", "action", "with", "when"]
FIELDS += ["on_error", "timeout", "type", "default", "target", "mode", "seconds", "addresses"]


@pytest.fixture(autouse=True)
def no_canary() -> object:
    CANARY.unlink(missing_ok=True)
    yield
    assert not CANARY.exists(), "a playbook ran code"


def check(text: str | bytes) -> str:
    """Parse; only a Playbook or a PlaybookError may come out, quickly."""
    started = time.monotonic()
    try:
        parse(text)
        outcome = "ok"
    except PlaybookError as e:
        assert e.problems and all(isinstance(p, str) for p in e.problems)
        outcome = "error"
    assert time.monotonic() - started < CASE_SECONDS, f"slow on {text[:80]!r}"
    assert not CANARY.exists()
    return outcome


@st.composite
def mutated_playbook(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SHIPPED))
    for _ in range(draw(st.integers(1, 6))):
        pos = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "truncate"]))
        if kind == "insert":
            text = text[:pos] + draw(st.sampled_from(TOKENS) | st.text(max_size=8)) + text[pos:]
        elif kind == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 40)) :]
        else:
            text = text[:pos]
    return text


@st.composite
def wrong_types(draw: st.DrawFn) -> str:
    """Well-formed YAML with the right field names holding the wrong things."""
    document = yaml.safe_load(draw(st.sampled_from(SHIPPED)))
    for _ in range(draw(st.integers(1, 4))):
        target = document
        if isinstance(document.get("steps"), list) and document["steps"] and draw(st.booleans()):
            target = draw(st.sampled_from(document["steps"]))
            if not isinstance(target, dict):
                continue
        target[draw(st.sampled_from(FIELDS))] = draw(json_values)
    return yaml.safe_dump(document, allow_unicode=True)


def fuzz_playbooks(strategy: st.SearchStrategy[str], examples: int) -> dict[str, int]:
    outcomes = {"ok": 0, "error": 0}

    @settings(
        max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(strategy)
    def run(text: str) -> None:
        outcomes[check(text)] += 1

    run()
    return outcomes


STRATEGIES = {
    "mutated": mutated_playbook(),
    "wrong_types": wrong_types(),
    "random_text": st.lists(st.sampled_from(TOKENS) | st.characters(), max_size=80).map("".join),
    "random_bytes": st.binary(max_size=400),
}


@pytest.mark.parametrize("kind", list(STRATEGIES))
def test_fuzz_playbook_loader(kind: str) -> None:
    outcomes = fuzz_playbooks(STRATEGIES[kind], FAST_EXAMPLES)
    assert sum(outcomes.values()) == FAST_EXAMPLES
    assert outcomes["error"]  # the fuzzer does reach the refusals


@pytest.mark.slow
def test_fuzz_playbook_loader_many() -> None:
    total = sum(sum(fuzz_playbooks(s, SLOW_EXAMPLES).values()) for s in STRATEGIES.values())
    print(f"\nplaybook fuzz: {total} cases")


BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)
)
BOMBS = {
    "billion laughs": BILLION_LAUGHS,
    "merge-key alias": "base: &b {name: x}\nname: y\n<<: *b\nsteps: []\n",
    "deep flow nesting": "name: " + "[" * 50_000 + "]" * 50_000,
    "deep block nesting": "".join("  " * i + f"k{i}:\n" for i in range(2000)) + "  " * 2000 + "v",
    "huge document": "name: x\nsteps:\n" + "  - {name: s, action: collect.inspect}\n" * 200_000,
    "many small events": "name: [" + "1," * 120_000 + "1]",
    "long scalar": "name: " + "x" * 250_000,
    "huge integer": "name: x\nversion: " + "9" * 100_000,
    "huge hex integer": "0x" + "f" * 5000,
    "impossible date": "name: x\nversion: 2001-13-45\n",
    "binary": "!!binary ",
    "empty timestamp": "!!timestamp ",
    "binary name": "name: !!binary aGVsbG8=\nsteps: []\n",
    "python object tag": "name: !!python/object/apply:os.system ['touch " + str(CANARY) + "']",
    "python name tag": "name: !!python/name:os.system\n",
    "unknown collection tag": "name: !!python/tuple [1, 2]\n",
    "complex key": "? [a, b]\n: c\n",
    "two documents": "name: a\n---\nname: b\n",
    "not utf-8": b"name: \xff\xfe\n",
    "NUL": "name: a\x00b\n",
    "empty": "",
    "only a comment": "# nothing\n",
    "scalar document": "just text",
    "list document": "- a\n- b\n",
}


def test_a_date_like_value_is_its_text() -> None:
    """Found by the fuzzer: a date (or binary) value crashed schema validation."""
    text = SHIPPED[0].replace('version: "1"', "version: 2001-12-14")
    assert "2001-12-14" in text
    assert parse(text).version == "2001-12-14"


@pytest.mark.parametrize("name", list(BOMBS))
def test_yaml_bombs_are_refused_fast(name: str) -> None:
    assert check(BOMBS[name]) == "error"


@pytest.mark.parametrize("name", ["billion laughs", "deep flow nesting", "huge integer", "NUL"])
def test_validate_command_reports_one_line_per_problem(name: str, tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    data = BOMBS[name]
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    code, _, err = run_cli(["playbook", "validate", str(path)])
    assert code == 2 and "Traceback" not in err and "\x00" not in err
    assert err.strip() and all(line.startswith("p.yml:") for line in err.strip().splitlines())


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_validate_never_hangs_on_special_files(special: str, tmp_path: Path) -> None:
    path = tmp_path / "p.yml"
    if special == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(special)
    started = time.monotonic()
    code, _, err = run_cli(["playbook", "validate", str(path)])
    assert code == 2 and "Traceback" not in err and time.monotonic() - started < 5
