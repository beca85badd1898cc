"""Helpers for bundle tests: a fixed clock, keys, small bundles, zip surgery."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from irkit.bundle.manifest import CaseInfo
from irkit.bundle.sshsig import PublicKey, Signer
from irkit.bundle.verify import TrustPolicy
from irkit.bundle.writer import BundleWriter, SealedBundle

CASE = CaseInfo("case-1", "alice", "test case")


class FixedClock:
    """Advances one second per reading, so every time is distinct and known."""

    def __init__(self) -> None:
        self.moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

    def now(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment

    def monotonic(self) -> float:
        return self.moment.timestamp()


def new_signer(comment: str = "alice") -> Signer:
    return Signer(Ed25519PrivateKey.generate(), comment)


def trusting(*signers: Signer) -> TrustPolicy:
    return TrustPolicy(trusted_keys=tuple(PublicKey(s.public_key.raw, "t") for s in signers))


def build_bundle(
    path: Path,
    signer: Signer | None,
    *,
    password: bytes | None = None,
    extra: Callable[[BundleWriter], None] | None = None,
) -> SealedBundle:
    with BundleWriter(path, CASE, FixedClock(), signer=signer, password=password) as writer:
        writer.add_bytes("notes/a.txt", b"hello evidence\n", step="notes", source="test")
        writer.add_stream(
            "logs/big.log", (bytes([i]) * 65536 for i in range(40)), step="logs", source="gen"
        )
        writer.add_json("inspect.json", {"Id": "abc", "n": 1}, step="inspect", source="api")
        if extra is not None:
            extra(writer)
        return writer.seal()


def read_members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def write_members(path: Path, members: dict[str, bytes] | list[tuple[str, bytes]]) -> None:
    """Rewrite a bundle with the given members (plain zip), as a tamperer would."""
    items = members.items() if isinstance(members, dict) else members
    path.unlink(missing_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in items:
            zf.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), data)
