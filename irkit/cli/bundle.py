"""`irkit bundle seal|verify|show|extract` and `irkit keys generate`."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.table import Table
from rich.text import Text

from irkit.bundle.extract import extract_bundle
from irkit.bundle.files import add_paths
from irkit.bundle.layout import partial_path, sidecar_path
from irkit.bundle.reader import read_manifest
from irkit.bundle.sshsig import generate_key, load_trusted_keys
from irkit.bundle.verify import BundleRejected, TrustPolicy, VerifyReport, verify_bundle
from irkit.cli.output import Output, one_line, pass_output, untrusted
from irkit.cli.sealing import SealingOptions, open_writer, resolve_password, sealing_options
from irkit.engine.host import real_host
from irkit.errors import ExitCode, UsageError, VerificationFailed

F = TypeVar("F", bound=Callable[..., Any])
_FILE = click.Path(dir_okay=False, path_type=Path)
_BUNDLE = click.Path(dir_okay=False, path_type=Path)


@click.group()
def bundle() -> None:
    """Seal, verify, show and extract evidence bundles."""


@bundle.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_path", required=True, type=_FILE, help="The bundle to write.")
@click.option("--description", default="", help="Free text recorded in the manifest.")
@sealing_options
@pass_output
def seal(
    out: Output, paths: tuple[Path, ...], out_path: Path, description: str, sealing: SealingOptions
) -> int:
    """Seal existing files and folders into a signed bundle."""
    for path in paths:
        if not path.exists():
            raise UsageError(f"no such file or folder: {path}")
    host = real_host()
    with open_writer(sealing, out_path, host, description=description) as writer:
        own = (out_path, partial_path(out_path), sidecar_path(out_path))
        failed = add_paths(writer, host.clock, list(paths), exclude=own)
        sealed = writer.seal()
    if out.json_mode:
        out.data({"ok": not failed, "bundle": sealed, "failed_steps": failed})
    else:
        signature = sealed.signer_fingerprint or "[yellow]unsigned[/]"
        out.say(f"sealed {sealed.artifact_count} artifacts into [bold]{sealed.path}[/]")
        out.say(f"  sha256 {sealed.sha256}  size {sealed.size}  signer {signature}")
        for step in failed:
            out.warn(f"step failed: {step} (see the manifest)")
    return ExitCode.PARTIAL if failed else ExitCode.OK


def _trust_options(func: F) -> F:
    """--pubkey / --allowed-signers / --trust-embedded-key / --allow-unsigned / --password-file."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        pubkey, allowed = kwargs.pop("pubkey"), kwargs.pop("allowed_signers")
        if pubkey and allowed:
            raise UsageError("give --pubkey or --allowed-signers, not both")
        keyfile = pubkey or allowed
        kwargs["policy"] = TrustPolicy(
            trusted_keys=load_trusted_keys(keyfile) if keyfile else (),
            trust_embedded_key=kwargs.pop("trust_embedded_key"),
            allow_unsigned=kwargs.pop("allow_unsigned"),
        )
        return func(*args, **kwargs)

    options = [
        click.option("--pubkey", type=_FILE, help="Trusted signer key (.pub)."),
        click.option("--allowed-signers", type=_FILE, help="OpenSSH allowed_signers file."),
        click.option(
            "--trust-embedded-key", is_flag=True, help="Accept the key carried by the bundle."
        ),
        click.option("--allow-unsigned", is_flag=True, help="Accept a bundle without signature."),
        _password_file_option,
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


_password_file_option = click.option(
    "--password-file", type=_FILE, help="Password of an encrypted bundle [IRKIT_BUNDLE_PASSWORD]."
)


def _password(bundle_path: Path, password_file: Path | None) -> bytes | None:
    """The password if one is given, else a TTY prompt only when the bundle is encrypted."""
    given = resolve_password(password_file, prompt=False)
    if given is not None:
        return given
    try:
        read_manifest(bundle_path, None)
    except VerificationFailed as e:
        if "encrypted" in e.message:
            return resolve_password(None, prompt=True)
    return None


def _report_document(report: VerifyReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "path": report.path,
        "bundle_sha256": report.bundle_sha256,
        "sidecar": report.sidecar,
        "members": report.members,
        "artifacts": report.artifacts,
        "complete": report.complete,
        "incomplete_reason": report.incomplete_reason,
        "signature": report.signature,
        "failures": list(report.failures),
        "verified_event": report.verified_event,
    }


def _say_report(out: Output, report: VerifyReport) -> None:
    sig = report.signature
    if sig.valid:
        pin = "pinned" if sig.pinned else "[yellow]not pinned[/]"
        out.say(f"signature: valid, key {sig.fingerprint} ({pin})")
    out.say(f"members: {report.members}, artifacts: {report.artifacts}, sidecar: {report.sidecar}")
    if report.bundle_sha256:
        out.say(f"bundle sha256: {report.bundle_sha256}")
    if report.complete is False:
        out.warn(f"the bundle is authentic but INCOMPLETE: {untrusted(report.incomplete_reason)}")
    for failure in report.failures:
        out.console.print(f"[bold red]FAIL[/] {untrusted(failure)}", highlight=False)
    if report.ok:
        out.say(f"[green]verified[/]: {untrusted(report.path)}")


@bundle.command()
@click.argument("bundle_path", metavar="BUNDLE", type=_BUNDLE)
@_trust_options
@pass_output
def verify(out: Output, bundle_path: Path, policy: TrustPolicy, password_file: Path | None) -> int:
    """Check every member, the manifest, the signature and the custody chain (exit 3 on failure)."""
    report = verify_bundle(
        bundle_path, policy=policy, password=_password(bundle_path, password_file)
    )
    if out.json_mode:
        out.data(_report_document(report))
    else:
        _say_report(out, report)
    report.raise_for_failures()
    return ExitCode.OK


@bundle.command()
@click.argument("bundle_path", metavar="BUNDLE", type=_BUNDLE)
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False, path_type=Path))
@_trust_options
@pass_output
def extract(
    out: Output,
    bundle_path: Path,
    directory: Path,
    policy: TrustPolicy,
    password_file: Path | None,
) -> int:
    """Verify exactly as `verify` does, then extract into DIR (new or empty)."""
    password = _password(bundle_path, password_file)
    try:
        result = extract_bundle(bundle_path, directory, policy=policy, password=password)
    except BundleRejected as e:
        if out.json_mode:
            out.data(_report_document(e.report))
        else:
            _say_report(out, e.report)
        raise
    if out.json_mode:
        out.data({**_report_document(result.report), "directory": result.directory})
    else:
        _say_report(out, result.report)
        out.say(f"extracted {result.files} members into [bold]{result.directory}[/]")
        out.say(f"custody continued in {result.custody_file}")
    return ExitCode.OK


@bundle.command()
@click.argument("bundle_path", metavar="BUNDLE", type=_BUNDLE)
@_password_file_option
@pass_output
def show(out: Output, bundle_path: Path, password_file: Path | None) -> int:
    """Show case, targets, times, steps and artifacts (no verification: use `verify`)."""
    manifest = read_manifest(bundle_path, _password(bundle_path, password_file))
    if out.json_mode:
        out.data(manifest)
        return ExitCode.OK
    out.say(f"[bold]{untrusted(bundle_path)}[/] (not verified here: run 'irkit bundle verify')")
    for line in _show_lines(manifest):
        out.say(line, markup=False)
    out.console.print(
        _table("steps", ("name", "status", "started", "ended", "error"), manifest.get("steps"))
    )
    out.console.print(
        _table("artifacts", ("path", "size", "sha256", "step"), manifest.get("artifacts"))
    )
    return ExitCode.OK


def _show_lines(manifest: dict[str, Any]) -> list[str]:
    """The header of `bundle show`; every value comes from an unverified bundle."""
    case = _mapping(manifest.get("case"))
    signer = _mapping(manifest.get("signer"))
    lines = [
        f"case {case.get('id')}  examiner {case.get('examiner')}  {case.get('description')}",
        f"from {manifest.get('started')} to {manifest.get('ended')}",
        f"complete: {manifest.get('complete')}  {manifest.get('incomplete_reason') or ''}",
        f"signer: {signer.get('fingerprint') or 'unsigned'}",
    ]
    targets = manifest.get("targets")
    for target in targets if isinstance(targets, list) else []:
        t = _mapping(target)
        lines.append(f"target: {t.get('name')} {t.get('container_id')} {t.get('image')}")
    return [one_line(line) for line in lines]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _table(title: str, columns: tuple[str, ...], rows: Any) -> Table:
    table = Table(title=title, show_header=True, header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict):
            cells = (row.get(c) for c in columns)
            table.add_row(*(Text(one_line(str(c if c is not None else ""))) for c in cells))
    return table


@click.group()
def keys() -> None:
    """Signing keys."""


@keys.command()
@click.option("--out", "directory", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--comment", default="irkit", help="Identity recorded with the public key.")
@pass_output
def generate(out: Output, directory: Path, comment: str) -> int:
    """Write DIR/irkit_ed25519 (mode 0600) and DIR/irkit_ed25519.pub."""
    key = generate_key(directory, comment)
    if out.json_mode:
        out.data({"ok": True, "key": key})
    else:
        out.say(f"private key {key.private_path} (keep it secret)")
        out.say(f"public key  {key.public_path}  {key.fingerprint}")
    return ExitCode.OK


def register(group: click.Group) -> None:
    group.add_command(bundle)
    group.add_command(keys)
