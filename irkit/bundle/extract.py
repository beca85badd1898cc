"""Safe extraction: verify while writing into a private staging directory, and
move it into place only when everything verified.

No member can land outside the destination (names were checked before any
read, every path is resolved again, files are created O_EXCL|O_NOFOLLOW).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from irkit.bundle import reader
from irkit.bundle.custody import CustodyChain, current_actor
from irkit.bundle.verify import DEFAULT_POLICY, TrustPolicy, VerifyReport, verify_bundle
from irkit.engine.clock import Clock, SystemClock
from irkit.errors import EnvironmentProblem, UsageError, VerificationFailed

EXTRACTED_CUSTODY = "custody-extracted.jsonl"


@dataclass(frozen=True)
class ExtractResult:
    directory: Path
    files: int
    custody_file: Path
    report: VerifyReport


class _Staging:
    """Opens each member's file inside the staging root, refusing any escape."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.files = 0
        self._open: BinaryIO | None = None

    def open(self, name: str) -> Callable[[bytes], object]:
        self.close()
        target = (self.root / name).resolve()
        if not target.is_relative_to(self.root) or target == self.root:
            raise UsageError(f"member {name!r} would land outside the destination")
        target.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
        self._open = os.fdopen(os.open(target, flags, 0o644), "wb")
        self.files += 1
        return self._open.write

    def close(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None


def _prepare(dest: Path) -> None:
    if dest.is_symlink() or (dest.exists() and not dest.is_dir()):
        raise UsageError(f"{dest} exists and is not a directory")
    if dest.is_dir() and any(dest.iterdir()):
        raise UsageError(f"{dest} is not empty; extract into a new or empty directory")
    if not dest.parent.is_dir():
        raise UsageError(f"directory {dest.parent} does not exist")


def _check_space(bundle: Path, dest: Path) -> None:
    try:
        size = bundle.stat().st_size
        free = shutil.disk_usage(dest.parent).free
    except OSError:
        return
    if size > free:
        raise EnvironmentProblem(f"not enough free space in {dest.parent} for {bundle}")


def extract_bundle(
    bundle: Path,
    dest: Path,
    *,
    policy: TrustPolicy = DEFAULT_POLICY,
    password: bytes | None = None,
    limits: reader.Limits = reader.DEFAULT_LIMITS,
    clock: Clock | None = None,
) -> ExtractResult:
    """Verify and extract; raises VerificationFailed (nothing left in DEST) on any failure."""
    clock = clock or SystemClock()
    dest = Path(dest)
    _prepare(dest)
    _check_space(bundle, dest)
    staging = dest.parent / f".{dest.name}.irkit-partial-{uuid.uuid4().hex[:8]}"
    staging.mkdir(mode=0o700)
    files = _Staging(staging)
    try:
        try:
            report = verify_bundle(
                bundle,
                policy=policy,
                password=password,
                limits=limits,
                clock=clock,
                member_sink=files.open,
            )
        finally:
            files.close()
        report.raise_for_failures()
        custody = _write_custody(staging, report, dest, clock)
        staging.chmod(0o755)
        if dest.is_dir():
            dest.rmdir()
        staging.rename(dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExtractResult(dest, files.files, dest / custody.name, report)


def _write_custody(staging: Path, report: VerifyReport, dest: Path, clock: Clock) -> Path:
    """The bundle's chain, its `verified` event and an `extracted` event, in a file
    beside the members (the bundle's own custody.jsonl stays as sealed)."""
    if report.verified_event is None or report.manifest is None:
        raise VerificationFailed("nothing verified; not extracting")
    chain = CustodyChain(
        str(report.manifest.get("bundle_id")), current_actor(), clock, report.custody_lines
    )
    chain.append(
        "verified", str(report.verified_event["detail"]), bundle_sha256=report.bundle_sha256
    )
    chain.append("extracted", f"{report.members} members into {dest.resolve()}")
    path = staging / EXTRACTED_CUSTODY
    try:
        with open(path, "xb") as f:
            f.write(chain.text())
    except FileExistsError as e:
        raise VerificationFailed(f"the bundle itself holds a member named {path.name}") from e
    return path
