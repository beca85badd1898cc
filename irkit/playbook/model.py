"""Playbooks as values: loading, validation with file:line messages, shipped ones.

A playbook is read once (bounded YAML), checked against the JSON Schema, then
checked for what a schema cannot say (placeholders name declared inputs,
conditions parse, step names are unique) and frozen into `Playbook`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from irkit.bundle.reader import open_regular
from irkit.errors import UsageError
from irkit.playbook import schema, template, yamlsafe
from irkit.playbook.inputs import BUILTIN_INPUTS, InputSpec, parse_default

SUFFIXES = (".yml", ".yaml")
_DURATION = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(s|m|h)$")
_UNIT = {"s": 1.0, "m": 60.0, "h": 3600.0}


class PlaybookError(UsageError):
    """A playbook that cannot be used; `problems` holds every message, one a line."""

    def __init__(self, problems: list[str]) -> None:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        super().__init__(problems[0] + more, hint="check it with 'irkit playbook validate FILE'")
        self.problems = problems


@dataclass(frozen=True)
class StepSpec:
    index: int
    name: str
    action: str
    params: dict[str, Any]
    when: template.Condition | None
    on_error: str
    timeout: float | None
    line: int

    @property
    def label(self) -> str:
        return f"step {self.index} ({self.name})"


@dataclass(frozen=True)
class Playbook:
    name: str
    description: str
    version: str
    inputs: tuple[InputSpec, ...]
    steps: tuple[StepSpec, ...]
    source: str
    text: str = field(repr=False)

    def input(self, name: str) -> InputSpec | None:
        return next((i for i in self.inputs if i.name == name), None)


def default_on_error(action: str) -> str:
    """Containment and sealing stop the run when they fail; gathering carries on."""
    return "abort" if action.startswith(("contain.", "bundle.")) else "continue"


def _timeout(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = _DURATION.match(str(value))
    assert match is not None  # the schema's pattern
    return float(match.group(1)) * _UNIT[match.group(2)]


class _Checker:
    """Collects problems as `file:line: [step N (name): ]message`."""

    def __init__(self, source: str, loaded: yamlsafe.LoadedYaml) -> None:
        self.source = source
        self.loaded = loaded
        self._found: list[tuple[int, str]] = []

    def add(self, path: tuple[str | int, ...], message: str) -> None:
        prefix = f"{self.source}:{self.loaded.line_of(path)}: "
        if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
            prefix += f"{_step_label(self.loaded.data, path[1])}: "
        self._found.append((self.loaded.line_of(path), prefix + message))

    @property
    def problems(self) -> list[str]:
        """In line order, so that the first one is the first in the file."""
        return [text for _, text in sorted(self._found, key=lambda found: found[0])]


def _step_label(data: Any, index: int) -> str:
    step = data["steps"][index] if isinstance(data, dict) else {}
    name = step.get("name") or step.get("action") if isinstance(step, dict) else None
    return f"step {index + 1} ({name})" if isinstance(name, str) else f"step {index + 1}"


def _inputs(data: dict[str, Any], check: _Checker) -> tuple[InputSpec, ...]:
    specs = dict(BUILTIN_INPUTS)
    for name, raw in (data.get("inputs") or {}).items():
        spec = InputSpec(
            name=name,
            type=raw["type"],
            description=raw.get("description", ""),
            required=bool(raw.get("required", False)) and "default" not in raw,
            default=None,
        )
        if name in BUILTIN_INPUTS and spec.type != "string":
            check.add(("inputs", name, "type"), f"input '{name}' is built in and is a string")
            continue
        if "default" in raw:
            try:
                spec = parse_default(spec, raw["default"])
            except UsageError as e:
                check.add(("inputs", name, "default"), e.message)
        specs[name] = spec
    return tuple(specs.values())


def _steps(data: dict[str, Any], declared: set[str], check: _Checker) -> tuple[StepSpec, ...]:
    steps, seen = [], set()
    for i, raw in enumerate(data["steps"]):
        path: tuple[str | int, ...] = ("steps", i)
        name = raw.get("name") or raw["action"]
        if "name" in raw:
            if name in seen:
                check.add((*path, "name"), f"duplicate step name '{name}'")
            seen.add(name)
        params = raw.get("with") or {}
        try:
            refs = template.value_references(params)
        except template.TemplateError as e:
            check.add((*path, "with"), str(e))
            refs = []
        for ref in refs:
            if ref not in declared:
                check.add((*path, "with"), f"unknown input '{ref}' in {{{{ inputs.{ref} }}}}")
        when = None
        if "when" in raw:
            try:
                when = template.parse_condition(raw["when"])
            except template.TemplateError as e:
                check.add((*path, "when"), str(e))
            for ref in when.inputs if when else []:
                if ref not in declared:
                    check.add((*path, "when"), f"unknown input '{ref}' in condition")
        steps.append(
            StepSpec(
                index=i + 1,
                name=name,
                action=raw["action"],
                params=params,
                when=when,
                on_error=raw.get("on_error") or default_on_error(raw["action"]),
                timeout=_timeout(raw.get("timeout")),
                line=check.loaded.line_of(path),
            )
        )
    return tuple(steps)


def parse(text: str | bytes, source: str = "<playbook>") -> Playbook:
    """Validate a playbook's text; raise `PlaybookError` listing every problem."""
    try:
        loaded = yamlsafe.load(text)
    except yamlsafe.YamlProblem as e:
        raise PlaybookError([f"{source}:{e.line}: {e.message}"]) from e
    check = _Checker(source, loaded)
    for problem in schema.validate(loaded.data):
        check.add(problem.path, problem.message)
    if check.problems:
        raise PlaybookError(check.problems)
    data: dict[str, Any] = loaded.data
    inputs = _inputs(data, check)
    steps = _steps(data, {i.name for i in inputs}, check)
    if check.problems:
        raise PlaybookError(check.problems)
    return Playbook(
        name=data["name"],
        description=data.get("description", ""),
        version=str(data.get("version", "")),
        inputs=inputs,
        steps=steps,
        source=source,
        text=text if isinstance(text, str) else text.decode("utf-8"),
    )


def shipped_names() -> list[str]:
    """Names of the playbooks that come with irkit."""
    folder = resources.files("irkit").joinpath("playbooks")
    return sorted(
        Path(entry.name).stem for entry in folder.iterdir() if entry.name.endswith(SUFFIXES)
    )


def _shipped_text(name: str) -> str:
    return resources.files("irkit").joinpath("playbooks").joinpath(f"{name}.yml").read_text("utf-8")


def load(ref: str | Path) -> Playbook:
    """A playbook by path, or by the name of a shipped one."""
    path = Path(ref)
    if path.suffix in SUFFIXES or path.exists():
        try:
            with open_regular(path) as f:  # a FIFO or /dev/zero can neither hang nor flood
                data = f.read(yamlsafe.MAX_BYTES + 1)
            if len(data) > yamlsafe.MAX_BYTES:
                raise PlaybookError([f"{path.name}:0: file larger than {yamlsafe.MAX_BYTES} bytes"])
        except OSError as e:
            raise UsageError(f"cannot read playbook {path}: {e.strerror}") from e
        return parse(data, path.name)
    name = str(ref)
    if name not in shipped_names():
        known = ", ".join(shipped_names())
        raise UsageError(f"no playbook named '{name}'", hint=f"shipped playbooks: {known}")
    return parse(_shipped_text(name), f"{name}.yml")
