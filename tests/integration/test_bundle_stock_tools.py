"""Bundles against the real stock tools: 7z, sha256sum, ssh-keygen (no Docker needed).

The recipe of docs/verify-without-irkit.md, run for real, and SSHSIG both ways.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from irkit.bundle.sshsig import check_signature, load_signer
from irkit.errors import VerificationFailed

TOOLS = ("7z", "sha256sum", "ssh-keygen")
pytestmark = pytest.mark.skipif(
    any(shutil.which(t) is None for t in TOOLS), reason="needs 7z, sha256sum and ssh-keygen"
)
PASSWORD = "a long passphrase for integration"


def _sh(*argv: str, cwd: Path | None = None, stdin: bytes | None = None) -> str:
    result = subprocess.run(argv, cwd=cwd, input=stdin, capture_output=True, check=False)
    assert result.returncode == 0, (argv, result.stdout, result.stderr)
    return result.stdout.decode()


def _ssh_verify(allowed: Path, signature: Path, data: bytes) -> subprocess.CompletedProcess[bytes]:
    argv = ["ssh-keygen", "-Y", "verify", "-f", str(allowed), "-I", "alice@ir"]
    argv += ["-n", "irkit-evidence", "-s", str(signature)]
    return subprocess.run(argv, input=data, capture_output=True, check=False)


@pytest.fixture
def sealed(tmp_path, irkit_cli) -> tuple[Path, Path]:
    """A bundle sealed by the real CLI with a key from `irkit keys generate`."""
    keys = tmp_path / "keys"
    assert (
        irkit_cli("keys", "generate", "--out", str(keys), "--comment", "alice@ir").returncode == 0
    )
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "timeline.txt").write_text("12:00 container contained\n")
    (notes / "blob.bin").write_bytes(bytes(range(256)) * 4096)
    bundle = tmp_path / "case.zip"
    result = irkit_cli(
        "bundle",
        "seal",
        str(notes),
        "--out",
        str(bundle),
        "--key",
        str(keys / "irkit_ed25519"),
        "--case",
        "INC-42",
    )
    assert result.returncode == 0, result.stderr
    return bundle, keys


def test_stock_tool_recipe(tmp_path, sealed) -> None:
    bundle, keys = sealed
    _sh("sha256sum", "--strict", "-c", "case.zip.sha256", cwd=bundle.parent)
    out = tmp_path / "out"
    _sh("7z", "x", f"-o{out}", str(bundle))
    _sh("sha256sum", "--strict", "-c", "SHA256SUMS", cwd=out)
    allowed = tmp_path / "allowed_signers"
    pub = (keys / "irkit_ed25519.pub").read_text().split()
    allowed.write_text(f"alice@ir {pub[0]} {pub[1]}\n")
    sums = (out / "SHA256SUMS").read_bytes()
    verified = _ssh_verify(allowed, out / "SHA256SUMS.sig", sums)
    assert verified.returncode == 0, verified.stderr
    assert b"Good" in verified.stdout + verified.stderr
    assert _ssh_verify(allowed, out / "SHA256SUMS.sig", sums.replace(b"a", b"b", 1)).returncode
    (out / "artifacts/files/0/notes/timeline.txt").write_text("12:05 nothing happened\n")
    assert (
        subprocess.run(
            ["sha256sum", "--strict", "-c", "SHA256SUMS"], cwd=out, capture_output=True
        ).returncode
        != 0
    )


def test_ssh_keygen_signs_irkit_verifies(tmp_path) -> None:
    key = tmp_path / "id_ed25519"
    _sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bob", "-f", str(key))
    message = tmp_path / "SHA256SUMS"
    message.write_bytes(b"0" * 64 + b"  manifest.json\n")
    _sh("ssh-keygen", "-Y", "sign", "-f", str(key), "-n", "irkit-evidence", str(message))
    signature = (tmp_path / "SHA256SUMS.sig").read_bytes()
    signer_key = check_signature(signature, message.read_bytes())
    assert signer_key.raw == load_signer(key).public_key.raw
    with pytest.raises(VerificationFailed):
        check_signature(signature, message.read_bytes() + b"x")
    (tmp_path / "SHA256SUMS.sig").unlink()
    _sh("ssh-keygen", "-Y", "sign", "-f", str(key), "-n", "other", str(message))
    with pytest.raises(VerificationFailed, match="namespace"):
        check_signature((tmp_path / "SHA256SUMS.sig").read_bytes(), message.read_bytes())


def test_ssh_keygen_key_signs_with_irkit(tmp_path, irkit_cli) -> None:
    key = tmp_path / "id_ed25519"
    _sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "carol", "-f", str(key))
    (tmp_path / "n.txt").write_text("note\n")
    bundle = tmp_path / "b.zip"
    result = irkit_cli(
        "bundle",
        "seal",
        str(tmp_path / "n.txt"),
        "--out",
        str(bundle),
        env={"IRKIT_SIGNING_KEY": str(key)},
    )
    assert result.returncode == 0, result.stderr
    verify = irkit_cli("bundle", "verify", str(bundle), "--pubkey", f"{key}.pub", "--json")
    assert verify.returncode == 0, verify.stdout


def test_encrypted_bundle_opens_in_7z(tmp_path, irkit_cli, sealed) -> None:
    _, keys = sealed
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    bundle = tmp_path / "enc.zip"
    result = irkit_cli(
        "bundle",
        "seal",
        str(tmp_path / "notes"),
        "--out",
        str(bundle),
        "--key",
        str(keys / "irkit_ed25519"),
        "--password-file",
        str(tmp_path / "pw"),
    )
    assert result.returncode == 0, result.stderr
    assert PASSWORD not in result.stderr + result.stdout
    _sh("7z", "x", f"-p{PASSWORD}", f"-o{tmp_path / 'x'}", str(bundle))
    _sh("sha256sum", "--strict", "-c", "SHA256SUMS", cwd=tmp_path / "x")
    wrong = subprocess.run(["7z", "t", "-pwrong", str(bundle)], capture_output=True)
    assert wrong.returncode != 0


def test_cli_tamper_is_exit_3(tmp_path, irkit_cli, sealed) -> None:
    bundle, keys = sealed
    pub = str(keys / "irkit_ed25519.pub")
    assert irkit_cli("bundle", "verify", str(bundle), "--pubkey", pub).returncode == 0
    data = bytearray(bundle.read_bytes())
    data[data.index(b"12:00 container")] ^= 0x01
    bundle.write_bytes(bytes(data))
    result = irkit_cli("bundle", "verify", str(bundle), "--pubkey", pub, "--json")
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    extract = irkit_cli("bundle", "extract", str(bundle), str(tmp_path / "o"), "--pubkey", pub)
    assert extract.returncode == 3
    assert not (tmp_path / "o").exists()
