"""irkit SIGKILLed part-way, and a full output disk: the next run finds the leftovers.

`irkit status` reports a stale `.partial`, an orphaned capture sidecar, a pcap
spool and a half-applied isolation; `status --clean` and `release` finish them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_contain import irkit_rules
from tests.support.faults import (
    assert_no_traceback,
    big_file_container,
    grows_past,
    spawn,
    wait_for,
)

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _status(irkit_cli: Callable[..., Any], *args: str) -> dict[str, Any]:
    result = irkit_cli("status", "--json", *args)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _mine(document: dict[str, Any], victim: Any) -> list[dict[str, Any]]:
    """Leftovers of this test: other tests' orphaned sidecars share the engine."""
    return [
        left
        for left in document["leftovers"]
        if left["kind"] != "orphan-sidecar" or victim.id[:12] in left["subject"]
    ]


def _kinds(document: dict[str, Any], victim: Any) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for left in _mine(document, victim):
        found.setdefault(left["kind"], []).append(left["subject"])
    return found


def test_killed_collection_with_capture_leaves_what_status_reports_and_cleans(
    make_container: Callable[..., Any],
    capture_image: str,
    docker_client: Any,
    state_dir: Path,
    irkit_cli: Callable[..., Any],
    tmp_path: Path,
) -> None:
    victim = big_file_container(make_container, 400)
    out = tmp_path / "b.zip"
    proc = spawn(
        state_dir, "collect", victim.name, "--out", str(out), "--no-sign",
        "--artifacts", "processes,export,pcap", "--pcap-seconds", "1",
        env={"IRKIT_CAPTURE_IMAGE": capture_image},
    )  # fmt: skip
    partial = Path(f"{out}.partial")
    try:
        wait_for(grows_past(partial, 32 << 20), "the export to stream", 60)
        live = _status(irkit_cli)  # while the run lives, nothing is a leftover
        assert _mine(live, victim) == []
        proc.kill()
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    sidecars = docker_client.containers.list(
        all=True, filters={"label": f"irkit.capture.target={victim.id}"}, ignore_removed=True
    )
    assert len(sidecars) == 1

    found = _kinds(_status(irkit_cli), victim)
    assert found["stale-partial"] == [str(partial)]
    assert found["orphan-sidecar"] == [sidecars[0].name]
    (spool,) = found["pcap-spool"]
    assert Path(spool).parent == state_dir / "spool"

    # The next collection to the same name says why it cannot start.
    again = irkit_cli("collect", victim.name, "--out", str(out), "--no-sign")
    assert again.returncode == 2 and "irkit status" in again.stderr

    cleaned = _status(irkit_cli, "--clean")
    assert {(c["kind"], c["cleaned"]) for c in _mine(cleaned, victim)} == {
        ("stale-partial", True),
        ("orphan-sidecar", True),
        ("pcap-spool", False),  # captured packets are evidence: kept, reported
    }
    assert not partial.exists()
    assert (
        docker_client.containers.list(
            all=True, filters={"label": f"irkit.capture.target={victim.id}"}, ignore_removed=True
        )
        == []
    )
    assert _kinds(_status(irkit_cli), victim) == {"pcap-spool": [spool]}
    sealed = irkit_cli("bundle", "seal", spool, "--out", str(tmp_path / "spool.zip"), "--no-sign")
    assert sealed.returncode == 0, sealed.stderr


@pytest.fixture
def slow_restore(tmp_path: Path) -> Path:
    """A PATH folder whose iptables-restore applies for real, then hangs (to be killed)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    real = subprocess.run(["which", "iptables-restore"], capture_output=True, text=True)
    script = folder / "iptables-restore"
    script.write_text(
        f'#!/bin/sh\n{real.stdout.strip()} "$@" || exit $?\n'
        f"echo $$ > {tmp_path}/applied\nexec sleep 60\n"
    )
    script.chmod(0o755)
    return folder


def test_killed_isolate_is_reported_and_release_finishes_it(
    make_container: Callable[..., Any],
    iptables_guard: str,
    slow_restore: Path,
    state_dir: Path,
    irkit_cli: Callable[..., Any],
    tmp_path: Path,
) -> None:
    victim = make_container()
    env = {"PATH": f"{slow_restore}:{os.environ['PATH']}"}
    proc = spawn(state_dir, "isolate", victim.name, "--case", iptables_guard, env=env)
    try:
        wait_for((tmp_path / "applied").exists, "the rules to be applied", 30)
        proc.kill()  # after the rules, before the state says "applied"
        proc.communicate(timeout=30)
    finally:
        proc.kill()
        with contextlib.suppress(OSError, ValueError):  # the fake's sleep, by its pid
            os.kill(int((tmp_path / "applied").read_text()), signal.SIGKILL)
    assert len(irkit_rules(iptables_guard)) == 4
    status = _status(irkit_cli)
    (entry,) = status["isolations"]
    assert entry["phase"] == "applying"
    drift = [d["kind"] for d in status["drift"] if victim.id[:12] in d["subject"]]
    assert drift == ["incomplete"]

    released = irkit_cli("release", victim.name)
    assert released.returncode == 0, released.stderr
    assert irkit_rules(iptables_guard) == []
    assert _status(irkit_cli)["isolations"] == []


def test_full_output_disk_leaves_nothing_and_containment_stays(
    make_container: Callable[..., Any],
    iptables_guard: str,
    state_dir: Path,
    irkit_cli: Callable[..., Any],
    tmpfs: Path,
) -> None:
    victim = big_file_container(make_container, 48)
    assert irkit_cli("isolate", victim.name, "--case", iptables_guard).returncode == 0
    out = tmpfs / "b.zip"
    result = irkit_cli(
        "collect", victim.name, "--out", str(out), "--no-sign",
        "--artifacts", "processes,logs,export",
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert_no_traceback(result.stderr)
    assert "cannot write bundle" in result.stderr and "No space left on device" in result.stderr
    assert sorted(p.name for p in tmpfs.iterdir()) == []
    assert _mine(_status(irkit_cli), victim) == []
    status = _status(irkit_cli)
    assert [i["phase"] for i in status["isolations"]] == ["applied"]
    assert len(irkit_rules(iptables_guard)) == 4
    assert irkit_cli("release", victim.name).returncode == 0


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs, mounted for this test only."""
    mount = tmp_path / f"full-{uuid.uuid4().hex[:6]}"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)
