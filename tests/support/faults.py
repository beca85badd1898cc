"""Helpers for fault tests: irkit as a process to kill, and waiting on what it writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]


def irkit_env(state_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment irkit runs in under test: its own state dir, no colour."""
    return {
        **os.environ,
        "IRKIT_STATE_DIR": str(state_dir),
        "NO_COLOR": "1",
        "PYTHONPATH": str(REPO_ROOT),
        **(extra or {}),
    }


def spawn(state_dir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`python -m irkit ARGS` in the background, as the irkit_cli fixture runs it."""
    return subprocess.Popen(
        [sys.executable, "-m", "irkit", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=irkit_env(state_dir, env),
    )


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def grows_past(path: Path, size: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return path.stat().st_size > size
        except FileNotFoundError:
            return False

    return check


def events(stdout: str) -> Iterator[dict[str, Any]]:
    for line in stdout.splitlines():
        if line.strip():
            yield json.loads(line)


def assert_no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "internal error" not in stderr, stderr


def big_file_container(make_container: Callable[..., Any], mb: int) -> Any:
    """A running victim holding an `mb` MiB file, so its export streams for a while."""
    victim = make_container(
        ["sh", "-c", f"dd if=/dev/zero of=/big bs=1M count={mb} && touch /ready; sleep 1d"]
    )
    wait_for(lambda: victim.exec_run(["test", "-f", "/ready"]).exit_code == 0, "the big file", 60)
    return victim
