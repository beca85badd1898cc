"""The Docker engine dies in the middle of a collection (a private dockerd, SIGKILLed).

The shared engine is never touched: the test starts its own dockerd with its
own socket and roots, no bridge and no iptables, copies the victim image into
it, and points irkit at it with DOCKER_HOST.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.faults import assert_no_traceback, events, grows_past, spawn, wait_for
from tests.support.private_engine import PrivateEngine

pytestmark = [pytest.mark.docker, pytest.mark.slow]

BIG_MB = 600


@pytest.fixture
def private_engine(victim_image: str) -> Iterator[PrivateEngine]:
    if shutil.which("dockerd") is None:
        pytest.skip("dockerd is not installed: no private engine to kill")
    engine = PrivateEngine(Path(f"/tmp/irkit-engine-{uuid.uuid4().hex[:8]}"))
    try:
        engine.start()
        engine.load(victim_image)
        yield engine
    finally:
        engine.stop()


def test_engine_killed_mid_export_seals_an_incomplete_bundle(
    private_engine: PrivateEngine, victim_image: str, state_dir: Path, irkit_cli, tmp_path: Path
) -> None:
    client = private_engine.client
    assert client is not None
    victim = client.containers.run(
        victim_image,
        ["sh", "-c", f"dd if=/dev/zero of=/big bs=1M count={BIG_MB} && touch /ready; sleep 1d"],
        network_mode="none",
        detach=True,
    )
    wait_for(lambda: victim.exec_run(["test", "-f", "/ready"]).exit_code == 0, "the big file", 60)
    keys = tmp_path / "keys"
    assert irkit_cli("keys", "generate", "--out", str(keys)).returncode == 0
    out = tmp_path / "b.zip"
    env = {"DOCKER_HOST": private_engine.host}
    proc = spawn(
        state_dir, "collect", victim.name, "--out", str(out), "--key", str(keys / "irkit_ed25519"),
        "--artifacts", "processes,inspect,logs,export", "--json", env=env,
    )  # fmt: skip
    try:
        # Kill the engine once the export has streamed a good part into the bundle.
        wait_for(grows_past(Path(f"{out}.partial"), 64 << 20), "the export to stream", 60)
        private_engine.kill()
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 4, stderr
    assert_no_traceback(stderr)
    assert "INCOMPLETE" in stderr
    steps = {e["name"]: e for e in events(stdout) if e["event"] == "step"}
    assert steps[f"processes:{victim.name}"]["status"] == "ok"
    assert steps[f"export:{victim.name}"]["status"] == "failed"
    (result,) = [e for e in events(stdout) if e["event"] == "result"]
    assert result["bundle"]["complete"] is False
    assert "engine stopped answering" in result["incomplete_reason"]
    assert not Path(f"{out}.partial").exists()

    verified = irkit_cli("bundle", "verify", str(out), "--pubkey", str(keys / "irkit_ed25519.pub"),
                         "--json")  # fmt: skip
    report = json.loads(verified.stdout)
    assert verified.returncode == 0, verified.stdout
    assert report["ok"] is True and report["complete"] is False
    assert "engine stopped answering" in report["incomplete_reason"]
    # What was streamed before the engine died is kept, hashed, and says it is partial.
    manifest = json.loads(irkit_cli("bundle", "show", str(out), "--json").stdout)
    (export,) = [a for a in manifest["artifacts"] if a["path"].endswith("export.tar")]
    assert export["size"] > 64 << 20 and export["error"]
