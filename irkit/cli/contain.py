"""`irkit isolate`, `release`, `block-ip`, `unblock-ip`, `status`: thin wrappers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from irkit.cli.output import Output, pass_output, to_jsonable
from irkit.engine.host import real_host
from irkit.errors import ExitCode

if TYPE_CHECKING:
    from irkit.contain import BlockResult, ContainmentResult, StatusReport

# The library is imported inside each command: `irkit isolate` loads only its path.

_case = click.option("--case", "case", metavar="ID", help="Case id recorded in rules and state.")
_block_options = (
    click.argument("address", metavar="ADDR[/PREFIX]"),
    click.option("--port", type=int, help="Only this port (destination port of each packet)."),
    click.option("--proto", type=click.Choice(["tcp", "udp"]), help="Only this protocol."),
    click.option(
        "--direction",
        type=click.Choice(["in", "out", "both"]),
        default="both",
        show_default=True,
        help="in: from the address; out: to it.",
    ),
)


def _with_block_options(func: Any) -> Any:
    for option in reversed(_block_options):
        func = option(func)
    return func


def _containment(out: Output, result: ContainmentResult) -> int:
    if out.json_mode:
        out.data({"ok": result.ok, **_fields(result)})
    for c in result.containers:
        verdict = "[green]ok[/]" if c.ok else "[bold red]partial[/]"
        modes = ", ".join(m.value for m in c.modes)
        out.say(
            f"{result.action} {c.name} ({c.container_id[:12]}) case {c.case} [{modes}]: {verdict}"
        )
        for s in c.steps:
            mark = "ok" if s.ok else "FAILED"
            out.say(f"  {s.name}: {mark} {s.detail}".rstrip(), markup=False)
    return ExitCode.OK if result.ok else ExitCode.PARTIAL


def _block(out: Output, result: BlockResult) -> int:
    if out.json_mode:
        out.data(_fields(result))
    else:
        verb = "blocked" if result.action == "block" else "unblocked"
        out.say(f"{verb} {result.key} (case {result.case})", markup=False)
        for rule in result.rules:
            out.say(f"  {rule}", markup=False)
        if result.note:
            out.warn(result.note)
    return ExitCode.OK


def _fields(value: Any) -> dict[str, Any]:
    document: dict[str, Any] = to_jsonable(value)
    return document


@click.command("isolate")
@click.argument("containers", nargs=-1, required=True, metavar="CONTAINER...")
@click.option(
    "--mode",
    "modes",
    multiple=True,
    type=click.Choice(["firewall", "disconnect", "pause", "stop"]),
    help="How to isolate (repeat to combine); default firewall.",
)
@click.option("--allow", multiple=True, metavar="ADDR[/PREFIX][:PORT]", help="Keep this open.")
@_case
@click.option("--stop-timeout", type=int, default=10, show_default=True, help="Seconds for stop.")
@pass_output
def isolate_command(
    out: Output,
    containers: tuple[str, ...],
    modes: tuple[str, ...],
    allow: tuple[str, ...],
    case: str | None,
    stop_timeout: int,
) -> int:
    """Cut a container off: firewall, disconnect, pause or stop (combinable)."""
    from irkit.contain import isolate

    result = isolate(real_host(), containers, modes, allow, case, stop_timeout)
    return _containment(out, result)


@click.command("release")
@click.argument("containers", nargs=-1, required=True, metavar="CONTAINER...")
@pass_output
def release_command(out: Output, containers: tuple[str, ...]) -> int:
    """Undo exactly what isolate did."""
    from irkit.contain import release

    return _containment(out, release(real_host(), containers))


@click.command("block-ip")
@_with_block_options
@_case
@click.option("--force", is_flag=True, help="Block even loopback, own or SSH client addresses.")
@pass_output
def block_command(
    out: Output,
    address: str,
    port: int | None,
    proto: str | None,
    direction: str,
    case: str | None,
    force: bool,
) -> int:
    """Block an address for every container and the host."""
    from irkit.contain import block_ip, block_spec

    spec = block_spec(address, port, proto, direction)
    return _block(out, block_ip(real_host(), spec, case, force))


@click.command("unblock-ip")
@_with_block_options
@_case
@pass_output
def unblock_command(
    out: Output, address: str, port: int | None, proto: str | None, direction: str, case: str | None
) -> int:
    """Remove a block made by block-ip."""
    from irkit.contain import block_spec, unblock_ip

    spec = block_spec(address, port, proto, direction)
    return _block(out, unblock_ip(real_host(), spec, case))


@click.command("status")
@click.option(
    "--clean",
    "clean_up",
    is_flag=True,
    help="Remove what killed runs left: .partial bundles, orphaned capture sidecars.",
)
@pass_output
def status_command(out: Output, clean_up: bool) -> int:
    """Isolated containers, blocked addresses, drift from the host, and the
    leftovers of killed runs (partial bundles, capture sidecars, pcap spools)."""
    from irkit.contain import status
    from irkit.recovery import clean_leftovers, find_leftovers

    host = real_host()
    report = status(host)
    leftovers = clean_leftovers(host) if clean_up else find_leftovers(host)
    remaining = [left for left in leftovers if not left.cleaned]
    if out.json_mode:
        document = {"ok": True, "clean": report.clean and not remaining, **_fields(report)}
        out.data({**document, "leftovers": to_jsonable(leftovers)})
    else:
        _print_status(out, report)
        for left in leftovers:
            verb = "cleaned" if left.cleaned else "leftover"
            out.say(f"{verb}: {left.kind}: {left.subject}: {left.detail}", markup=False)
    return ExitCode.OK


def _print_status(out: Output, report: StatusReport) -> None:
    if not report.isolations and not report.blocks:
        out.say("nothing is contained")
    for i in report.isolations:
        modes = ", ".join(m.value for m in i.modes)
        out.say(
            f"isolated {i.name} ({i.container_id[:12]}) case {i.case} since {i.since} "
            f"[{modes}] {i.phase}",
            markup=False,
        )
        for rule in i.rules:
            out.say(f"  {rule}", markup=False)
    for b in report.blocks:
        out.say(f"blocked {b.key} case {b.case} since {b.since} {b.phase}", markup=False)
        for rule in b.rules:
            out.say(f"  {rule}", markup=False)
    for d in report.drift:
        out.say(f"drift: {d.kind}: {d.subject}: {d.detail}", markup=False, style="yellow")


def register(group: click.Group) -> None:
    for command in (
        isolate_command,
        release_command,
        block_command,
        unblock_command,
        status_command,
    ):
        group.add_command(command)
