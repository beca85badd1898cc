"""One error family for the whole library.

Every error a user can meet carries a one-line message, an optional hint (how
to fix it) and the exit code the CLI returns. The CLI catches `IrkitError` in
exactly one place (`irkit.cli.main.main`).
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Stable, documented exit codes (see README)."""

    OK = 0
    PARTIAL = 1
    USAGE = 2
    VERIFY_FAILED = 3
    ENVIRONMENT = 4
    INTERNAL = 70
    INTERRUPTED = 130


class IrkitError(Exception):
    """Base class: a user-facing message and an exit code."""

    exit_code: ExitCode = ExitCode.USAGE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(IrkitError):
    """Bad input: an argument, an address, a playbook, a file name."""

    exit_code = ExitCode.USAGE


class ContainerNotFound(UsageError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"no such container: {ref}")
        self.ref = ref


class VerificationFailed(IrkitError):
    """Evidence does not verify: tampered, truncated, wrong key or password."""

    exit_code = ExitCode.VERIFY_FAILED


class EnvironmentProblem(IrkitError):
    """The host lacks something irkit needs: engine, root, iptables, a tool."""

    exit_code = ExitCode.ENVIRONMENT


class EngineUnavailable(EnvironmentProblem):
    def __init__(self, detail: str) -> None:
        super().__init__(
            f"no Docker engine answers: {detail}",
            hint="start one: 'systemctl start docker' or 'dockerd &' as root (or set DOCKER_HOST)",
        )


class ToolMissing(EnvironmentProblem):
    def __init__(self, tool: str, package: str | None = None) -> None:
        fix = f"install it (apt-get install {package or tool})"
        super().__init__(f"required tool not found: {tool}", hint=fix)
        self.tool = tool


class SinkBroken(EnvironmentProblem):
    """Evidence can no longer be written (disk full, I/O error): the run must stop,
    since every later step would be lost too."""


class EngineError(IrkitError):
    """The engine answered, but refused or failed an operation."""

    exit_code = ExitCode.PARTIAL


class Interrupted(IrkitError):
    exit_code = ExitCode.INTERRUPTED

    def __init__(self, message: str = "interrupted") -> None:
        super().__init__(message)
