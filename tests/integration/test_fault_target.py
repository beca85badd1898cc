"""The target container goes away in the middle of a collection or a capture.

What was collected stays in a verifiable bundle; every later step of that
container says why it did not run; no traceback.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.faults import (
    assert_no_traceback,
    big_file_container,
    events,
    grows_past,
    spawn,
    wait_for,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]

BIG_MB = 600


def test_containers_removed_mid_collection(
    make_container: Callable[..., Any], state_dir: Path, irkit_cli, tmp_path: Path
) -> None:
    big = big_file_container(make_container, BIG_MB)
    small = make_container()
    out = tmp_path / "b.zip"
    proc = spawn(
        state_dir, "collect", big.name, small.name, "--out", str(out), "--no-sign",
        "--artifacts", "processes,inspect,export", "--json",
    )  # fmt: skip
    try:
        wait_for(grows_past(Path(f"{out}.partial"), 64 << 20), "the export to stream", 60)
        small.remove(force=True)
        big.remove(force=True)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 1, stderr
    assert_no_traceback(stderr)
    steps = {e["name"]: e for e in events(stdout) if e["event"] == "step"}
    assert steps[f"processes:{small.name}"]["status"] == "ok"
    lost = steps[f"export:{small.name}"]
    assert lost["status"] == "failed"
    assert f"container {small.name} was removed during the collection" in lost["error"]
    assert steps[f"export:{big.name}"]["status"] in ("failed", "ok")
    verified = irkit_cli("bundle", "verify", str(out), "--allow-unsigned", "--json")
    assert verified.returncode == 0, verified.stdout
    assert json.loads(verified.stdout)["complete"] is True


@pytest.mark.parametrize("fate", ["stopped", "removed"])
def test_target_gone_mid_capture_ends_it_with_the_reason(
    fate: str,
    make_container: Callable[..., Any],
    capture_image: str,
    docker_client: Any,
    state_dir: Path,
    tmp_path: Path,
) -> None:
    victim = make_container(["sh", "-c", "while true; do ping -c 1 127.0.0.1; sleep 0.2; done"])
    out = tmp_path / "c.pcap"
    started = time.monotonic()
    proc = spawn(
        state_dir, "capture", victim.name, "--out", str(out), "--seconds", "60",
        "--capture-image", capture_image, "--no-pull", "--json",
    )  # fmt: skip
    try:
        wait_for(lambda: _sidecars(docker_client, victim.id) != [], "the capture sidecar", 30)
        time.sleep(2)  # some pings on the record
        if fate == "stopped":
            victim.kill()
        else:
            victim.remove(force=True)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert_no_traceback(stderr)
    assert time.monotonic() - started < 30  # ended by the fate, not by --seconds
    capture = json.loads(stdout)["capture"]
    assert (
        f"the target container {'was removed' if fate == 'removed' else 'stopped'}"
        in (capture["stop_reason"])
    )
    assert capture["packets"] > 0
    assert Path(f"{out}.sha256").read_text().split()[0] == capture["sha256"]
    assert _sidecars(docker_client, victim.id) == []


def _sidecars(client: Any, target_id: str) -> list[Any]:
    label = f"irkit.capture.target={target_id}"
    return list(client.containers.list(all=True, filters={"label": label}, ignore_removed=True))
