"""The bundle and keys commands, in process: JSON documents and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from irkit.cli.main import main
from irkit.errors import ExitCode


def _run(capsys, *args: str) -> tuple[int, dict, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    document = json.loads(captured.out) if captured.out.strip() else {}
    return code, document, captured.err


@pytest.fixture
def keys(tmp_path, capsys) -> Path:
    code, document, _ = _run(capsys, "keys", "generate", "--out", str(tmp_path / "keys"), "--json")
    assert code == 0 and document["key"]["fingerprint"].startswith("SHA256:")
    return tmp_path / "keys"


@pytest.fixture
def notes(tmp_path) -> Path:
    folder = tmp_path / "notes"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("first note\n")
    (folder / "sub" / "b.txt").write_text("second note\n")
    return folder


def test_seal_verify_show_extract(tmp_path, capsys, keys, notes, monkeypatch) -> None:
    monkeypatch.delenv("IRKIT_SIGNING_KEY", raising=False)
    out = tmp_path / "b.zip"
    key = str(keys / "irkit_ed25519")
    code, doc, _ = _run(
        capsys,
        "bundle",
        "seal",
        str(notes),
        "--out",
        str(out),
        "--key",
        key,
        "--case",
        "C7",
        "--json",
    )
    assert code == 0 and doc["ok"] and doc["bundle"]["artifact_count"] == 2
    pub = str(keys / "irkit_ed25519.pub")
    code, doc, _ = _run(capsys, "bundle", "verify", str(out), "--pubkey", pub, "--json")
    assert code == 0 and doc["ok"] and doc["signature"]["pinned"]
    code, doc, err = _run(capsys, "bundle", "verify", str(out), "--json")
    assert code == ExitCode.VERIFY_FAILED and "not pinned" in doc["failures"][0]
    assert "not pinned" in err
    code, doc, _ = _run(capsys, "bundle", "verify", str(out), "--trust-embedded-key", "--json")
    assert code == 0
    code, doc, _ = _run(capsys, "bundle", "show", str(out), "--json")
    assert code == 0 and doc["case"]["id"] == "C7" and len(doc["artifacts"]) == 2
    code, _, err = _run(capsys, "bundle", "show", str(out))
    assert code == 0 and "C7" in err
    code, doc, _ = _run(
        capsys, "bundle", "extract", str(out), str(tmp_path / "x"), "--pubkey", pub, "--json"
    )
    assert code == 0 and doc["ok"]
    assert (tmp_path / "x/artifacts/files/0/notes/sub/b.txt").read_text() == "second note\n"
    code, _, err = _run(capsys, "bundle", "seal", str(notes), "--out", str(out), "--key", key)
    assert code == ExitCode.USAGE and "refusing to overwrite" in err


def test_seal_requires_key_or_no_sign(tmp_path, capsys, notes, monkeypatch) -> None:
    monkeypatch.delenv("IRKIT_SIGNING_KEY", raising=False)
    out = tmp_path / "b.zip"
    code, _, err = _run(capsys, "bundle", "seal", str(notes), "--out", str(out))
    assert code == ExitCode.USAGE and "no signing key" in err and not out.exists()
    code, doc, _ = _run(
        capsys, "bundle", "seal", str(notes), "--out", str(out), "--no-sign", "--json"
    )
    assert code == 0 and doc["bundle"]["signed"] is False
    code, _, _ = _run(capsys, "bundle", "verify", str(out))
    assert code == ExitCode.VERIFY_FAILED
    code, _, _ = _run(capsys, "bundle", "verify", str(out), "--allow-unsigned")
    assert code == 0


def test_loose_key_permissions_refused(tmp_path, capsys, keys, notes) -> None:
    key = keys / "irkit_ed25519"
    key.chmod(0o644)
    code, _, err = _run(
        capsys, "bundle", "seal", str(notes), "--out", str(tmp_path / "b.zip"), "--key", str(key)
    )
    assert code == ExitCode.USAGE and "group or others" in err


def test_encrypted_with_password_file_and_env(tmp_path, capsys, keys, notes, monkeypatch) -> None:
    monkeypatch.setenv("IRKIT_SIGNING_KEY", str(keys / "irkit_ed25519"))
    password = tmp_path / "pw"
    password.write_text("a long passphrase for the case\n")
    out = tmp_path / "e.zip"
    code, _, _ = _run(
        capsys, "bundle", "seal", str(notes), "--out", str(out), "--password-file", str(password)
    )
    assert code == 0
    assert b"a long passphrase" not in out.read_bytes()
    pub = str(keys / "irkit_ed25519.pub")
    # stdin is not a terminal under pytest: no prompt, a clear usage error
    code, _, err = _run(capsys, "bundle", "verify", str(out), "--pubkey", pub)
    assert code == ExitCode.USAGE and "not a terminal" in err
    code, _, _ = _run(
        capsys, "bundle", "verify", str(out), "--pubkey", pub, "--password-file", str(password)
    )
    assert code == 0
    monkeypatch.setenv("IRKIT_BUNDLE_PASSWORD", "wrong")
    code, doc, _ = _run(capsys, "bundle", "verify", str(out), "--pubkey", pub, "--json")
    assert code == ExitCode.VERIFY_FAILED and "wrong password" in doc["failures"][0]
    monkeypatch.setenv("IRKIT_BUNDLE_PASSWORD", "a long passphrase for the case")
    code, _, _ = _run(capsys, "bundle", "verify", str(out), "--pubkey", pub)
    assert code == 0


def test_garbage_input_is_exit_3_without_traceback(tmp_path, capsys) -> None:
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 definitely not a zip")
    for command in (
        ["verify", str(junk)],
        ["show", str(junk)],
        ["extract", str(junk), str(tmp_path / "o")],
    ):
        code, _, err = _run(capsys, "bundle", *command)
        assert code == ExitCode.VERIFY_FAILED, command
        assert "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_seal_folder_holding_the_output(tmp_path, capsys, notes) -> None:
    out = notes / "inside.zip"
    code, doc, _ = _run(
        capsys, "bundle", "seal", str(notes), "--out", str(out), "--no-sign", "--json"
    )
    assert code == 0 and doc["bundle"]["artifact_count"] == 2


def test_keys_generate_refuses_overwrite(tmp_path, capsys, keys) -> None:
    code, _, err = _run(capsys, "keys", "generate", "--out", str(keys))
    assert code == ExitCode.USAGE and "refusing to overwrite" in err
