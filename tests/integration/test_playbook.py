"""Every shipped playbook end to end on the real engine and iptables, as a user runs it.

Each run goes through the real `irkit run ... --json`; the event stream is read
line by line, the bundle is verified by `irkit bundle verify` and by the stock
tools, and the effect on the container is checked from outside.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from irkit.bundle.sshsig import generate_key
from tests.conftest import REPO_ROOT, unique
from tests.support.stock import have_stock_tools, verify_with_stock_tools

pytestmark = pytest.mark.docker

Events = list[dict[str, Any]]


def events_of(stdout: str) -> Events:
    """The stream, parsed line by line; every line must be one JSON object."""
    events = [json.loads(line) for line in stdout.splitlines()]
    assert events, "no events"
    assert all(isinstance(e, dict) and "event" in e for e in events)
    return events


def rules_of(case: str) -> list[str]:
    dump = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return [line for line in dump.splitlines() if f"irkit:{case}:" in line]


@pytest.fixture
def key(tmp_path: Path) -> Path:
    return generate_key(tmp_path / "keys", comment="responder").private_path


@pytest.fixture
def scene(make_network: Callable[..., Any], make_container: Callable[..., Any]) -> dict[str, Any]:
    """An attacker listening and a victim holding a connection open to it."""
    network = make_network()
    attacker = make_container(
        ["sh", "-c", "while true; do nc -l -p 4444; done"], network=network.name
    )
    attacker.reload()
    address = attacker.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
    beacon = f"while true; do (echo beacon; sleep 30) | nc {address} 4444; sleep 1; done"
    victim = make_container(["sh", "-c", beacon], network=network.name)
    return {"network": network, "attacker": attacker, "address": address, "victim": victim}


def run_playbook(
    irkit_cli: Callable[..., subprocess.CompletedProcess[str]],
    playbook: str,
    target: str,
    out: Path,
    key: Path,
    case: str,
    *inputs: str,
) -> tuple[subprocess.CompletedProcess[str], Events]:
    args = ["run", playbook, "--target", target, "--out", str(out), "--key", str(key)]
    args += ["--case", case, "--json"]
    for pair in inputs:
        args += ["--input", pair]
    proc = irkit_cli(*args)
    return proc, events_of(proc.stdout)


def check_bundle(
    irkit_cli: Callable[..., subprocess.CompletedProcess[str]],
    result: dict[str, Any],
    key: Path,
    tmp_path: Path,
) -> Path:
    bundle = Path(result["bundle"]["path"])
    assert bundle.is_file()
    verified = irkit_cli("bundle", "verify", str(bundle), "--pubkey", f"{key}.pub")
    assert verified.returncode == 0, verified.stderr
    assert result["verify_command"] == f"irkit bundle verify {bundle} --pubkey {key}.pub"
    if have_stock_tools():
        verify_with_stock_tools(bundle, Path(f"{key}.pub"), tmp_path)
    return bundle


def step_statuses(events: Events) -> dict[str, str]:
    return {e["name"]: e["status"] for e in events if e["event"] == "step_end"}


def test_contain_and_collect(scene, irkit_cli, iptables_guard, key, tmp_path) -> None:
    victim, address = scene["victim"], scene["address"]
    proc, events = run_playbook(
        irkit_cli, "contain-and-collect", victim.name, tmp_path / "out", key, iptables_guard,
        f"attacker={address}", "capture_seconds=1",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert events[0]["event"] == "run_start" and events[-1]["event"] == "result"
    assert set(step_statuses(events).values()) == {"ok"}
    result = events[-1]
    assert result["status"] == "complete" and result["bundle"]["complete"] is True
    assert [c["step"] for c in result["containment"]] == ["isolate", "block-attacker", "pause"]
    bundle = check_bundle(irkit_cli, result, key, tmp_path)
    listing = subprocess.run(["7z", "l", str(bundle)], capture_output=True, text=True).stdout
    for member in ("run/events.jsonl", "run/playbook.yml", "export.tar", ".pcap"):
        assert member in listing
    victim.reload()
    assert victim.attrs["State"]["Status"] == "paused"
    assert any(f"block:{address}/32" in rule for rule in rules_of(iptables_guard))


def test_collect_only_changes_nothing(scene, irkit_cli, iptables_guard, key, tmp_path) -> None:
    victim = scene["victim"]
    victim.reload()
    before = (victim.attrs["State"], victim.attrs["NetworkSettings"]["Networks"])
    proc, events = run_playbook(
        irkit_cli, "collect-only", victim.name, tmp_path / "out", key, iptables_guard
    )
    assert proc.returncode == 0, proc.stderr
    assert step_statuses(events)["capture"] == "skipped"  # capture_seconds defaults to 0
    check_bundle(irkit_cli, events[-1], key, tmp_path)
    victim.reload()
    assert (victim.attrs["State"], victim.attrs["NetworkSettings"]["Networks"]) == before
    assert rules_of(iptables_guard) == []
    assert events[-1]["containment"] == [] and events[-1]["release_command"] is None


def test_quarantine_then_release(scene, irkit_cli, iptables_guard, key, tmp_path) -> None:
    victim, network = scene["victim"], scene["network"]
    proc, events = run_playbook(
        irkit_cli, "quarantine", victim.name, tmp_path / "q", key, iptables_guard
    )
    assert proc.returncode == 0, proc.stderr
    check_bundle(irkit_cli, events[-1], key, tmp_path / "vq")
    victim.reload()
    assert victim.attrs["State"]["Status"] == "paused"
    assert network.name not in victim.attrs["NetworkSettings"]["Networks"]
    assert rules_of(iptables_guard)
    assert events[-1]["release_command"] == (
        f"irkit run release --target {victim.name} --case {iptables_guard}"
    )

    proc, events = run_playbook(
        irkit_cli, "release", victim.name, tmp_path / "r", key, iptables_guard
    )
    assert proc.returncode == 0, proc.stderr
    check_bundle(irkit_cli, events[-1], key, tmp_path / "vr")
    victim.reload()
    assert victim.attrs["State"]["Status"] == "running"
    assert network.name in victim.attrs["NetworkSettings"]["Networks"]
    assert rules_of(iptables_guard) == []


def test_block_attacker_then_release(scene, irkit_cli, iptables_guard, key, tmp_path) -> None:
    victim, address = scene["victim"], scene["address"]
    proc, events = run_playbook(
        irkit_cli, "block-attacker", victim.name, tmp_path / "b", key, iptables_guard,
        f"attacker={address}",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    check_bundle(irkit_cli, events[-1], key, tmp_path / "vb")
    assert len(rules_of(iptables_guard)) >= 2
    blocked = victim.exec_run(["nc", "-w", "2", address, "4444"], stdin=False)
    assert blocked.exit_code != 0  # the attacker is unreachable
    proc, events = run_playbook(
        irkit_cli, "release", victim.name, tmp_path / "r", key, iptables_guard
    )
    assert proc.returncode == 0, proc.stderr
    assert rules_of(iptables_guard) == []


def test_dry_run_changes_nothing(scene, irkit_cli, iptables_guard, tmp_path) -> None:
    victim, address = scene["victim"], scene["address"]
    victim.reload()
    before = (victim.attrs["State"], victim.attrs["NetworkSettings"]["Networks"])
    out = tmp_path / "out"
    proc = irkit_cli(
        "run", "quarantine", "--target", victim.name, "--out", str(out), "--case",
        iptables_guard, "--dry-run", "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    events = events_of(proc.stdout)
    assert [e["event"] for e in events] == ["run_start"] + ["plan"] * 5 + ["result"]
    assert events[-1]["status"] == "planned" and events[-1]["bundle"] is None
    victim.reload()
    assert (victim.attrs["State"], victim.attrs["NetworkSettings"]["Networks"]) == before
    assert rules_of(iptables_guard) == [] and not out.exists()
    assert address


def test_unknown_container_is_exit_2_and_changes_nothing(irkit_cli, key, tmp_path) -> None:
    proc = irkit_cli(
        "run", "quarantine", "--target", unique("missing"), "--key", str(key), "--json",
        "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert proc.returncode == 2
    [event] = events_of(proc.stdout)
    assert event["event"] == "error" and event["message"].startswith("no such container")
    assert not list((tmp_path / "out").glob("*.zip"))


@pytest.mark.slow
def test_ctrl_c_seals_incomplete_and_keeps_containment(
    scene, iptables_guard, state_dir, key, tmp_path, irkit_cli
) -> None:
    victim = scene["victim"]
    env = {**os.environ, "IRKIT_STATE_DIR": str(state_dir), "NO_COLOR": "1",
           "PYTHONPATH": str(REPO_ROOT)}  # fmt: skip
    argv = [sys.executable, "-m", "irkit", "run", "contain-and-collect", "--target", victim.name,
            "--out", str(tmp_path / "out"), "--key", str(key), "--case", iptables_guard,
            "--input", "capture_seconds=120", "--json"]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)  # fmt: skip
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        event = json.loads(line)
        if event["event"] == "step_start" and event["name"] == "capture-stop":
            time.sleep(0.5)
            proc.send_signal(signal.SIGINT)
            break
    t0 = time.monotonic()
    rest, _stderr = proc.communicate(timeout=60)
    assert time.monotonic() - t0 < 20
    assert proc.returncode == 130
    events = events_of("".join(lines) + rest)
    result = events[-1]
    assert result["status"] == "interrupted" and result["exit_code"] == 130
    assert step_statuses(events)["capture-stop"] == "failed"
    assert step_statuses(events)["seal"] == "skipped"
    assert result["bundle"]["complete"] is False
    assert [c["step"] for c in result["containment"]] == ["isolate", "pause"]
    verified = irkit_cli("bundle", "verify", result["bundle"]["path"], "--pubkey", f"{key}.pub")
    assert verified.returncode == 0 and "INCOMPLETE" in verified.stderr
    assert rules_of(iptables_guard)  # containment stays
    victim.reload()
    assert victim.attrs["State"]["Status"] == "paused"


@pytest.mark.slow
def test_demo_end_to_end(irkit_cli, docker_client, tmp_path) -> None:
    t0 = time.monotonic()
    proc = irkit_cli("demo", "--json", "--out", str(tmp_path / "demo"))
    assert time.monotonic() - t0 < 60
    assert proc.returncode == 0, proc.stderr
    events = events_of(proc.stdout)
    demo = events[-1]
    assert demo["event"] == "demo" and demo["ok"] and demo["verified"]
    assert demo["leftovers"] == []
    result = next(e for e in events if e["event"] == "result")
    assert result["status"] == "complete"
    assert Path(result["bundle"]["path"]).is_file()
    run = demo["victim"].rsplit("-", 1)[1]
    assert docker_client.containers.list(all=True, filters={"label": f"irkit.demo.run={run}"}) == []
    assert rules_of(f"demo-{run}") == []
    # the pcap shows the implant's channel, then its retransmissions into the firewall
    with zipfile.ZipFile(result["bundle"]["path"]) as bundle:
        name = next(n for n in bundle.namelist() if n.endswith(".pcap"))
        pcap = tmp_path / "demo.pcap"
        pcap.write_bytes(bundle.read(name))
    text = subprocess.run(["tcpdump", "-nr", str(pcap)], capture_output=True, text=True).stdout
    beacons = [ln for ln in text.splitlines() if f"{demo['attacker']}.4444: Flags [P.]" in ln]
    assert len(beacons) >= 2, text
