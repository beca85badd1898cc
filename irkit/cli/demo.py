"""`irkit demo [--keep]`: the README's main command."""

from __future__ import annotations

from pathlib import Path

import click

from irkit.cli.output import Output, pass_output
from irkit.cli.playbook import StepView, show_summary
from irkit.engine.host import real_host
from irkit.errors import ExitCode


@click.command()
@click.option("--keep", is_flag=True, help="Keep the containers, network and containment.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("irkit-demo"),
    help="Folder for the bundle and the demo's signing key.",
    show_default=True,
)
@pass_output
def demo(out: Output, keep: bool, out_dir: Path) -> int:
    """Build a compromised container, contain and collect it, verify the bundle, clean up."""
    from irkit.demo import PLAYBOOK, run_demo  # loads every area: only when asked

    view = StepView(out)
    with view:
        result = run_demo(
            real_host(),
            out_dir.resolve(),
            keep=keep,
            emit=out.event if out.json_mode else view,
            say=lambda text: out.say(f"[dim]demo:[/dim] {text}"),
        )
    scenario, report = result.scenario, result.verify
    if out.json_mode:
        out.event(
            {
                "event": "demo",
                "ok": report is not None and report.ok,
                "playbook": PLAYBOOK,
                "victim": scenario.web,
                "attacker": scenario.attacker_ip,
                "verified": report is not None and report.ok,
                "public_key": result.public_key,
                "kept": result.kept,
                "leftovers": result.leftovers,
            }
        )
        return result.run.exit_code
    show_summary(out, result.run, result.runner, released=not keep)
    if report is not None and report.ok:
        out.console.print(
            f"[green]verified[/]: signature and every hash hold ({report.members} members)"
        )
    elif report is not None:
        for failure in report.failures:
            out.console.print(f"[bold red]verification failed[/]: {failure}", highlight=False)
    if keep:
        out.console.print(
            f"kept: {scenario.web}, {scenario.attacker}, network {scenario.network}; "
            f"release with: irkit run release --target {scenario.web} --case {scenario.case}"
        )
    elif result.leftovers:
        for leftover in result.leftovers:
            out.warn(f"left behind: {leftover}")
    else:
        out.console.print("scenario removed, containment released: no rule, no container left")
    if report is not None and not report.ok:
        return ExitCode.VERIFY_FAILED
    return result.run.exit_code


def register(group: click.Group) -> None:
    group.add_command(demo)
