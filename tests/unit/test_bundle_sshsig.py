"""SSHSIG signing and checking, keys and custody chains (no external tools)."""

from __future__ import annotations

import pytest

from irkit.bundle.custody import Actor, CustodyChain, check_chain
from irkit.bundle.sshsig import (
    PublicKey,
    check_signature,
    generate_key,
    load_signer,
    load_trusted_keys,
)
from irkit.errors import UsageError, VerificationFailed
from tests.support.bundles import FixedClock, new_signer


def test_signature_round_trip_and_tamper() -> None:
    signer = new_signer()
    armored = signer.sign(b"abc  file\n").encode()
    assert check_signature(armored, b"abc  file\n").raw == signer.public_key.raw
    with pytest.raises(VerificationFailed, match="does not match"):
        check_signature(armored, b"abd  file\n")
    with pytest.raises(VerificationFailed, match="namespace"):
        check_signature(armored, b"abc  file\n", namespace="other")


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"not armored",
        b"-----BEGIN SSH SIGNATURE-----\n!!!\n-----END SSH SIGNATURE-----\n",
        b"-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n",
        b"\xff\xfe",
    ],
)
def test_malformed_signatures_are_refused(garbage: bytes) -> None:
    with pytest.raises(VerificationFailed):
        check_signature(garbage, b"x")


def test_truncated_signature_is_refused() -> None:
    lines = new_signer().sign(b"x").splitlines()
    truncated = "\n".join([lines[0], lines[1][:-8], lines[-1]]).encode()
    with pytest.raises(VerificationFailed):
        check_signature(truncated, b"x")


def test_generate_key_modes_and_no_overwrite(tmp_path) -> None:
    key = generate_key(tmp_path / "k", "bob@ir")
    assert key.private_path.stat().st_mode & 0o777 == 0o600
    signer = load_signer(key.private_path)
    assert signer.fingerprint == key.fingerprint
    assert signer.public_key.comment == "bob@ir"
    with pytest.raises(UsageError, match="refusing to overwrite"):
        generate_key(tmp_path / "k")


def test_loose_key_permissions_are_refused(tmp_path) -> None:
    key = generate_key(tmp_path, "x")
    key.private_path.chmod(0o640)
    with pytest.raises(UsageError, match="group or others"):
        load_signer(key.private_path)


def test_trusted_keys_from_pub_and_allowed_signers(tmp_path) -> None:
    key = generate_key(tmp_path, "carol")
    pub = key.public_path.read_text()
    (tmp_path / "allowed").write_text(f"# comment\ncarol@case {pub}\n")
    from_pub = load_trusted_keys(key.public_path)
    from_allowed = load_trusted_keys(tmp_path / "allowed")
    assert from_pub[0].raw == from_allowed[0].raw
    assert from_allowed[0].comment == "carol@case"
    assert PublicKey.from_openssh(pub).fingerprint == key.fingerprint
    (tmp_path / "empty").write_text("nothing here\n")
    with pytest.raises(UsageError):
        load_trusted_keys(tmp_path / "empty")


def _chain() -> CustodyChain:
    chain = CustodyChain("b1", Actor("u", "h"), FixedClock())
    for action in ("opened", "collected", "collected", "sealed"):
        chain.append(action, "d")
    return chain


def test_custody_chain_holds() -> None:
    result = check_chain(_chain().text(), "b1")
    assert result.failures == ()
    assert [e["action"] for e in result.events][-1] == "sealed"


def test_custody_reorder_edit_and_foreign_bundle_break_the_chain() -> None:
    lines = _chain().text().splitlines(keepends=True)
    swapped = b"".join([lines[0], lines[2], lines[1], lines[3]])
    assert check_chain(swapped, "b1").failures
    edited = b"".join([lines[0], lines[1].replace(b'"d"', b'"e"'), *lines[2:]])
    assert any("line 3" in f for f in check_chain(edited, "b1").failures)
    assert check_chain(b"".join(lines[1:]), "b1").failures
    assert check_chain(b"".join(lines), "other").failures
    assert check_chain(b"", "b1").failures
