"""`irkit doctor`."""

from __future__ import annotations

import click
from rich.table import Table

from irkit.cli.output import Output, pass_output
from irkit.doctor import Status, run_checks
from irkit.engine.host import real_host
from irkit.errors import ExitCode

_STYLE = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "bold red"}


@click.command()
@pass_output
def doctor(out: Output) -> int:
    """Check that this host can run containment and collection."""
    report = run_checks(real_host())
    if out.json_mode:
        out.data({"ok": report.ready, "checks": report.checks})
    else:
        table = Table(show_header=True, header_style="bold")
        for column in ("check", "status", "detail", "fix"):
            table.add_column(column)
        for c in report.checks:
            table.add_row(c.name, f"[{_STYLE[c.status]}]{c.status.value}[/]", c.detail, c.fix)
        out.console.print(table)
        verdict = "ready" if report.ready else "not ready"
        out.console.print(f"irkit is [bold]{verdict}[/bold] on this host.")
    return ExitCode.OK if report.ready else ExitCode.ENVIRONMENT


def register(group: click.Group) -> None:
    group.add_command(doctor)
