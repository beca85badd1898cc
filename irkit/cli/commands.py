"""Every command of the CLI and the module that defines it.

The group imports a module only when one of its commands runs (or on
--help), so `irkit isolate` does not pay for pyzipper or the bundle code:
start-up time is part of the containment budget. Each module exposes
`register(group)`.
"""

from __future__ import annotations

import importlib

import click

COMMANDS = {
    "doctor": "irkit.cli.doctor",
    "bundle": "irkit.cli.bundle",
    "keys": "irkit.cli.bundle",
    "isolate": "irkit.cli.contain",
    "release": "irkit.cli.contain",
    "block-ip": "irkit.cli.contain",
    "unblock-ip": "irkit.cli.contain",
    "status": "irkit.cli.contain",
    "collect": "irkit.cli.collect",
    "triage": "irkit.cli.collect",
    "capture": "irkit.cli.capture",
    "capture-image": "irkit.cli.capture",
    "run": "irkit.cli.playbook",
    "playbook": "irkit.cli.playbook",
    "demo": "irkit.cli.demo",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(COMMANDS) | set(self.commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if cmd_name not in self.commands and module is not None:
            importlib.import_module(module).register(self)
        return self.commands.get(cmd_name)
