"""Reusable CLI pieces for every command that writes a bundle (seal, collect, run).

`@sealing_options` adds --key, --password-file, --encrypt, --no-sign, --case,
--examiner and --force and hands the command one `sealing: SealingOptions`;
`open_writer()` turns them into a `BundleWriter`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from irkit import config
from irkit.bundle.custody import current_actor
from irkit.bundle.facts import gather_host_facts
from irkit.bundle.manifest import CaseInfo
from irkit.bundle.sshsig import Signer, load_signer
from irkit.bundle.writer import BundleWriter
from irkit.engine.host import Host
from irkit.errors import UsageError

F = TypeVar("F", bound=Callable[..., Any])
MAX_PASSWORD_FILE = 4096


@dataclass(frozen=True)
class SealingOptions:
    key: Path | None
    password_file: Path | None
    encrypt: bool
    no_sign: bool
    case: str | None
    examiner: str | None
    force: bool


def read_password_file(path: Path) -> bytes:
    """The first line of FILE (its trailing newline is not part of the password)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_PASSWORD_FILE + 1)
    except OSError as e:
        raise UsageError(f"cannot read password file {path}: {e.strerror}") from e
    if len(data) > MAX_PASSWORD_FILE:
        raise UsageError(f"password file {path} is too large")
    password = data.split(b"\n", 1)[0].rstrip(b"\r")
    if not password:
        raise UsageError(f"password file {path} is empty")
    return password


def resolve_password(
    password_file: Path | None, *, prompt: bool, confirm: bool = False
) -> bytes | None:
    """--password-file, then IRKIT_BUNDLE_PASSWORD, then a TTY prompt when `prompt`.

    Never prompts when stdin is not a terminal: scripts must not hang.
    """
    if password_file is not None:
        return read_password_file(password_file)
    from_env = config.bundle_password()
    if from_env or not prompt:
        return from_env
    if not sys.stdin.isatty():
        raise UsageError(
            "a password is needed and stdin is not a terminal",
            hint="give --password-file FILE or set IRKIT_BUNDLE_PASSWORD",
        )
    value: str = click.prompt(
        "Bundle password", hide_input=True, confirmation_prompt=confirm, err=True
    )
    if not value:
        raise UsageError("empty password")
    return value.encode()


def resolve_signer(options: SealingOptions) -> Signer | None:
    key = options.key or config.signing_key_path()
    if options.no_sign:
        if options.key is not None:
            raise UsageError("--key and --no-sign contradict each other")
        return None
    if key is None:
        raise UsageError(
            "no signing key: give --key FILE or set IRKIT_SIGNING_KEY (or --no-sign)",
            hint="create one with 'irkit keys generate --out DIR'",
        )
    return load_signer(key)


def sealing_options(func: F) -> F:
    """Add the sealing options; the command receives them as `sealing`."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["sealing"] = SealingOptions(
            key=kwargs.pop("key"),
            password_file=kwargs.pop("password_file"),
            encrypt=kwargs.pop("encrypt"),
            no_sign=kwargs.pop("no_sign"),
            case=kwargs.pop("case"),
            examiner=kwargs.pop("examiner"),
            force=kwargs.pop("force"),
        )
        return func(*args, **kwargs)

    path = click.Path(dir_okay=False, path_type=Path)
    options = [
        click.option("--key", type=path, help="OpenSSH Ed25519 signing key [IRKIT_SIGNING_KEY]."),
        click.option(
            "--password-file",
            type=path,
            help="Encrypt with AES-256; password from FILE [IRKIT_BUNDLE_PASSWORD].",
        ),
        click.option(
            "--encrypt", is_flag=True, help="Encrypt; ask for the password on a terminal."
        ),
        click.option("--no-sign", is_flag=True, help="Seal without a signature (not advised)."),
        click.option("--case", help="Case identifier recorded in the manifest."),
        click.option("--examiner", help="Examiner's name (default: the current user)."),
        click.option("--force", is_flag=True, help="Overwrite an existing bundle."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def writer_arguments(options: SealingOptions, host: Host) -> dict[str, Any]:
    """Keyword arguments of `BundleWriter` (all but path and case) from the options."""
    signer = resolve_signer(options)
    password = resolve_password(options.password_file, prompt=options.encrypt, confirm=True)
    return {"clock": host.clock, "signer": signer, "password": password, "force": options.force}


def case_info(options: SealingOptions, host: Host, description: str = "") -> CaseInfo:
    case_id = options.case or f"irkit-{host.clock.now():%Y%m%dT%H%M%SZ}"
    return CaseInfo(case_id, options.examiner or current_actor().user, description)


def open_writer(
    options: SealingOptions,
    out: Path,
    host: Host,
    *,
    description: str = "",
    with_engine: bool = True,
) -> BundleWriter:
    """A BundleWriter for OUT with the options' key, password, case and force."""
    arguments = writer_arguments(options, host)
    facts = gather_host_facts(host, with_engine=with_engine)
    case = case_info(options, host, description)
    return BundleWriter(out, case, host_facts=facts, state_dir=host.state_dir, **arguments)
