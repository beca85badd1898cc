"""`irkit run` and `irkit playbook list|show|validate`."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.live import Live
from rich.table import Table
from rich.text import Text

from irkit import config
from irkit.cli.output import Output, one_line, pass_output, untrusted
from irkit.cli.sealing import SealingOptions, sealing_options, writer_arguments
from irkit.engine.host import Host, real_host
from irkit.errors import ExitCode, IrkitError, UsageError
from irkit.playbook import (
    EvidenceBundle,
    InputSpec,
    Playbook,
    PlaybookError,
    RunInfo,
    Runner,
    load,
    parse_assignments,
    resolve,
)
from irkit.playbook.model import shipped_names
from irkit.playbook.planning import RunResult
from irkit.playbook.runner import release_command, verify_command

if TYPE_CHECKING:
    from irkit.playbook.evidence import BundleSettings

_STYLE = {"ok": "green", "failed": "bold red", "skipped": "dim", "running": "cyan"}


def _compact(value: Any) -> str:
    return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)


class StepView:
    """Steps as they run: a live table on a terminal, one line each otherwise."""

    def __init__(self, out: Output) -> None:
        self.out = out
        self.rows: dict[int, dict[str, Any]] = {}
        self.live: Live | None = None

    def __enter__(self) -> StepView:
        if self.out.interactive:
            self.live = Live(self._table(), console=self.out.console, refresh_per_second=8)
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind in ("plan", "step_start", "step_end"):
            row = self.rows.setdefault(event["index"], {"status": "pending", "time": ""})
            row.update(name=event["name"], action=event["action"])
            if kind == "plan":
                row["status"] = "will run" if event["will_run"] else "skipped"
                params = " ".join(f"{k}={_compact(v)}" for k, v in event["params"].items())
                row["time"] = event["reason"] or params
            elif kind == "step_start":
                row["status"] = "running"
            else:
                row["status"] = event["status"]
                row["time"] = event["error"] or f"{event['duration_s']:.2f} s"
                if self.live is None:
                    self._line(event["index"], row)
        elif kind == "run_start":
            self.out.console.print(
                f"[bold]{untrusted(event['playbook']['name'])}[/bold] against "
                f"[bold]{untrusted(event['target'])}[/] (case {untrusted(event['case'])})"
                f"{' [dim]dry run[/dim]' if event['dry_run'] else ''}"
            )
        if self.live is not None:
            self.live.update(self._table())

    def _line(self, index: int, row: dict[str, Any]) -> None:
        line = Text("  ")
        line.append(f"{row['status']:<8}", style=_STYLE.get(row["status"], ""))
        line.append(one_line(f" {index:>2} {row['name']} ({row['action']})  {row['time']}"))
        self.out.console.print(line, highlight=False)

    def _table(self) -> Table:
        table = Table(show_header=True, header_style="bold", box=None)
        for column in ("#", "step", "action", "status", "time / reason"):
            table.add_column(column)
        for index, row in sorted(self.rows.items()):
            status = Text(row["status"], style=_STYLE.get(row["status"], ""))
            cells = (Text(one_line(str(row[key]))) for key in ("name", "action", "time"))
            name, action, time = cells
            table.add_row(str(index), name, action, status, time)
        return table

    def show_plan(self) -> None:
        if self.live is None:
            for index, row in sorted(self.rows.items()):
                self._line(index, row)


def show_summary(out: Output, result: RunResult, runner: Runner, *, released: bool = False) -> None:
    """Verdict, bundle, sha256, the verify command, and what containment stays."""
    verdict = {
        "complete": "[green]complete[/]",
        "partial": "[yellow]partial: some steps failed[/]",
        "aborted": "[bold red]aborted[/]",
        "interrupted": "[bold red]interrupted[/]",
    }.get(result.status, result.status)
    out.console.print(f"\nrun {result.run_id}: {verdict}")
    if result.bundle is not None:
        mark = "" if result.bundle.complete else " [yellow](marked incomplete)[/]"
        out.console.print(f"bundle: [bold]{result.bundle.path}[/]{mark}", highlight=False)
        out.console.print(f"sha256: {result.bundle.sha256}", highlight=False)
        command = verify_command(result.bundle.path, runner.verify_args)
        out.console.print(f"verify: {command}", highlight=False)
    if result.containment and not released:
        applied = ", ".join(f"{c['step']} ({c['action']})" for c in result.containment)
        out.console.print(f"containment still applied: {applied}")
        out.console.print(f"release: {release_command(runner.target, runner.case)}")


@contextlib.contextmanager
def _error_events(out: Output) -> Iterator[None]:
    """In --json mode an error is one more JSON line, so the stream stays parseable."""
    try:
        yield
    except IrkitError as e:
        if out.json_mode:
            out.event(
                {"event": "error", "message": e.message, "hint": e.hint, "exit_code": e.exit_code}
            )
        raise


def _ask(spec: InputSpec) -> str:
    prompt = f"{spec.name} ({spec.type})" + (f": {spec.description}" if spec.description else "")
    return str(click.prompt(prompt, err=True))


@click.command("run")
@click.argument("playbook_ref", metavar="PLAYBOOK")
@click.option("--target", required=True, help="The container (name or id).")
@click.option("--input", "assignments", multiple=True, metavar="NAME=VALUE", help="An input.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="Folder for the bundle (created if missing).",
)
@click.option("--dry-run", is_flag=True, help="Print the resolved plan; change nothing.")
@sealing_options
@pass_output
def run_command(
    out: Output,
    playbook_ref: str,
    target: str,
    assignments: tuple[str, ...],
    out_dir: Path,
    dry_run: bool,
    sealing: SealingOptions,
) -> int:
    """Run PLAYBOOK (a file or a shipped name) against a container."""
    with _error_events(out):
        playbook = load(playbook_ref)
        given: dict[str, Any] = {**parse_assignments(list(assignments)), "target": target}
        if sealing.case:
            given["case"] = sealing.case
        interactive = sys.stdin.isatty() and not out.json_mode
        inputs = resolve(playbook.inputs, given, ask=_ask if interactive else None)
        host = real_host()
        view = StepView(out)
        if dry_run:
            runner = make_runner(host, playbook, inputs, out.event if out.json_mode else view)
            runner.dry_run()
            view.show_plan()
            out.say("dry run: nothing was changed")
            return ExitCode.OK
        settings = bundle_settings(sealing, host, out_dir)
        runner = make_runner(
            host,
            playbook,
            inputs,
            out.event if out.json_mode else view,
            settings,
        )
        with view:
            result = runner.run()
        if not out.json_mode:
            show_summary(out, result, runner)
        return result.exit_code


def bundle_settings(sealing: SealingOptions, host: Host, out_dir: Path) -> BundleSettings:
    """Signer and password resolved before anything runs (bad key: exit 2, nothing done)."""
    from irkit.playbook.evidence import BundleSettings

    arguments = writer_arguments(sealing, host)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot create {out_dir}: {e.strerror}") from e
    return BundleSettings(
        out_dir,
        signer=arguments["signer"],
        password=arguments["password"],
        examiner=sealing.examiner,
        force=sealing.force,
        verify_args=trust_arguments(sealing.key or config.signing_key_path(), arguments["signer"]),
    )


def make_runner(
    host: Host,
    playbook: Playbook,
    inputs: dict[str, Any],
    emit: Callable[[dict[str, Any]], None],
    settings: BundleSettings | None = None,
) -> Runner:
    """The real runner: every action bound to `host`, bundles per `settings`."""
    from irkit.playbook.builtin import default_registry  # loads every area: only when running
    from irkit.playbook.evidence import writer_opener

    return Runner(
        playbook,
        inputs,
        default_registry(host),
        clock=host.clock,
        emit=emit,
        open_bundle=writer_opener(host, settings) if settings else _no_bundle,
        verify_args=settings.verify_args if settings else "",
    )


def _no_bundle(info: RunInfo) -> EvidenceBundle:
    raise UsageError("a dry run opens no bundle")


def trust_arguments(key: Path | None, signer: object | None) -> str:
    """How the verifier is told which key to trust."""
    if signer is None:
        return "--allow-unsigned"
    public = Path(f"{key}.pub") if key else None
    return f"--pubkey {public}" if public and public.exists() else "--trust-embedded-key"


@click.group("playbook")
def playbook_group() -> None:
    """List, show and validate playbooks."""


@playbook_group.command("list")
@pass_output
def list_command(out: Output) -> int:
    """The playbooks shipped with irkit."""
    books = [load(name) for name in shipped_names()]
    if out.json_mode:
        out.data(
            [{"name": b.name, "description": b.description, "version": b.version} for b in books]
        )
        return ExitCode.OK
    table = Table(show_header=True, header_style="bold")
    for column in ("name", "steps", "description"):
        table.add_column(column)
    for b in books:
        table.add_row(b.name, str(len(b.steps)), b.description)
    out.console.print(table)
    return ExitCode.OK


@playbook_group.command("show")
@click.argument("name")
@pass_output
def show_command(out: Output, name: str) -> int:
    """Print a playbook (its YAML), by shipped name or path."""
    book = load(name)
    if out.json_mode:
        out.data({"name": book.name, "source": book.source, "text": book.text})
    else:
        click.echo(book.text, nl=False)
    return ExitCode.OK


@playbook_group.command("validate")
@click.argument("files", nargs=-1, required=True)
@pass_output
def validate_command(out: Output, files: tuple[str, ...]) -> int:
    """Check playbook files; every problem is printed as FILE:LINE: message."""
    report: list[dict[str, Any]] = []
    for ref in files:
        try:
            book = load(ref)
            report.append({"file": ref, "ok": True, "name": book.name, "problems": []})
        except PlaybookError as e:
            report.append({"file": ref, "ok": False, "name": None, "problems": e.problems})
        except UsageError as e:
            report.append({"file": ref, "ok": False, "name": None, "problems": [e.message]})
    valid = all(r["ok"] for r in report)
    if out.json_mode:
        out.data({"ok": valid, "files": report})
    for r in report:
        if r["ok"]:
            out.say(f"{r['file']}: ok ({r['name']})", highlight=False)
        for problem in r["problems"]:
            out.console.print(one_line(problem), markup=False, highlight=False)
    return ExitCode.OK if valid else ExitCode.USAGE


def register(group: click.Group) -> None:
    group.add_command(run_command)
    group.add_command(playbook_group)
