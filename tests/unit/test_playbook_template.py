"""Substitution and conditions: a closed grammar that cannot run code."""

from __future__ import annotations

import pytest

from irkit.errors import UsageError
from irkit.playbook import inputs as inputs_mod
from irkit.playbook.inputs import InputSpec, parse_assignments, resolve
from irkit.playbook.template import TemplateError, parse_condition, references, substitute

VALUES = {"ip": ["10.0.0.1/32", "203.0.113.0/24"], "n": 5, "name": "web", "flag": False}


def test_whole_placeholder_keeps_the_type() -> None:
    assert substitute({"a": "{{ inputs.ip }}", "b": "{{inputs.n}}"}, VALUES) == {
        "a": ["10.0.0.1/32", "203.0.113.0/24"],
        "b": 5,
    }


def test_placeholders_inside_text_are_joined_as_text() -> None:
    assert substitute("host {{ inputs.name }} n={{ inputs.n }} ips={{ inputs.ip }}", VALUES) == (
        "host web n=5 ips=10.0.0.1/32,203.0.113.0/24"
    )


def test_substituted_values_are_not_scanned_again() -> None:
    values = {"a": "{{ inputs.b }}", "b": "secret"}
    assert substitute("x {{ inputs.a }}", values) == "x {{ inputs.b }}"


@pytest.mark.parametrize(
    "text",
    [
        "{{ __import__('os').system('touch /tmp/pwned') }}",
        "{{ inputs.name.__class__ }}",
        "{{ ''.__class__.__mro__ }}",
        "{{ inputs['name'] }}",
        "{{ inputs.name | upper }}",
        "{% for x in y %}{{ x }}{% endfor %}",
        "{{ config }}",
        "{{ inputs.name }} }}",
        "{{ inputs.name",
        "${{ 7*7 }}",
    ],
)
def test_anything_but_an_input_reference_is_refused(text: str, tmp_path) -> None:
    with pytest.raises(TemplateError):
        references(text)
        substitute(text, VALUES)


def test_substitution_never_executes(tmp_path, monkeypatch) -> None:
    marker = tmp_path / "pwned"
    payload = f"{{{{ __import__('os').system('touch {marker}') }}}}"
    with pytest.raises(TemplateError):
        substitute(payload, VALUES)
    cond = f'inputs.name == \'__import__("os").system("touch {marker}")\''
    assert parse_condition(cond).holds(VALUES) is False
    assert not marker.exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("inputs.ip", True),
        ("inputs.flag", False),
        ("not inputs.flag", True),
        ("inputs.n == 5", True),
        ("inputs.n == '5'", True),
        ("inputs.name != 'web'", False),
        ("inputs.flag or inputs.n == 5", True),
        ("inputs.flag and inputs.n == 5", False),
        ('inputs.flag and inputs.n == 5 or inputs.name == "web"', True),
        ("{{ inputs.n }}", True),
        ("inputs.missing", False),
        ("inputs.flag == false", True),
    ],
)
def test_conditions(text: str, expected: bool) -> None:
    assert parse_condition(text).holds(VALUES) is expected


@pytest.mark.parametrize(
    "text", ["", "inputs.n ==", "inputs.n = 5", "os.system('x')", "inputs.n and", "1 +"]
)
def test_bad_conditions(text: str) -> None:
    with pytest.raises(TemplateError):
        parse_condition(text)


SPECS = (
    InputSpec("target", "string", required=True),
    InputSpec("attacker", "addresses", required=True),
    InputSpec("seconds", "integer", default=5),
    InputSpec("fast", "boolean"),
)


def test_inputs_are_typed() -> None:
    got = resolve(
        SPECS,
        {"target": "web", "attacker": "203.0.113.7, 2001:db8::1", "fast": "yes"},
    )
    assert got == {
        "target": "web",
        "attacker": ["203.0.113.7/32", "2001:db8::1/128"],
        "seconds": 5,
        "fast": True,
    }


def test_missing_required_input_names_it() -> None:
    with pytest.raises(UsageError, match="missing required input 'attacker'") as caught:
        resolve(SPECS, {"target": "web"})
    assert "--input attacker=VALUE" in (caught.value.hint or "")


def test_missing_input_is_asked_for_when_someone_can_answer() -> None:
    got = resolve(SPECS, {"target": "web"}, ask=lambda spec: "203.0.113.9")
    assert got["attacker"] == ["203.0.113.9/32"]


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"attacker": "evil.example"}, "'evil.example' is not an IP address"),
        ({"attacker": "1.2.3.4", "seconds": "ten"}, "'ten' is not a whole number"),
        ({"attacker": "1.2.3.4", "colour": "red"}, "unknown input 'colour'"),
        ({"attacker": "1.2.3.4", "fast": "maybe"}, "'maybe' is not true or false"),
    ],
)
def test_bad_inputs(given: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        resolve(SPECS, {"target": "web", **given})


def test_case_ids_are_checked() -> None:
    specs = (*SPECS, inputs_mod.BUILTIN_INPUTS["case"])
    with pytest.raises(UsageError, match="bad case id"):
        resolve(specs, {"target": "w", "attacker": "1.2.3.4", "case": "a b;rm"})


def test_assignments() -> None:
    assert parse_assignments(["a=1", "b=x=y", "a=2"]) == {"a": "2", "b": "x=y"}
    with pytest.raises(UsageError, match="expected NAME=VALUE"):
        parse_assignments(["novalue"])
