"""The published JSON Schema (playbooks/schema.json) and readable error messages.

Validation is jsonschema's; this module only turns its errors into one line
each, naming the field the way a playbook author wrote it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

SCHEMA_RESOURCE = ("irkit", "playbooks", "schema.json")
# The branch of an `anyOf` that is not the {{ inputs.x }} placeholder.
_TYPED_BRANCH = 0
_PLACEHOLDER_REF = {"$ref": "#/$defs/placeholder"}


@functools.lru_cache(maxsize=1)
def schema() -> dict[str, Any]:
    """The playbook JSON Schema, read from package data."""
    package, *parts = SCHEMA_RESOURCE
    text = resources.files(package).joinpath(*parts).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


@functools.lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema())
    cls.check_schema(schema())
    return cls(schema())


def action_names() -> list[str]:
    """Every action the schema knows, in its order."""
    names: list[str] = schema()["$defs"]["step"]["properties"]["action"]["enum"]
    return names


@dataclass(frozen=True)
class SchemaProblem:
    path: tuple[str | int, ...]
    message: str


def validate(document: Any) -> list[SchemaProblem]:
    """Every problem once, each at its most specific location."""
    problems: dict[tuple[str | int, ...], SchemaProblem] = {}
    for error in _validator().iter_errors(document):
        leaf = _leaf(error)
        path = tuple(leaf.absolute_path)
        message = _message(leaf)
        if leaf.validator == "additionalProperties" and isinstance(leaf.instance, dict):
            path = (*path, *_extra_keys(leaf)[:1])
        problems.setdefault((*path, message), SchemaProblem(path, message))
    return list(problems.values())


def validate_params(action: str, params: Any) -> list[SchemaProblem]:
    """Check an action's parameters once placeholders are substituted."""
    sub = {"$ref": f"#/$defs/actions/{action}", "$defs": schema()["$defs"]}
    cls = jsonschema.validators.validator_for(schema())
    validator = cls(sub)
    return [
        SchemaProblem(tuple(_leaf(e).absolute_path), _message(_leaf(e)))
        for e in validator.iter_errors(params)
    ]


def _leaf(error: ValidationError) -> ValidationError:
    """Descend into anyOf/oneOf to the error of the typed branch."""
    while (
        error.validator == "anyOf"
        and error.context
        and isinstance(error.validator_value, list)
        and error.validator_value[-1] == _PLACEHOLDER_REF
    ):
        branch = [e for e in error.context if e.schema_path and e.schema_path[0] == _TYPED_BRANCH]
        candidates = branch or list(error.context)
        error = jsonschema.exceptions.best_match(candidates) or candidates[0]
    return error


def _field(error: ValidationError) -> str:
    for part in reversed(error.absolute_path):
        if isinstance(part, str):
            return part
    return "value"


def _quote(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else json.dumps(value)


_TYPES = {"object": "a mapping", "array": "a list", "string": "text", "integer": "a whole number"}


def _extra_keys(error: ValidationError) -> list[str]:
    declared: Any = error.schema
    instance: Any = error.instance
    allowed = set(declared.get("properties", {}))
    return sorted(k for k in instance if k not in allowed)


def _message(error: ValidationError) -> str:
    kind = str(error.validator)
    expected: Any = error.validator_value
    value: Any = error.instance
    declared: Any = error.schema
    name = _field(error)
    if kind == "enum":
        noun = "action" if name == "action" else name
        choices = ", ".join(str(c) for c in expected)
        return f"unknown {noun} {_quote(value)}; expected one of {choices}"
    if kind == "required":
        missing = [k for k in expected if isinstance(value, dict) and k not in value]
        return f"missing required field '{missing[0] if missing else expected[0]}'"
    if kind == "additionalProperties" and isinstance(value, dict):
        extra = _extra_keys(error)
        known = ", ".join(sorted(declared.get("properties", {}))) or "none"
        return f"unknown field '{extra[0] if extra else '?'}' (known: {known})"
    if kind == "type":
        types = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_TYPES.get(t, f"a {t}") for t in types)
        return f"{name} must be {wanted}, not {_quote(value)}"
    if kind == "anyOf" and isinstance(declared, dict) and "description" in declared:
        wanted = str(declared["description"]).rstrip(".")
        return f"{name} {_quote(value)} is not valid; expected {wanted[0].lower()}{wanted[1:]}"
    if kind == "pattern":
        return f"{name} {_quote(value)} does not match the expected form {expected}"
    messages: dict[str, str] = {
        "minItems": f"{name} needs at least {expected} item(s)",
        "maxItems": f"{name} has more than {expected} items",
        "maxLength": f"{name} is longer than {expected} characters",
        "maxProperties": f"{name} has more than {expected} entries",
        "minimum": f"{name} must be at least {expected}, not {_quote(value)}",
        "maximum": f"{name} must be at most {expected}, not {_quote(value)}",
        "exclusiveMinimum": f"{name} must be more than {expected}, not {_quote(value)}",
    }
    return messages.get(kind, f"{name}: {error.message}")
