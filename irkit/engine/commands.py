"""Running host commands, always as argument lists, never through a shell."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from irkit.config import child_environment
from irkit.errors import EnvironmentProblem, ToolMissing


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def stderr_line(self) -> str:
        """The last non-empty stderr line, for one-line error messages."""
        lines = [ln for ln in self.stderr.decode(errors="replace").splitlines() if ln.strip()]
        return lines[-1].strip() if lines else f"exit status {self.returncode}"


class CommandFailed(EnvironmentProblem):
    def __init__(self, result: CommandResult) -> None:
        super().__init__(f"{result.argv[0]} failed: {result.stderr_line()}")
        self.result = result


class CommandRunner(Protocol):
    def which(self, tool: str) -> str | None: ...

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float | None = 60,
        check: bool = True,
    ) -> CommandResult: ...


class SubprocessRunner:
    """The real runner."""

    def which(self, tool: str) -> str | None:
        return shutil.which(tool)

    def run(
        self,
        argv: Sequence[str],
        *,
        input: bytes | None = None,
        timeout: float | None = 60,
        check: bool = True,
    ) -> CommandResult:
        args = tuple(argv)
        try:
            proc = subprocess.run(
                args,
                input=input,
                capture_output=True,
                timeout=timeout,
                check=False,
                env=child_environment(),
            )
        except FileNotFoundError as e:
            raise ToolMissing(args[0]) from e
        except subprocess.TimeoutExpired as e:
            raise EnvironmentProblem(f"{args[0]} did not finish within {timeout} s") from e
        result = CommandResult(args, proc.returncode, proc.stdout, proc.stderr)
        if check and not result.ok:
            raise CommandFailed(result)
        return result
