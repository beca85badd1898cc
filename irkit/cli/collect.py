"""`irkit collect` and `irkit triage`."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import click
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn
from rich.table import Table

from irkit.cli.output import Output, pass_output, to_jsonable, untrusted
from irkit.cli.sealing import SealingOptions, open_writer, sealing_options
from irkit.collect import (
    DEFAULT_DIFF_LIMIT,
    DEFAULT_EXPORT_LIMIT,
    DEFAULT_PCAP_SECONDS,
    REGISTRY,
    CollectOptions,
    ProgressEvent,
    collect,
    resolve_targets,
    select,
)
from irkit.collect.triage import Severity, triage
from irkit.engine.host import real_host
from irkit.errors import ExitCode, UsageError

_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)
_STATUS_STYLE = {"ok": "green", "skipped": "yellow", "failed": "bold red"}
_SEVERITY_STYLE = {
    Severity.HIGH: "bold red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def parse_size(text: str) -> int:
    """'2G', '500M', '1024' -> bytes (binary multiples)."""
    match = _SIZE.match(text)
    if not match:
        raise UsageError(f"not a size: {text!r}", hint="e.g. 1024, 500M, 2G")
    return int(match.group(1)) << (10 * " kmgt".index(match.group(2).lower() or " "))


def parse_time(text: str | None) -> datetime | None:
    """RFC 3339 / ISO 8601 (naive means UTC) or Unix seconds."""
    if not text:
        return None
    try:
        return datetime.fromtimestamp(float(text), timezone.utc)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise UsageError(f"not a time: {text!r}", hint="e.g. 2026-11-25T10:00:00Z") from e
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class _Display:
    """Progress on stderr: a live bar on a terminal, a line per step otherwise,
    JSON lines on stdout with --json."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}
        if out.interactive:
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                console=out.console,
                transient=True,
            )

    def __enter__(self) -> _Display:
        if self.progress is not None:
            self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()

    def __call__(self, event: ProgressEvent) -> None:
        if self.progress is not None and event.kind == "start":
            self.tasks[event.step] = self.progress.add_task(event.step, total=None)
        elif self.progress is not None and event.kind == "bytes":
            self.progress.update(self.tasks[event.step], completed=event.bytes)
        elif event.kind == "done" and event.record is not None:
            if self.progress is not None:
                self.progress.remove_task(self.tasks.pop(event.step))
            record = event.record
            if self.out.json_mode:
                self.out.event({"event": "step", **to_jsonable(record)})
                return
            style = _STATUS_STYLE[record.status.value]
            reason = f": {untrusted(record.error)}" if record.error else ""
            self.out.console.print(
                f"[{style}]{record.status.value:>7}[/] {untrusted(record.name)}{reason}",
                highlight=False,
            )


@click.command("collect")
@click.argument("containers", nargs=-1, required=True)
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--artifacts",
    help="Comma-separated, from: "
    + ", ".join(f"{n}{'' if a.default else ' (opt-in)'}" for n, a in sorted(REGISTRY.items()))
    + ", pcap (opt-in: a packet capture around the whole collection)"
    + ". Default: all but the opt-in ones; export only up to --export-limit.",
)
@click.option(
    "--pcap-seconds",
    type=click.FloatRange(min=0),
    default=DEFAULT_PCAP_SECONDS,
    show_default=True,
    help="With pcap: capture at least this long (and until the collection ends).",
)
@click.option("--since", help="Logs from this time (RFC 3339 or Unix seconds).")
@click.option("--until", help="Logs up to this time (RFC 3339 or Unix seconds).")
@click.option(
    "--export-limit",
    default=str(DEFAULT_EXPORT_LIMIT >> 30) + "G",
    show_default=True,
    help="Skip the default export of a larger filesystem.",
)
@click.option(
    "--diff-limit",
    default=str(DEFAULT_DIFF_LIMIT >> 20) + "M",
    show_default=True,
    help="Total bytes of changed files copied by diff.",
)
@sealing_options
@pass_output
def collect_command(
    out: Output,
    containers: tuple[str, ...],
    out_path: Path,
    artifacts: str | None,
    since: str | None,
    until: str | None,
    export_limit: str,
    diff_limit: str,
    pcap_seconds: float,
    sealing: SealingOptions,
) -> int:
    """Collect evidence of CONTAINERS from the host into one signed bundle.

    With --json, stdout carries JSON lines: one {"event": "step"} per step,
    then one {"event": "result"} with the sealed bundle.
    """
    names = artifacts.split(",") if artifacts else None
    options = CollectOptions(
        since=parse_time(since),
        until=parse_time(until),
        export_limit=parse_size(export_limit),
        diff_limit=parse_size(diff_limit),
        pcap_seconds=pcap_seconds,
    )
    select(names)  # bad input fails before a bundle is opened
    host = real_host()
    resolve_targets(host.docker, containers)
    description = f"irkit collect {' '.join(containers)}"
    with (
        open_writer(sealing, out_path, host, description=description) as writer,
        _Display(out) as display,
    ):
        result = collect(
            host, containers, writer, names, options, on_event=display, notice=out.notice
        )
        lost = result.engine_lost and f"the Docker engine stopped answering: {result.engine_lost}"
        sealed = writer.seal(complete=not lost, reason=lost or None)
    failed = [s.name for s in result.failed()]
    if out.json_mode:
        out.event(
            {
                "event": "result",
                "ok": result.ok and not lost,
                "bundle": sealed,
                "failed_steps": failed,
                "incomplete_reason": lost or None,
            }
        )
    else:
        out.say(f"collected {sealed.artifact_count} artifacts into [bold]{sealed.path}[/]")
        out.say(f"  sha256 {sealed.sha256}  size {sealed.size}")
        if failed:
            out.warn(f"{len(failed)} steps failed: {', '.join(failed)} (see the manifest)")
    if lost:
        out.warn(f"the bundle is sealed as INCOMPLETE: {lost}")
        return ExitCode.ENVIRONMENT
    return ExitCode.OK if result.ok else ExitCode.PARTIAL


@click.command("triage")
@click.argument("container")
@pass_output
def triage_command(out: Output, container: str) -> int:
    """A read-only, one-screen risk summary of CONTAINER. Changes nothing."""
    report = triage(real_host(), container)
    if out.json_mode:
        out.data({"ok": True, **to_jsonable(report)})
        return ExitCode.OK
    out.console.print(
        f"[bold]{untrusted(report.name)}[/] {report.container[:12]} ({untrusted(report.status)})"
    )
    table = Table(show_header=True, header_style="bold")
    for column in ("severity", "check", "finding"):
        table.add_column(column)
    for f in report.findings:
        # Findings quote process command lines and paths the container chose.
        table.add_row(
            f"[{_SEVERITY_STYLE[f.severity]}]{f.severity.value}[/]",
            untrusted(f.check),
            untrusted(f.message),
        )
    out.console.print(table)
    for note in report.notes:
        out.warn(untrusted(note))
    return ExitCode.OK


def register(group: click.Group) -> None:
    group.add_command(collect_command)
    group.add_command(triage_command)
