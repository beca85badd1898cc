"""Verification: every member against SHA256SUMS and the manifest, the signature,
the custody chain and BUNDLE.sha256, naming every failure found.

Every byte of the bundle is treated as hostile; `verify_bundle` never raises for
bad content, it returns a report whose failures the CLI turns into exit 3.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from irkit.bundle import layout, reader
from irkit.bundle.custody import CustodyChain, check_chain, current_actor
from irkit.bundle.sshsig import PublicKey, check_signature
from irkit.engine.clock import Clock, SystemClock
from irkit.errors import IrkitError, VerificationFailed

METADATA = frozenset(
    {layout.MANIFEST, layout.CUSTODY, layout.SUMS, layout.SIGNATURE, layout.SIGNER}
)

# Opens the destination of one member during extraction; returns a write callable.
MemberSink = Callable[[str], Callable[[bytes], object]]


@dataclass(frozen=True)
class TrustPolicy:
    trusted_keys: tuple[PublicKey, ...] = ()
    trust_embedded_key: bool = False
    allow_unsigned: bool = False


@dataclass(frozen=True)
class SignatureReport:
    signed: bool
    valid: bool
    fingerprint: str | None
    pinned: bool
    signer: str | None  # the principal or comment of the matching trusted key


@dataclass(frozen=True)
class VerifyReport:
    path: Path
    bundle_sha256: str | None
    sidecar: str  # match | mismatch | absent
    members: int
    artifacts: int
    complete: bool | None
    incomplete_reason: str | None
    signature: SignatureReport
    failures: tuple[str, ...]
    verified_event: dict[str, Any] | None
    manifest: dict[str, Any] | None = field(default=None, repr=False)
    custody_lines: tuple[bytes, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        return not self.failures

    def raise_for_failures(self) -> None:
        if self.failures:
            raise BundleRejected(self)


class BundleRejected(VerificationFailed):
    """Verification failed; carries the full report (every failure named)."""

    def __init__(self, report: VerifyReport) -> None:
        failures = report.failures
        super().__init__(
            f"{report.path}: {len(failures)} verification failure(s): " + "; ".join(failures)
        )
        self.report = report


DEFAULT_POLICY = TrustPolicy()
_UNSIGNED = SignatureReport(False, False, None, False, None)


class _Run:
    """State of one verification pass."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.failures: list[str] = []
        self.sums: dict[str, str] = {}
        self.reads: dict[str, reader.MemberRead] = {}
        self.manifest: dict[str, Any] | None = None
        self.signature = _UNSIGNED
        self.bundle_sha256: str | None = None
        self.sidecar = "absent"

    def fail(self, message: str) -> None:
        self.failures.append(message)

    def kept(self, name: str) -> bytes | None:
        read = self.reads.get(name)
        return read.kept if read else None

    def required(self, name: str) -> bytes | None:
        """A metadata member's bytes; its absence is a failure."""
        data = self.kept(name)
        if data is None:
            self.fail(f"{name} is missing")
        return data


def verify_bundle(
    path: Path,
    *,
    policy: TrustPolicy = DEFAULT_POLICY,
    password: bytes | None = None,
    limits: reader.Limits = reader.DEFAULT_LIMITS,
    clock: Clock | None = None,
    member_sink: MemberSink | None = None,
) -> VerifyReport:
    """Check everything and return a report (failures empty when it all holds)."""
    run = _Run(Path(path))
    _read_all(run, password, limits, member_sink)
    if run.reads:
        _check_contents(run, policy)
    return _report(run, clock or SystemClock())


def _read_all(
    run: _Run, password: bytes | None, limits: reader.Limits, sink: MemberSink | None
) -> None:
    try:
        raw = reader.open_regular(run.path)
    except OSError as e:
        run.fail(f"cannot read {run.path}: {e.strerror}")
        return
    hashing = reader.HashingReader(raw)
    try:
        try:
            zf = reader.open_zip(hashing, password)
            infos = sorted(zf.infolist(), key=lambda i: i.header_offset)
        except reader.ZIP_ERRORS as e:
            run.fail(f"not a readable zip file (truncated or corrupted?): {e}")
            return
        problems = reader.structural_problems(infos, limits)
        if problems:
            run.failures.extend(problems)
            return
        if reader.is_encrypted(infos) and not password:
            run.fail("bundle is encrypted: give --password-file or IRKIT_BUNDLE_PASSWORD")
            return
        for info in infos:
            if not _read_one(run, zf, info, limits, sink):
                return
        run.bundle_sha256 = hashing.finish()
        _check_sidecar(run)
    finally:
        hashing.close()


def _read_one(
    run: _Run, zf: Any, info: Any, limits: reader.Limits, sink: MemberSink | None
) -> bool:
    name = info.filename
    keep = limits.max_metadata if name in METADATA else 0
    try:
        write = sink(name) if sink is not None else None
        run.reads[name] = reader.read_member(zf, info, keep, write)
    except RuntimeError as e:
        if "password" in str(e).lower():
            run.fail("wrong password (the bundle is encrypted with another one)")
            return False
        run.fail(f"member {name} is corrupt: {e}")
    except reader.ZIP_ERRORS as e:
        run.fail(f"member {name} is corrupt or truncated: {e}")
    except IrkitError as e:
        run.fail(f"member {name}: {e.message}")
    return True


def _check_sidecar(run: _Run) -> None:
    sidecar = layout.sidecar_path(run.path)
    try:
        with reader.open_regular(sidecar) as f:
            text = f.read(4096).decode(errors="replace")
    except FileNotFoundError:
        return
    except OSError as e:
        run.fail(f"cannot read {sidecar}: {e.strerror}")
        return
    listed = text.split()[0] if text.split() else ""
    run.sidecar = "match" if listed == run.bundle_sha256 else "mismatch"
    if run.sidecar == "mismatch":
        run.fail(f"{sidecar.name} does not match the bundle's SHA-256")


def _check_contents(run: _Run, policy: TrustPolicy) -> None:
    sums_bytes = run.required(layout.SUMS)
    if sums_bytes is None:
        return
    run.sums, problems = layout.parse_sums(sums_bytes)
    run.failures.extend(problems)
    _check_members(run)
    _check_manifest(run)
    _check_custody(run)
    run.signature = _check_signature(run, sums_bytes, policy)


def _check_members(run: _Run) -> None:
    for name in sorted(layout.UNSUMMED & run.sums.keys()):
        run.fail(f"SHA256SUMS lists {name}, which it must not cover")
    for name, digest in run.sums.items():
        read = run.reads.get(name)
        if read is None:
            run.fail(f"member {name} is listed in SHA256SUMS but missing")
        elif read.sha256 != digest:
            run.fail(f"member {name} does not match its SHA-256 in SHA256SUMS")
    for name in run.reads:
        if name not in run.sums and name not in layout.UNSUMMED:
            run.fail(f"extra member {name} is not listed in SHA256SUMS")
    for name in (layout.MANIFEST, layout.CUSTODY):
        if name not in run.sums:
            run.fail(f"{name} is not covered by SHA256SUMS")


def _check_manifest(run: _Run) -> None:
    data = run.required(layout.MANIFEST)
    if data is None:
        return
    try:
        manifest = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        run.fail("manifest.json is not valid JSON")
        return
    if not isinstance(manifest, dict):
        run.fail("manifest.json is not a JSON object")
        return
    run.manifest = manifest
    if manifest.get("format") != layout.FORMAT_NAME:
        run.fail("manifest.json is not an irkit bundle manifest")
    if manifest.get("format_version") != layout.FORMAT_VERSION:
        run.fail(f"unsupported bundle format version {manifest.get('format_version')!r}")
    artifacts = manifest.get("artifacts")
    if not isinstance(artifacts, list):
        run.fail("manifest.json has no artifact list")
        return
    listed: set[str] = set()
    for entry in artifacts:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            run.fail("manifest.json has a malformed artifact entry")
            continue
        name = entry["path"]
        listed.add(name)
        read = run.reads.get(name)
        if read is None or name not in run.sums:
            run.fail(f"manifest lists {name}, which is not in the bundle or SHA256SUMS")
            continue
        if entry.get("sha256") != read.sha256 or entry.get("sha256") != run.sums[name]:
            run.fail(f"manifest SHA-256 of {name} does not match the member")
        if entry.get("size") != read.size:
            run.fail(f"manifest size of {name} does not match the member")
    for name in run.sums:
        if name.startswith("artifacts/") and name not in listed:
            run.fail(f"member {name} is not described in manifest.json")


def _check_custody(run: _Run) -> None:
    data = run.required(layout.CUSTODY)
    if data is None:
        return
    bundle_id = run.manifest.get("bundle_id") if run.manifest else None
    chain = check_chain(data, bundle_id if isinstance(bundle_id, str) else None)
    run.failures.extend(chain.failures)
    if chain.events and chain.events[-1].get("action") != "sealed":
        run.fail("custody chain does not end with the 'sealed' event")


def _check_signature(run: _Run, sums_bytes: bytes, policy: TrustPolicy) -> SignatureReport:
    armored = run.kept(layout.SIGNATURE)
    claims_signed = bool(run.manifest and run.manifest.get("signed"))
    if armored is None:
        if claims_signed:
            run.fail("manifest says the bundle is signed, but SHA256SUMS.sig is missing")
        elif policy.trusted_keys:
            run.fail("bundle is unsigned, but a trusted key was given")
        elif not policy.allow_unsigned:
            run.fail("bundle is unsigned (its origin cannot be checked; --allow-unsigned)")
        return _UNSIGNED
    try:
        key = check_signature(armored, sums_bytes)
    except VerificationFailed as e:
        run.fail(f"signature: {e.message}")
        return SignatureReport(True, False, None, False, None)
    if not claims_signed:
        run.fail("manifest says the bundle is unsigned, but it carries a signature")
    _check_embedded_key(run, key)
    trusted = next((t for t in policy.trusted_keys if t.raw == key.raw), None)
    if policy.trusted_keys and trusted is None:
        run.fail(f"signed by {key.fingerprint}, which is not among the trusted keys")
    elif not policy.trusted_keys and not policy.trust_embedded_key:
        run.fail(
            f"signature is valid but its key {key.fingerprint} is not pinned"
            " (give --pubkey or --allowed-signers, or --trust-embedded-key)"
        )
    signer = trusted.comment if trusted else None
    return SignatureReport(True, True, key.fingerprint, trusted is not None, signer)


def _check_embedded_key(run: _Run, key: PublicKey) -> None:
    embedded = run.required(layout.SIGNER)
    if embedded is None:
        return
    try:
        if PublicKey.from_openssh(embedded.decode(errors="replace")).raw != key.raw:
            run.fail("signer.pub is not the key that made the signature")
    except IrkitError as e:
        run.fail(f"signer.pub: {e.message}")
    signer = run.manifest.get("signer") if run.manifest else None
    if not isinstance(signer, dict) or signer.get("fingerprint") != key.fingerprint:
        run.fail("manifest signer fingerprint does not match the signature")


def _report(run: _Run, clock: Clock) -> VerifyReport:
    manifest = run.manifest or {}
    custody = run.kept(layout.CUSTODY) or b""
    lines = tuple(custody.splitlines(keepends=True))
    event = None
    if run.manifest is not None:
        chain = CustodyChain(str(manifest.get("bundle_id")), current_actor(), clock, lines)
        verdict = "ok" if not run.failures else f"failed: {len(run.failures)} failure(s)"
        event = chain.append("verified", verdict, bundle_sha256=run.bundle_sha256)
    artifacts = manifest.get("artifacts")
    complete = manifest.get("complete")
    reason = manifest.get("incomplete_reason")
    return VerifyReport(
        path=run.path,
        bundle_sha256=run.bundle_sha256,
        sidecar=run.sidecar,
        members=len(run.reads),
        artifacts=len(artifacts) if isinstance(artifacts, list) else 0,
        complete=complete if isinstance(complete, bool) else None,
        incomplete_reason=reason if isinstance(reason, str) else None,
        signature=run.signature,
        failures=tuple(run.failures),
        verified_event=event,
        manifest=run.manifest,
        custody_lines=lines,
    )
