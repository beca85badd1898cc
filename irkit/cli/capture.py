"""CLI commands of the capture area (to be filled by its issue)."""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    """No commands yet."""
