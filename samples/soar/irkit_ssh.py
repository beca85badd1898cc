#!/usr/bin/env python3
"""Run an irkit playbook on a Docker host over SSH and read its JSON-lines events.

What a SOAR platform does to call irkit: one SSH command, one JSON object per
line on stdout, the `result` event last, the exit code as documented in the
irkit README. Standard library only; copy it into your SOAR's script runner.

    irkit_ssh.py --host root@docker1 contain-and-collect --target web \
        --input attacker=203.0.113.7 --out /var/lib/irkit/cases

As a library: `run_playbook(host, playbook, target, inputs, ...)` returns the
`result` event (a dict) and calls `on_event` for every event on the way.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

Event = dict[str, Any]


class IrkitFailed(RuntimeError):
    def __init__(self, message: str, exit_code: int, events: list[Event]) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.events = events


def remote_command(
    playbook: str,
    target: str,
    inputs: dict[str, str],
    *,
    irkit: str = "irkit",
    out: str | None = None,
    case: str | None = None,
    dry_run: bool = False,
) -> str:
    """The command line run on the host; every word quoted for the remote shell."""
    argv = [*shlex.split(irkit), "run", playbook, "--target", target, "--json"]
    for key, value in inputs.items():
        argv += ["--input", f"{key}={value}"]
    if out:
        argv += ["--out", out]
    if case:
        argv += ["--case", case]
    if dry_run:
        argv.append("--dry-run")
    return " ".join(shlex.quote(word) for word in argv)


def run_playbook(
    host: str,
    playbook: str,
    target: str,
    inputs: dict[str, str] | None = None,
    *,
    ssh: Sequence[str] = ("ssh", "-o", "BatchMode=yes"),
    on_event: Callable[[Event], None] = lambda event: None,
    **options: Any,
) -> Event:
    """Run, stream events to `on_event`, return the `result` event (or raise)."""
    command = remote_command(playbook, target, inputs or {}, **options)
    argv = [*ssh, host, command]
    events: list[Event] = []
    with subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        for line in proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue  # not irkit's (a login banner, say)
            events.append(event)
            on_event(event)
        stderr = proc.stderr.read()
    result = next((e for e in reversed(events) if e.get("event") == "result"), None)
    if result is not None:
        return result
    error = next((e for e in reversed(events) if e.get("event") == "error"), None)
    message = error["message"] if error else (stderr.strip().splitlines() or ["no output"])[-1]
    raise IrkitFailed(message, proc.returncode, events)


def _print_event(event: Event) -> None:
    if event.get("event") == "step_end":
        error = f"  {event['error']}" if event.get("error") else ""
        print(f"{event['status']:>7}  {event['name']} ({event['action']}){error}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", required=True, help="user@host to ssh to")
    parser.add_argument("--ssh", default="ssh -o BatchMode=yes", help="ssh command")
    parser.add_argument("--irkit", default="irkit", help="command on the host (sudo irkit)")
    parser.add_argument("playbook")
    parser.add_argument("--target", required=True)
    parser.add_argument("--input", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--out")
    parser.add_argument("--case")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    inputs = dict(pair.split("=", 1) for pair in args.input)
    try:
        result = run_playbook(
            args.host,
            args.playbook,
            args.target,
            inputs,
            ssh=shlex.split(args.ssh),
            on_event=_print_event,
            irkit=args.irkit,
            out=args.out,
            case=args.case,
            dry_run=args.dry_run,
        )
    except IrkitFailed as e:
        print(json.dumps({"ok": False, "error": str(e), "exit_code": e.exit_code}))
        return e.exit_code or 1
    print(json.dumps(result))
    return int(result.get("exit_code", 1))


if __name__ == "__main__":
    sys.exit(main())
