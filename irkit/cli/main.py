"""Entry point: the click group, and the one place errors become exit codes."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence

import click

from irkit import __version__
from irkit.cli.commands import LazyGroup
from irkit.cli.output import Output, State, one_line, verbose_option
from irkit.errors import ExitCode, IrkitError


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="irkit")
@verbose_option
def cli() -> None:
    """irkit: contain a compromised container, capture its evidence, seal and verify it."""


# Evidence, state and audit files are for root's eyes: nothing irkit creates
# is group- or world-readable unless it says so (an extracted bundle's folder).
UMASK = 0o077


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command with irkit's umask (restored after, for in-process callers)."""
    previous = os.umask(UMASK)
    try:
        return _main(argv)
    finally:
        os.umask(previous)


def _main(argv: Sequence[str] | None) -> int:
    state = State()
    try:
        result = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="irkit",
            standalone_mode=False,
            obj=state,
        )
    except IrkitError as e:
        return _report(state, e.message, e.hint, int(e.exit_code), e)
    except click.exceptions.Abort:
        return _report(state, "interrupted", None, ExitCode.INTERRUPTED, None)
    except KeyboardInterrupt as e:
        return _report(state, "interrupted", None, ExitCode.INTERRUPTED, e)
    except click.ClickException as e:
        if state.json_mode:
            _json_error(state, e.format_message(), None, ExitCode.USAGE)
        e.show()
        return ExitCode.USAGE if e.exit_code == 2 else e.exit_code
    except click.exceptions.Exit as e:
        return e.exit_code
    except Exception as e:
        return _report(
            state,
            f"internal error: {type(e).__name__}: {e}",
            "this is a bug in irkit; run again with -v for the traceback",
            ExitCode.INTERNAL,
            e,
        )
    return int(result) if isinstance(result, int) else ExitCode.OK


def _report(
    state: State, message: str, hint: str | None, code: int, error: BaseException | None
) -> int:
    out = state.output or Output(json_mode=state.json_mode, verbose=state.verbose)
    if state.verbose and error is not None:
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)
    line = f"irkit: error: {one_line(message)}"
    out.console.print(line, style="bold red", markup=False, highlight=False)
    if hint:
        out.console.print(f"  hint: {one_line(hint)}", markup=False, highlight=False)
    if state.json_mode:
        _json_error(state, message, hint, code)
    return code


def _json_error(state: State, message: str, hint: str | None, code: int) -> None:
    out = state.output or Output(json_mode=True)
    if not out.data_written:
        out.data({"ok": False, "error": {"message": message, "hint": hint, "exit_code": code}})
