"""Bounded YAML loading that keeps line numbers.

Playbooks may come from a SOAR platform or a colleague: they are untrusted
input. PyYAML's safe loader builds no objects, but it still expands aliases
(billion laughs) and recurses on nesting, so the event stream is checked
first (size, depth, event count, no anchors or aliases), then the document
is composed and converted by hand, recording the line of every value.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor

MAX_BYTES = 256 * 1024
MAX_DEPTH = 16
MAX_EVENTS = 20_000
MAX_INT_BITS = 64  # a 0xfff... of 5,000 digits parses, then breaks every str() of it

Path = tuple[str | int, ...]
# libyaml's parser when present (3-4 times faster); it reports the same marks.
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_COLLECTION_TAGS: dict[type[yaml.Node], str] = {
    yaml.MappingNode: "tag:yaml.org,2002:map",
    yaml.SequenceNode: "tag:yaml.org,2002:seq",
}


class YamlProblem(Exception):
    """A document that is not acceptable YAML; `line` is 1-based (0 unknown)."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class LoadedYaml:
    """Plain data plus the 1-based line of every mapping key / item, by path."""

    data: Any
    lines: dict[Path, int]

    def line_of(self, path: Path) -> int:
        """The line of `path`, or of its nearest ancestor that has one."""
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                return line
        return 0


def _line(mark: Any) -> int:
    return mark.line + 1 if mark is not None else 0


def _check_events(text: str) -> None:
    depth = 0
    count = 0
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            count += 1
            if count > MAX_EVENTS:
                raise YamlProblem(_line(event.start_mark), "document too large")
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise YamlProblem(_line(event.start_mark), "anchors and aliases are not allowed")
            if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise YamlProblem(
                        _line(event.start_mark), f"nesting deeper than {MAX_DEPTH} levels"
                    )
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                depth -= 1
    except yaml.MarkedYAMLError as e:
        raise YamlProblem(_line(e.problem_mark), f"invalid YAML: {e.problem}") from e
    except yaml.YAMLError as e:  # the reader's refusals (control characters) carry no mark
        raise YamlProblem(0, f"invalid YAML: {e}") from e


class _Converter:
    def __init__(self) -> None:
        self.lines: dict[Path, int] = {}
        self._scalars = SafeConstructor()

    def convert(self, node: yaml.Node, path: Path) -> Any:
        self.lines.setdefault(path, _line(node.start_mark))
        expected = _COLLECTION_TAGS.get(type(node))
        if expected is not None and node.tag != expected:
            raise YamlProblem(_line(node.start_mark), f"tag '{node.tag}' is not allowed")
        if isinstance(node, yaml.MappingNode):
            result: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key = self._scalar(key_node)
                if not isinstance(key, str):
                    raise YamlProblem(_line(key_node.start_mark), f"key {key!r} is not a string")
                if key in result:
                    raise YamlProblem(_line(key_node.start_mark), f"duplicate key '{key}'")
                child: Path = (*path, key)
                self.lines[child] = _line(key_node.start_mark)
                result[key] = self.convert(value_node, child)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i)) for i, item in enumerate(node.value)]
        return self._scalar(node)

    def _scalar(self, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            raise YamlProblem(_line(node.start_mark), "keys must be plain strings")
        try:
            value = self._scalars.construct_object(node, deep=True)
        except yaml.MarkedYAMLError as e:
            raise YamlProblem(_line(node.start_mark), f"invalid value: {e.problem}") from e
        except Exception as e:  # PyYAML's scalar constructors fail in many ways on crafted
            # input: 5000-digit integers, 2001-13-45 dates, an empty !!timestamp ...
            raise YamlProblem(_line(node.start_mark), f"invalid value: {e}") from e
        # Playbooks are JSON data: a date-like value is its text; binary has no place.
        if isinstance(value, (datetime.date, datetime.datetime)):
            return str(node.value)
        if isinstance(value, bytes):
            raise YamlProblem(_line(node.start_mark), "binary values are not allowed")
        if isinstance(value, int) and value.bit_length() > MAX_INT_BITS:
            raise YamlProblem(_line(node.start_mark), "integer too large")
        return value


def load(text: str | bytes) -> LoadedYaml:
    """Parse one YAML document safely; raise `YamlProblem` with a line number."""
    if len(text) > MAX_BYTES:
        raise YamlProblem(0, f"file larger than {MAX_BYTES // 1024} KiB")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise YamlProblem(0, "file is not UTF-8 text") from e
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:  # lone surrogates: no file decodes to them
        raise YamlProblem(0, "text is not valid Unicode") from e
    _check_events(text)
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as e:
        raise YamlProblem(_line(e.problem_mark), f"invalid YAML: {e.problem}") from e
    if node is None:
        raise YamlProblem(1, "empty document")
    converter = _Converter()
    data = converter.convert(node, ())
    return LoadedYaml(data, converter.lines)
