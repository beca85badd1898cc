"""Security review, asserted: secrets stay secret, files stay private, the
capture sidecar holds the least it needs.

A real encrypted, signed collection of a live container (plus an isolate and
release, so the state directory and audit log exist) is searched byte by byte
for the password and the private key.
"""

from __future__ import annotations

import base64
import os
import stat
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import pyzipper
from cryptography.hazmat.primitives import serialization

from irkit.capture.model import ROLE_CAPTURE, ROLE_LABEL, TARGET_LABEL, CaptureOptions
from irkit.capture.session import start_capture
from irkit.capture.sidecar import CAPABILITIES
from irkit.engine.commands import SubprocessRunner
from irkit.engine.host import real_host
from tests.support.hostile import run_cli

pytestmark = pytest.mark.docker

PASSWORD = b"s3cret-Pa55word-for-the-review"


def _private_secrets(key_path: Path) -> list[bytes]:
    """The key file, its base64 body, and the raw 32-byte Ed25519 seed."""
    pem = key_path.read_bytes()
    key: Any = serialization.load_ssh_private_key(pem, password=None)
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    body = b"".join(pem.splitlines()[1:-1])
    return [pem, body[20:80], seed, base64.b64encode(seed), seed.hex().encode()]


def _every_file(*roots: Path) -> Iterator[Path]:
    for root in roots:
        for path in [root, *root.rglob("*")] if root.is_dir() else [root]:
            if path.is_file() and not path.is_symlink():
                yield path


def _members(bundle: Path) -> dict[str, bytes]:
    with pyzipper.AESZipFile(bundle) as zf:
        zf.setpassword(PASSWORD)
        return {name: zf.read(name) for name in zf.namelist()}


@pytest.fixture
def key(irkit_cli: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path) -> Path:
    """A signing key made by `irkit keys generate` (its folder holds the .pub)."""
    assert irkit_cli("keys", "generate", "--out", str(tmp_path / "keys")).returncode == 0
    return tmp_path / "keys" / "irkit_ed25519"


def test_secrets_never_reach_bundle_state_audit_or_output(
    make_container: Callable[..., Any],
    irkit_cli: Callable[..., subprocess.CompletedProcess[str]],
    key: Path,
    state_dir: Path,
    iptables_guard: str,
    tmp_path: Path,
) -> None:
    victim = make_container()
    secrets = [PASSWORD, *_private_secrets(key)]
    password_file = tmp_path / "pw"
    password_file.write_bytes(PASSWORD + b"\n")
    out = tmp_path / "out"
    out.mkdir()
    bundle = out / "b.zip"
    runs = [
        irkit_cli("isolate", victim.name, "--case", iptables_guard),
        irkit_cli(
            "collect",
            victim.name,
            "--out",
            str(bundle),
            "--key",
            str(key),
            "--password-file",
            str(password_file),
            "--case",
            iptables_guard,
            "-v",
        ),
        irkit_cli(
            "bundle",
            "verify",
            str(bundle),
            "--pubkey",
            f"{key}.pub",
            "-v",
            env={"IRKIT_BUNDLE_PASSWORD": PASSWORD.decode()},
        ),
        irkit_cli(
            "bundle",
            "verify",
            str(bundle),
            "--pubkey",
            f"{key}.pub",
            "--json",
            "--password-file",
            str(tmp_path / "keys" / "irkit_ed25519.pub"),
        ),
        irkit_cli("release", victim.name),
        irkit_cli("status", "--json"),
    ]
    assert [r.returncode for r in runs] == [0, 0, 0, 3, 0, 0], [r.stderr for r in runs]
    extracted = tmp_path / "extracted"
    code, _, _ = run_cli(
        ["bundle", "extract", str(bundle), str(extracted), "--pubkey", f"{key}.pub",
         "--password-file", str(password_file)]
    )  # fmt: skip
    assert code == 0
    places: dict[str, bytes] = {f"member {n}": d for n, d in _members(bundle).items()}
    for path in _every_file(out, state_dir, extracted):
        places[str(path)] = path.read_bytes()
    for number, run in enumerate(runs):
        places[f"run {number} stdout"] = run.stdout.encode()
        places[f"run {number} stderr"] = run.stderr.encode()
    assert any(name.startswith("member artifacts/") for name in places)
    assert (state_dir / "audit.jsonl").exists()
    for where, data in places.items():
        for secret in secrets:
            assert secret not in data, f"a secret ({len(secret)} bytes) leaked into {where}"


def test_files_irkit_writes_are_private(
    make_container: Callable[..., Any],
    irkit_cli: Callable[..., subprocess.CompletedProcess[str]],
    key: Path,
    state_dir: Path,
    iptables_guard: str,
    tmp_path: Path,
) -> None:
    victim = make_container()
    keys = key.parent
    bundle = tmp_path / "b.zip"
    assert irkit_cli("isolate", victim.name, "--case", iptables_guard).returncode == 0
    assert irkit_cli("release", victim.name).returncode == 0
    result = irkit_cli(
        "collect", victim.name, "--out", str(bundle), "--key", str(keys / "irkit_ed25519"),
        "--artifacts", "inspect,logs",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    private = [bundle, Path(f"{bundle}.sha256"), keys / "irkit_ed25519"]
    private += [p for p in state_dir.iterdir() if p.is_file()]
    assert {p.name for p in private} >= {"state.json", "audit.jsonl", "b.zip", "b.zip.sha256"}
    for path in private:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} is mode {mode:04o}"
    for folder in (state_dir, keys):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    # The key's public half is meant to be shared.
    assert stat.S_IMODE((keys / "irkit_ed25519.pub").stat().st_mode) & 0o044


def test_the_umask_applies_to_whatever_irkit_creates(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        notes = tmp_path / "n.txt"
        notes.write_text("note\n")
        code, _, err = run_cli(
            ["bundle", "seal", str(notes), "--out", str(tmp_path / "s.zip"), "--no-sign"]
        )
        assert code == 0, err
        assert os.umask(0o022) == 0o022  # restored for in-process callers
    finally:
        os.umask(previous)
    for name in ("s.zip", "s.zip.sha256"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


def test_no_secret_option_on_any_command_line() -> None:
    """The password is read from a file, the environment or a TTY, never from argv."""
    for command in (["bundle", "seal"], ["collect"], ["bundle", "verify"], ["bundle", "extract"]):
        code, help_text, _ = run_cli([*command, "--help"])
        assert code == 0 and "--password-file" in help_text
        assert "--password " not in help_text and "--key-data" not in help_text


def test_host_commands_do_not_inherit_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IRKIT_BUNDLE_PASSWORD", PASSWORD.decode())
    result = SubprocessRunner().run(["env"])
    assert PASSWORD not in result.stdout
    assert b"PATH=" in result.stdout


def test_capture_sidecar_has_least_privilege(
    make_container: Callable[..., Any],
    capture_image: str,
    docker_client: docker.DockerClient,
    tmp_path: Path,
) -> None:
    victim = make_container()
    options = CaptureOptions(image=capture_image, allow_pull=False)
    session = start_capture(real_host(), victim.name, options, tmp_path / "c.pcap")
    try:
        found = docker_client.containers.list(filters={"label": f"{ROLE_LABEL}={ROLE_CAPTURE}"})
        mine = [c for c in found if c.labels.get(TARGET_LABEL) == victim.id]
        assert len(mine) == 1, [c.labels for c in found]
        attrs = mine[0].attrs
    finally:
        session.stop()
    host = attrs["HostConfig"]
    assert host["CapDrop"] == ["ALL"] or host["CapDrop"] == ["all"]
    assert set(host["CapAdd"]) <= {f"CAP_{c}" for c in CAPABILITIES} | set(CAPABILITIES)
    assert not host["Privileged"]
    assert not attrs["Mounts"] and not host.get("Binds") and not host.get("Mounts")
    assert not host.get("Devices") and not host.get("VolumesFrom")
    assert host["ReadonlyRootfs"] is True
    assert "no-new-privileges" in (host.get("SecurityOpt") or [])
    assert host["NetworkMode"] == f"container:{victim.id}"
    assert host["PidMode"] in ("", None) and host["IpcMode"] in ("private", "", None)
    assert host["PidsLimit"] and host["PidsLimit"] <= 16
