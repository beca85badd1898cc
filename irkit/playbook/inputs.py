"""Playbook inputs: their types, parsing `--input k=v` text, defaults, prompting.

Every value is checked here, before any step runs, so that a bad address is
exit 2 and never a half-applied containment.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from irkit.errors import UsageError

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
_SPLIT = re.compile(r"[,\s]+")
MAX_INPUT_CHARS = 4096
_CASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


@dataclass(frozen=True)
class InputSpec:
    name: str
    type: str
    description: str = ""
    required: bool = False
    default: Any = None


BUILTIN_INPUTS = {
    "target": InputSpec("target", "string", "the container (name or id)", required=True),
    "case": InputSpec("case", "string", "the case id recorded in rules and the bundle"),
}


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text.strip(), strict=False))
    except ValueError as e:
        raise UsageError(f"'{text}' is not an IP address or network") from e


def _items(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [v for v in _SPLIT.split(str(value).strip()) if v]


def convert(spec: InputSpec, value: Any) -> Any:
    """Turn text (or a YAML value) into the input's type; raise UsageError naming it."""
    if isinstance(value, str) and len(value) > MAX_INPUT_CHARS:
        raise UsageError(f"input '{spec.name}' is longer than {MAX_INPUT_CHARS} characters")
    try:
        converted = _convert(spec.type, value)
    except UsageError as e:
        raise UsageError(f"input '{spec.name}': {e.message}") from e
    if spec.name == "case" and not _CASE.match(str(converted)):
        raise UsageError(
            f"bad case id '{converted}': use up to 40 letters, digits, '.', '_' or '-'"
        )
    return converted


def _convert(kind: str, value: Any) -> Any:
    text = str(value).strip()
    if kind == "string":
        return value if isinstance(value, str) else text
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise UsageError(f"'{text}' is not true or false")
    if kind in ("integer", "number"):
        try:
            return int(text) if kind == "integer" else float(text)
        except ValueError as e:
            raise UsageError(
                f"'{text}' is not a {'whole ' if kind == 'integer' else ''}number"
            ) from e
    if kind == "address":
        return _address(text)
    if kind == "addresses":
        return [_address(v) for v in _items(value)]
    return _items(value)  # list


def parse_default(spec: InputSpec, value: Any) -> InputSpec:
    """The spec with its default converted; a spec with a default is optional."""
    converted = convert(spec, value) if value is not None else None
    return replace(spec, default=converted, required=False)


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """`k=v` strings from the command line; a repeated key keeps the last value."""
    given: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"bad --input '{pair}': expected NAME=VALUE")
        given[key.strip()] = value
    return given


def resolve(
    specs: tuple[InputSpec, ...],
    given: Mapping[str, Any],
    ask: Callable[[InputSpec], str] | None = None,
) -> dict[str, Any]:
    """Typed values for every input: given, else default, else asked, else exit 2."""
    known = {s.name: s for s in specs}
    unknown = sorted(set(given) - set(known))
    if unknown:
        names = ", ".join(sorted(known))
        raise UsageError(f"unknown input '{unknown[0]}'", hint=f"this playbook takes: {names}")
    values: dict[str, Any] = {}
    for spec in specs:
        if spec.name in given and given[spec.name] not in (None, ""):
            values[spec.name] = convert(spec, given[spec.name])
        elif spec.default is not None or not spec.required:
            values[spec.name] = spec.default
        elif ask is not None:
            values[spec.name] = convert(spec, ask(spec))
        else:
            raise UsageError(
                f"missing required input '{spec.name}'",
                hint=f"give it with --input {spec.name}=VALUE",
            )
    return values
