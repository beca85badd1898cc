"""Tampered and hostile bundles: every change is named, nothing escapes DIR."""

from __future__ import annotations

import stat
import struct
import zipfile
from pathlib import Path

import pytest

from irkit.bundle import layout
from irkit.bundle.extract import EXTRACTED_CUSTODY, extract_bundle
from irkit.bundle.reader import Limits
from irkit.bundle.verify import verify_bundle
from irkit.errors import UsageError, VerificationFailed
from tests.support.bundles import build_bundle, new_signer, read_members, trusting, write_members

SIGNER = new_signer()
POLICY = trusting(SIGNER)


@pytest.fixture
def bundle(tmp_path) -> Path:
    path = tmp_path / "b.zip"
    build_bundle(path, SIGNER)
    return path


def _tampered(bundle: Path, change) -> tuple[str, ...]:
    members = read_members(bundle)
    write_members(bundle, change(members))
    layout.sidecar_path(bundle).unlink()  # so that only the bundle's own checks can catch it
    report = verify_bundle(bundle, policy=POLICY)
    assert not report.ok
    return report.failures


def _flip(data: bytes) -> bytes:
    return data[:-2] + bytes([data[-2] ^ 0x01]) + data[-1:]


def test_untouched_rewrite_still_verifies(bundle) -> None:
    members = read_members(bundle)
    write_members(bundle, members)
    layout.sidecar_path(bundle).unlink()
    assert verify_bundle(bundle, policy=POLICY).ok


@pytest.mark.parametrize(
    "member",
    [
        "artifacts/notes/a.txt",
        "artifacts/logs/big.log",
        layout.MANIFEST,
        layout.CUSTODY,
        layout.SIGNER,
        layout.SUMS,
        layout.SIGNATURE,
    ],
)
def test_flipped_byte_in_each_kind_of_member(bundle, member: str) -> None:
    failures = _tampered(bundle, lambda m: {**m, member: _flip(m[member])})
    assert failures


def test_added_member(bundle) -> None:
    failures = _tampered(bundle, lambda m: {**m, "artifacts/planted.txt": b"x"})
    assert any("extra member artifacts/planted.txt" in f for f in failures)


def test_removed_member(bundle) -> None:
    failures = _tampered(
        bundle, lambda m: {k: v for k, v in m.items() if k != "artifacts/notes/a.txt"}
    )
    assert any("missing" in f for f in failures)


def test_reordered_custody_lines(bundle) -> None:
    def reorder(m: dict[str, bytes]) -> dict[str, bytes]:
        lines = m[layout.CUSTODY].splitlines(keepends=True)
        lines[1], lines[2] = lines[2], lines[1]
        return {**m, layout.CUSTODY: b"".join(lines)}

    failures = _tampered(bundle, reorder)
    assert any("custody chain broken" in f for f in failures)


def test_swapped_signature(bundle, tmp_path) -> None:
    other = tmp_path / "other.zip"
    build_bundle(other, SIGNER)
    foreign = read_members(other)[layout.SIGNATURE]
    failures = _tampered(bundle, lambda m: {**m, layout.SIGNATURE: foreign})
    assert any("signature" in f for f in failures)


def test_resigned_by_attacker_is_not_trusted(bundle) -> None:
    attacker = new_signer("mallory")

    def resign(m: dict[str, bytes]) -> dict[str, bytes]:
        return {
            **m,
            layout.SIGNER: attacker.public_key.openssh().encode() + b"\n",
            layout.SIGNATURE: attacker.sign(m[layout.SUMS]).encode(),
        }

    failures = _tampered(bundle, resign)
    assert any("not among the trusted keys" in f for f in failures)


def test_sidecar_mismatch(bundle) -> None:
    layout.sidecar_path(bundle).write_text("0" * 64 + "  b.zip\n")
    report = verify_bundle(bundle, policy=POLICY)
    assert report.sidecar == "mismatch" and not report.ok


def test_raw_byte_flip_truncation_and_non_zip(bundle, tmp_path) -> None:
    data = bundle.read_bytes()
    offset = data.index(b"hello evidence")
    bundle.write_bytes(data[:offset] + b"j" + data[offset + 1 :])
    assert any("a.txt" in f for f in verify_bundle(bundle, policy=POLICY).failures)
    bundle.write_bytes(data[: len(data) // 2])
    assert "not a readable zip" in verify_bundle(bundle, policy=POLICY).failures[0]
    bundle.write_bytes(b"just some text")
    assert not verify_bundle(bundle, policy=POLICY).ok
    assert not verify_bundle(tmp_path / "missing.zip", policy=POLICY).ok


def _evil_zip(path: Path, name: str, mode: int = 0o644 | stat.S_IFREG) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("SHA256SUMS")
        zf.writestr(info, b"")
        info = zipfile.ZipInfo(name)
        info.external_attr = mode << 16
        zf.writestr(info, b"/etc/passwd")


@pytest.mark.parametrize(
    ("name", "mode"),
    [
        ("../escape.txt", 0o644 | stat.S_IFREG),
        ("artifacts/../../escape.txt", 0o644 | stat.S_IFREG),
        ("/tmp/escape.txt", 0o644 | stat.S_IFREG),
        ("artifacts/link", 0o777 | stat.S_IFLNK),
    ],
)
def test_hostile_names_are_refused_and_nothing_escapes(tmp_path, name: str, mode: int) -> None:
    evil = tmp_path / "evil.zip"
    _evil_zip(evil, name, mode)
    report = verify_bundle(evil)
    assert not report.ok
    assert any("unsafe member name" in f or "not a regular file" in f for f in report.failures)
    with pytest.raises(VerificationFailed):
        extract_bundle(evil, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.zip"]


def test_declared_size_bomb_is_refused(tmp_path) -> None:
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("artifacts/zeros", b"\0" * 100_000)
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 0xFFFFFFF0)  # declared uncompressed size
    path.write_bytes(bytes(data))
    assert any("zip bomb" in f for f in verify_bundle(path).failures)


def test_total_size_bound(bundle) -> None:
    report = verify_bundle(bundle, policy=POLICY, limits=Limits(max_total_size=1000))
    assert any("more than the bound" in f for f in report.failures)


def test_extract_verified_bundle(bundle, tmp_path) -> None:
    result = extract_bundle(bundle, tmp_path / "out", policy=POLICY)
    out = tmp_path / "out"
    assert (out / "artifacts/notes/a.txt").read_bytes() == b"hello evidence\n"
    assert result.files == 8
    custody = (out / EXTRACTED_CUSTODY).read_text().splitlines()
    assert [line.split('"action":"')[1].split('"')[0] for line in custody[-2:]] == [
        "verified",
        "extracted",
    ]
    assert (out / layout.CUSTODY).read_bytes() == read_members(bundle)[layout.CUSTODY]


def test_extract_refuses_failed_verification_and_leaves_nothing(bundle, tmp_path) -> None:
    with pytest.raises(VerificationFailed, match="not pinned"):
        extract_bundle(bundle, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name]


def test_extract_refuses_non_empty_dir(bundle, tmp_path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep").write_text("mine")
    with pytest.raises(UsageError, match="not empty"):
        extract_bundle(bundle, tmp_path / "out", policy=POLICY)
    assert (tmp_path / "out" / "keep").read_text() == "mine"
