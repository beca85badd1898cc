"""`{{ inputs.x }}` substitution and `when` conditions, without a template engine.

Both are tiny hand-written parsers over a closed grammar: the only thing a
placeholder can name is an input, a condition can only compare inputs with
literals. Nothing is evaluated, imported or looked up by attribute, and a
substituted value is never scanned again, so input text cannot inject more
placeholders.

Substitution: a string that is exactly one placeholder takes the input's typed
value (a list of addresses stays a list); otherwise values are joined in as text.

Conditions: ``[not] OPERAND [(==|!=) OPERAND]`` terms joined by ``and`` / ``or``
(``and`` binds tighter), where OPERAND is ``inputs.NAME``, a quoted string, a
number, ``true``, ``false`` or ``null``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_REFERENCE = re.compile(r"\s*inputs\.([A-Za-z_][A-Za-z0-9_]*)\s*\Z")
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<ref>inputs\.[A-Za-z_][A-Za-z0-9_]*)
      | (?P<str>'[^']*'|"[^"]*")
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=)
      | (?P<word>[A-Za-z_]+)
    )""",
    re.VERBOSE,
)
MAX_CONDITION = 500


class TemplateError(ValueError):
    """A placeholder or condition outside the grammar."""


def references(text: str) -> list[str]:
    """Input names that `text` refers to; raises on anything else inside {{ }}."""
    names = []
    for match in _PLACEHOLDER.finditer(text):
        ref = _REFERENCE.match(match.group(1))
        if ref is None:
            raise TemplateError(
                f"bad substitution '{match.group(0)}': only {{{{ inputs.NAME }}}} is allowed"
            )
        names.append(ref.group(1))
    rest = _PLACEHOLDER.sub("", text)
    if "{{" in rest or "}}" in rest:
        raise TemplateError(f"unbalanced '{{{{' or '}}}}' in '{text}'")
    return names


def value_references(value: Any) -> list[str]:
    """Input names referred to anywhere inside a parameter structure."""
    if isinstance(value, str):
        return references(value)
    if isinstance(value, Mapping):
        return [n for v in value.values() for n in value_references(v)]
    if isinstance(value, list):
        return [n for v in value for n in value_references(v)]
    return []


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(_as_text(v) for v in value)
    return "" if value is None else str(value)


def substitute(value: Any, inputs: Mapping[str, Any]) -> Any:
    """A copy of `value` with placeholders replaced by input values."""
    if isinstance(value, Mapping):
        return {k: substitute(v, inputs) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, inputs) for v in value]
    if not isinstance(value, str):
        return value
    names = references(value)
    if not names:
        return value
    whole = _PLACEHOLDER.fullmatch(value.strip())
    if whole is not None and len(names) == 1:
        return inputs[names[0]]
    return _PLACEHOLDER.sub(lambda m: _as_text(inputs[_reference_name(m.group(1))]), value)


def _reference_name(inner: str) -> str:
    ref = _REFERENCE.match(inner)
    assert ref is not None  # checked by references()
    return ref.group(1)


@dataclass(frozen=True)
class _Operand:
    ref: str | None = None
    literal: Any = None

    def value(self, inputs: Mapping[str, Any]) -> Any:
        return inputs.get(self.ref) if self.ref is not None else self.literal


@dataclass(frozen=True)
class _Term:
    negate: bool
    left: _Operand
    op: str | None = None
    right: _Operand | None = None

    def holds(self, inputs: Mapping[str, Any]) -> bool:
        left = self.left.value(inputs)
        if self.op is None or self.right is None:
            result = bool(left)
        elif self.op == "==":
            result = _same(left, self.right.value(inputs))
        else:
            result = not _same(left, self.right.value(inputs))
        return result != self.negate


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return bool(a == b)
    return bool(a == b) or _as_text(a) == _as_text(b)


_WORDS = {"true": True, "false": False, "null": None}


@dataclass(frozen=True)
class Condition:
    """A parsed `when`: any of the groups holds when all of its terms hold."""

    text: str
    groups: tuple[tuple[_Term, ...], ...]

    @property
    def inputs(self) -> list[str]:
        found = []
        for group in self.groups:
            for term in group:
                for operand in (term.left, term.right):
                    if operand is not None and operand.ref is not None:
                        found.append(operand.ref)
        return found

    def holds(self, inputs: Mapping[str, Any]) -> bool:
        return any(all(t.holds(inputs) for t in group) for group in self.groups)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise TemplateError(f"cannot read condition at '{text[pos:]}'")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def _operand(kind: str, text: str) -> _Operand:
    if kind == "ref":
        return _Operand(ref=text.split(".", 1)[1])
    if kind == "str":
        return _Operand(literal=text[1:-1])
    if kind == "num":
        return _Operand(literal=float(text) if "." in text else int(text))
    if kind == "word" and text in _WORDS:
        return _Operand(literal=_WORDS[text])
    raise TemplateError(f"unexpected '{text}' in condition")


def parse_condition(text: str) -> Condition:
    """Parse a `when` condition; the grammar is in the module docstring."""
    if len(text) > MAX_CONDITION:
        raise TemplateError("condition too long")
    text = _PLACEHOLDER.sub(lambda m: m.group(1), text)  # tolerate {{ inputs.x }}
    tokens = _tokens(text)
    if not tokens:
        raise TemplateError("empty condition")
    groups: list[tuple[_Term, ...]] = []
    current: list[_Term] = []
    i = 0
    while True:
        negate = False
        if i < len(tokens) and tokens[i] == ("word", "not"):
            negate, i = True, i + 1
        if i >= len(tokens):
            raise TemplateError(f"condition ends early: '{text}'")
        left = _operand(*tokens[i])
        i += 1
        op = right = None
        if i < len(tokens) and tokens[i][0] == "op":
            if i + 1 >= len(tokens):
                raise TemplateError(f"condition ends early: '{text}'")
            op, right, i = tokens[i][1], _operand(*tokens[i + 1]), i + 2
        current.append(_Term(negate, left, op, right))
        if i >= len(tokens):
            break
        joiner = tokens[i]
        if joiner == ("word", "or"):
            groups.append(tuple(current))
            current = []
        elif joiner != ("word", "and"):
            raise TemplateError(f"expected 'and' or 'or', found '{joiner[1]}'")
        i += 1
    groups.append(tuple(current))
    return Condition(text, tuple(groups))
