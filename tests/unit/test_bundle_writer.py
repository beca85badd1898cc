"""BundleWriter: round trips, incomplete runs, failures, atomic output."""

from __future__ import annotations

import errno
import json

import pytest

from irkit.bundle import layout
from irkit.bundle.reader import read_manifest
from irkit.bundle.verify import TrustPolicy, verify_bundle
from irkit.bundle.writer import BundleWriteError, BundleWriter, _HashingOutput
from irkit.errors import UsageError
from tests.support.bundles import CASE, FixedClock, build_bundle, new_signer, trusting


def test_round_trip_signed(tmp_path) -> None:
    signer = new_signer()
    sealed = build_bundle(tmp_path / "b.zip", signer)
    assert sealed.signed and sealed.complete and sealed.artifact_count == 3
    assert sealed.signer_fingerprint == signer.fingerprint
    assert (tmp_path / "b.zip.sha256").read_text() == f"{sealed.sha256}  b.zip\n"
    assert not (tmp_path / "b.zip.partial").exists()
    report = verify_bundle(tmp_path / "b.zip", policy=trusting(signer))
    assert report.ok, report.failures
    assert report.bundle_sha256 == sealed.sha256
    assert report.sidecar == "match"
    assert report.signature.pinned
    assert report.verified_event is not None
    assert report.verified_event["action"] == "verified"
    manifest = read_manifest(tmp_path / "b.zip", None)
    assert manifest["case"] == {"id": "case-1", "examiner": "alice", "description": "test case"}
    assert manifest["complete"] is True
    big = next(a for a in manifest["artifacts"] if a["path"] == "artifacts/logs/big.log")
    assert big["size"] == 40 * 65536
    assert big["step"] == "logs" and big["source"] == "gen"


def test_unpinned_and_wrong_keys(tmp_path) -> None:
    build_bundle(tmp_path / "b.zip", new_signer())
    unpinned = verify_bundle(tmp_path / "b.zip")
    assert not unpinned.ok and "not pinned" in unpinned.failures[0]
    assert unpinned.signature.valid and not unpinned.signature.pinned
    assert verify_bundle(tmp_path / "b.zip", policy=TrustPolicy(trust_embedded_key=True)).ok
    wrong = verify_bundle(tmp_path / "b.zip", policy=trusting(new_signer()))
    assert any("not among the trusted keys" in f for f in wrong.failures)


def test_unsigned_needs_allow_unsigned(tmp_path) -> None:
    build_bundle(tmp_path / "b.zip", None)
    assert read_manifest(tmp_path / "b.zip", None)["signed"] is False
    assert not verify_bundle(tmp_path / "b.zip").ok
    assert verify_bundle(tmp_path / "b.zip", policy=TrustPolicy(allow_unsigned=True)).ok


def test_encrypted_round_trip_and_wrong_password(tmp_path) -> None:
    signer = new_signer()
    build_bundle(tmp_path / "e.zip", signer, password=b"correct horse battery")
    policy = trusting(signer)
    assert verify_bundle(tmp_path / "e.zip", policy=policy, password=b"correct horse battery").ok
    wrong = verify_bundle(tmp_path / "e.zip", policy=policy, password=b"nope")
    assert wrong.failures == ("wrong password (the bundle is encrypted with another one)",)
    assert "encrypted" in verify_bundle(tmp_path / "e.zip", policy=policy).failures[0]
    assert b"correct horse" not in (tmp_path / "e.zip").read_bytes()


def test_exception_in_block_seals_incomplete_and_reraises(tmp_path) -> None:
    signer = new_signer()
    with (
        pytest.raises(RuntimeError, match="engine died"),
        BundleWriter(tmp_path / "b.zip", CASE, FixedClock(), signer=signer) as writer,
    ):
        writer.add_bytes("a.txt", b"kept", step="s", source="t")
        raise RuntimeError("engine died")
    report = verify_bundle(tmp_path / "b.zip", policy=trusting(signer))
    assert report.ok, report.failures
    assert report.complete is False
    assert report.incomplete_reason == "RuntimeError: engine died"


def test_failing_source_keeps_partial_bytes_and_records_error(tmp_path) -> None:
    signer = new_signer()

    def source():
        yield b"first part "
        raise OSError("device vanished")

    with BundleWriter(tmp_path / "b.zip", CASE, FixedClock(), signer=signer) as writer:
        with pytest.raises(OSError, match="vanished"):
            writer.add_stream("stream.bin", source(), step="s", source="t")
        writer.add_bytes("after.txt", b"still here", step="s", source="t")
    report = verify_bundle(tmp_path / "b.zip", policy=trusting(signer))
    assert report.ok, report.failures
    artifacts = {a["path"]: a for a in read_manifest(tmp_path / "b.zip", None)["artifacts"]}
    assert artifacts["artifacts/stream.bin"]["size"] == len(b"first part ")
    assert "vanished" in artifacts["artifacts/stream.bin"]["error"]
    assert artifacts["artifacts/after.txt"]["error"] is None


def test_never_overwrites_without_force(tmp_path) -> None:
    target = tmp_path / "b.zip"
    target.write_bytes(b"precious")
    with pytest.raises(UsageError, match="refusing to overwrite"):
        BundleWriter(target, CASE, FixedClock())
    assert target.read_bytes() == b"precious"
    with BundleWriter(target, CASE, FixedClock(), force=True) as writer:
        writer.add_bytes("x", b"y", step="s", source="t")
    assert target.read_bytes()[:2] == b"PK"


def test_stale_partial_is_reported(tmp_path) -> None:
    (tmp_path / "b.zip.partial").write_bytes(b"")
    with pytest.raises(UsageError, match="partial"):
        BundleWriter(tmp_path / "b.zip", CASE, FixedClock())


@pytest.mark.parametrize("bad", ["../x", "/abs", "a//b", "a/./b", "nul\x00", "back\\slash", ""])
def test_unsafe_artifact_paths_are_refused(tmp_path, bad: str) -> None:
    with BundleWriter(tmp_path / "b.zip", CASE, FixedClock()) as writer, pytest.raises(UsageError):
        writer.add_bytes(bad, b"x", step="s", source="t")


def test_duplicate_artifact_is_refused(tmp_path) -> None:
    with BundleWriter(tmp_path / "b.zip", CASE, FixedClock()) as writer:
        writer.add_bytes("a", b"x", step="s", source="t")
        with pytest.raises(UsageError, match="already"):
            writer.add_bytes("a", b"x", step="s", source="t")


def test_disk_full_removes_partial_and_raises_environment_problem(tmp_path, monkeypatch) -> None:
    real_write = _HashingOutput.write

    def failing_write(self, data: bytes) -> int:
        if self.position > 1000:
            try:
                raise OSError(errno.ENOSPC, "No space left on device")
            except OSError as e:
                raise BundleWriteError(f"cannot write bundle: {e.strerror}") from e
        return real_write(self, data)

    monkeypatch.setattr(_HashingOutput, "write", failing_write)
    with (
        pytest.raises(BundleWriteError, match="No space left"),
        BundleWriter(tmp_path / "b.zip", CASE, FixedClock()) as writer,
    ):
        writer.add_bytes("big", b"x" * 5000, step="s", source="t")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_manifest_records_steps_targets_and_custody(tmp_path) -> None:
    from irkit.bundle.model import StepRecord, StepStatus, TargetInfo

    clock = FixedClock()
    with BundleWriter(tmp_path / "b.zip", CASE, clock) as writer:
        writer.add_target(TargetInfo("c0ffee", "web", "nginx:1", "sha256:abc"))
        writer.record_step(StepRecord("logs", StepStatus.FAILED, clock.now(), clock.now(), "boom"))
        writer.custody("transferred", "to the lab")
    manifest = read_manifest(tmp_path / "b.zip", None)
    assert manifest["targets"][0]["name"] == "web"
    assert manifest["steps"][0]["status"] == "failed"
    assert manifest["steps"][0]["error"] == "boom"
    assert manifest["host"]["hostname"]
    assert manifest["started"].endswith("Z")
    report = verify_bundle(tmp_path / "b.zip", policy=TrustPolicy(allow_unsigned=True))
    actions = [json.loads(line)["action"] for line in report.custody_lines]
    assert actions == ["opened", "transferred", "sealed"]
    assert layout.sidecar_path(tmp_path / "b.zip").exists()
