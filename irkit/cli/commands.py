"""Every command module of the CLI; each exposes `register(group)`."""

from __future__ import annotations

import importlib

import click

COMMAND_MODULES = (
    "irkit.cli.doctor",
    "irkit.cli.bundle",
    "irkit.cli.contain",
    "irkit.cli.collect",
    "irkit.cli.capture",
    "irkit.cli.playbook",
    "irkit.cli.demo",
)


def register_all(group: click.Group) -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(group)
