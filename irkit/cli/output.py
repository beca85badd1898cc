"""Where output goes: data to stdout (JSON), people's text to stderr (rich).

A command receives an `Output` through `pass_output`. In `--json` mode it
calls `data()` once (or `event()` per line for streams); in human mode it
prints through `console`. Colour and live displays only on a TTY without
NO_COLOR.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from irkit.jsonable import to_jsonable as to_jsonable  # re-exported for the CLI modules

F = TypeVar("F", bound=Callable[..., Any])


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(text: str) -> str:
    """`text` with control characters (newlines, escape sequences) shown escaped:
    a hostile name can neither split an error line nor drive the terminal."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode(), text)


def untrusted(text: object) -> str:
    """A value from evidence or a bundle, made safe to print with rich markup on."""
    return escape(one_line(str(text)))


def colour_allowed(stream: Any) -> bool:
    return "NO_COLOR" not in os.environ and bool(getattr(stream, "isatty", lambda: False)())


class Output:
    def __init__(self, *, json_mode: bool = False, verbose: bool = False) -> None:
        self.json_mode = json_mode
        self.verbose = verbose
        interactive = colour_allowed(sys.stderr)
        self.console = Console(
            stderr=True,
            no_color=not interactive,
            force_terminal=interactive,
            highlight=False,
            soft_wrap=not interactive,
        )
        self.data_written = False

    @property
    def interactive(self) -> bool:
        """True when live displays (progress, spinners) are welcome."""
        return self.console.is_terminal and not self.json_mode

    def data(self, document: Any) -> None:
        """The one JSON document of a --json command."""
        sys.stdout.write(json.dumps(to_jsonable(document), indent=2, sort_keys=False) + "\n")
        sys.stdout.flush()
        self.data_written = True

    def event(self, event: Any) -> None:
        """One JSON line of an event stream."""
        sys.stdout.write(json.dumps(to_jsonable(event), separators=(",", ":")) + "\n")
        sys.stdout.flush()
        self.data_written = True

    def say(self, *objects: Any, **kwargs: Any) -> None:
        """Text for people (stderr); silent in --json mode."""
        if not self.json_mode:
            self.console.print(*objects, **kwargs)

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]warning:[/yellow] {message}")

    def notice(self, message: str) -> None:
        """Something the user must hear even in --json mode (a pull, a fallback): stderr."""
        self.console.print(f"irkit: {message}", markup=False, highlight=False)


class State:
    """Global options gathered from the group and the command."""

    def __init__(self) -> None:
        self.json_mode = False
        self.verbose = False
        self.output: Output | None = None


def _state() -> State:
    ctx = click.get_current_context()
    obj = ctx.find_object(State)
    if obj is None:
        obj = ctx.ensure_object(State)
    return obj


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        _state().json_mode = True
    return value


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        _state().verbose = True
    return value


verbose_option = click.option(
    "-v",
    "--verbose",
    is_flag=True,
    expose_value=False,
    callback=_set_verbose,
    is_eager=True,
    help="Show tracebacks and more detail.",
)
json_option = click.option(
    "--json",
    "json_mode",
    is_flag=True,
    expose_value=False,
    callback=_set_json,
    is_eager=True,
    help="Write JSON to stdout (and nothing else there).",
)


def pass_output(func: F) -> F:
    """Add --json and -v to a command and hand it an `Output` as first argument."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        state = _state()
        state.output = Output(json_mode=state.json_mode, verbose=state.verbose)
        return func(state.output, *args, **kwargs)

    return json_option(verbose_option(wrapper))  # type: ignore[return-value]
