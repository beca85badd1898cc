"""`irkit collect` and `irkit triage` against real containers, as a responder runs them.

A victim listens on a port, holds a connection to a peer container, writes
beacon lines to stdout and stderr, has a file planted after start and runs a
process whose binary was deleted. The same scenario runs on an image with no
shell (there, exec-netstat must fail cleanly). Every bundle is verified with
`irkit bundle verify`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.conftest import unique
from tests.support.images import BUSYBOX, TEST_LABEL

pytestmark = pytest.mark.docker

PLANTED = b"planted by the attacker\n" + bytes(range(256)) * 64
BUSYBOX_SHA256 = hashlib.sha256(Path(BUSYBOX).read_bytes()).hexdigest()
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ")


@dataclass
class Scene:
    victim: Any
    peer_ip: str
    deleted_exe: str
    stdout_beacon: str
    stderr_beacon: str


def _tar_of(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _wait_for(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _top_has(container: Any, *needles: str) -> Callable[[], bool]:
    def check() -> bool:
        commands = " | ".join(" ".join(row) for row in container.top()["Processes"])
        return all(n in commands for n in needles)

    return check


def _peer(make_container: Callable[..., Any], network: str) -> str:
    peer = make_container(["sh", "-c", "sleep 1000 | nc -l -p 5555"], network=network)
    peer.reload()
    return str(peer.attrs["NetworkSettings"]["Networks"][network]["IPAddress"])


def _shell_victim(make_container: Callable[..., Any], network: str, peer_ip: str) -> Scene:
    script = (
        "cp /bin/busybox /tmp/sleep; /tmp/sleep 1000 & sleep 0.3; rm /tmp/sleep; "
        "nc -l -p 4444 & "
        f"(sleep 1000 | nc {peer_ip} 5555) & "
        "while true; do echo beacon-out; echo beacon-err >&2; sleep 0.5; done"
    )
    victim = make_container(["sh", "-c", script], network=network)
    _wait_for(_top_has(victim, "/tmp/sleep 1000", "nc -l -p 4444", f"nc {peer_ip}"), "victim")
    return Scene(victim, peer_ip, "/tmp/sleep", "beacon-out", "beacon-err")


def _noshell_victim(
    docker_client: docker.DockerClient,
    image: str,
    run_label: str,
    network: str,
    peer_ip: str,
    drop: Path,
) -> Scene:
    """No shell: cat writes the beacons (an error line to stderr, a file to stdout),
    exec starts the listener and the connection, a host bind mount lets the host
    delete the running binary."""
    victim = docker_client.containers.create(
        image,
        ["cat", "/beacon-err-missing", "/beacon-out.txt", "-"],
        name=unique(),
        stdin_open=True,
        network=network,
        labels={**TEST_LABEL, "irkit.test.run": run_label},
        volumes={str(drop): {"bind": "/mnt/drop", "mode": "rw"}},
    )
    victim.put_archive("/", _tar_of("beacon-out.txt", b"beacon-out\n"))
    victim.start()
    shutil.copy2(BUSYBOX, drop / "sleep")
    victim.exec_run(["/mnt/drop/sleep", "1000"], detach=True)
    victim.exec_run(["nc", "-l", "-p", "4444"], detach=True)
    victim.exec_run(["nc", peer_ip, "5555", "-e", "/bin/sleep", "1000"], detach=True)
    _wait_for(_top_has(victim, "/mnt/drop/sleep 1000", "nc -l -p 4444", "/bin/sleep"), "victim")
    os.remove(drop / "sleep")
    return Scene(victim, peer_ip, "/mnt/drop/sleep", "beacon-out", "beacon-err-missing")


@pytest.fixture
def keys(tmp_path: Path, irkit_cli: Callable[..., Any]) -> tuple[Path, Path]:
    result = irkit_cli("keys", "generate", "--out", str(tmp_path / "keys"))
    assert result.returncode == 0, result.stderr
    return tmp_path / "keys" / "irkit_ed25519", tmp_path / "keys" / "irkit_ed25519.pub"


@pytest.fixture(params=["shell", "noshell"])
def scene(
    request: pytest.FixtureRequest,
    docker_client: docker.DockerClient,
    make_container: Callable[..., Any],
    make_network: Callable[..., Any],
    noshell_image: str,
    test_run_label: str,
    tmp_path: Path,
) -> Scene:
    network = make_network().name
    peer_ip = _peer(make_container, network)
    if request.param == "shell":
        scene = _shell_victim(make_container, network, peer_ip)
    else:
        drop = tmp_path / "drop"
        drop.mkdir()
        scene = _noshell_victim(
            docker_client, noshell_image, test_run_label, network, peer_ip, drop
        )
    scene.victim.put_archive("/tmp", _tar_of("planted.bin", PLANTED))
    _wait_for(lambda: b"beacon-out" in scene.victim.logs(stderr=False), "beacons")
    return scene


def collect(
    irkit_cli: Callable[..., Any], keys: tuple[Path, Path], bundle: Path, *args: str
) -> tuple[int, list[dict[str, Any]]]:
    result = irkit_cli("collect", *args, "--out", str(bundle), "--key", str(keys[0]), "--json")
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events and events[-1]["event"] == "result", result.stderr
    verify = irkit_cli("bundle", "verify", str(bundle), "--pubkey", str(keys[1]))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    return result.returncode, events


def member(bundle: Path, path: str) -> bytes:
    with zipfile.ZipFile(bundle) as z:
        return z.read(f"artifacts/{path}")


def exported_file(bundle: Path, export: str, wanted: str) -> bytes:
    """One file out of the export tar inside the bundle, read as a stream."""
    with (
        zipfile.ZipFile(bundle) as z,
        z.open(f"artifacts/{export}") as raw,
        tarfile.open(fileobj=raw, mode="r|") as tar,
    ):
        for m in tar:
            if m.name.lstrip("./") == wanted:
                return tar.extractfile(m).read()
    raise AssertionError(f"{wanted} not in {export}")


def _steps(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["name"].split(":")[0]: e for e in events if e["event"] == "step"}


@pytest.mark.slow
def test_bundle_holds_all_the_evidence(
    scene: Scene, irkit_cli: Callable[..., Any], keys: tuple[Path, Path], tmp_path: Path
) -> None:
    name = scene.victim.name
    bundle = tmp_path / "evidence.zip"
    artifacts = "processes,netstat,exec-netstat,host,inspect,logs,diff,export"
    code, events = collect(irkit_cli, keys, bundle, name, "--artifacts", artifacts)
    steps = _steps(events)
    shell = scene.stderr_beacon == "beacon-err"
    base = f"containers/{name}"

    # exec-netstat: labelled untrusted where it ran, a clean failure where there is no netstat
    if shell:
        assert code == 0, events
        assert b"4444" in member(bundle, f"{base}/untrusted/exec-netstat.txt")
    else:
        assert code == 1
        assert steps["exec-netstat"]["status"] == "failed"
        assert "netstat" in steps["exec-netstat"]["error"]
    assert all(s["status"] == "ok" for n, s in steps.items() if n != "exec-netstat"), steps

    # netstat from the host: the listener and the connection with their processes
    sockets = json.loads(member(bundle, f"{base}/netstat.json"))["sockets"]
    listen = next(s for s in sockets if s["state"] == "LISTEN" and s["local_port"] == 4444)
    assert listen["owners"][0]["name"] == "nc"
    conn = next(s for s in sockets if s["state"] == "ESTABLISHED" and s["remote_port"] == 5555)
    assert conn["remote_address"] == scene.peer_ip and conn["owners"]
    text = member(bundle, f"{base}/netstat.txt").decode()
    assert re.search(rf"{re.escape(scene.peer_ip)}:5555\s+ESTABLISHED\s+\d+/", text)

    # logs: each beacon in its own stream, timestamped
    stdout = member(bundle, f"{base}/logs/stdout.log").decode()
    stderr = member(bundle, f"{base}/logs/stderr.log").decode()
    assert scene.stdout_beacon in stdout and scene.stderr_beacon not in stdout
    assert scene.stderr_beacon in stderr and "beacon-out" not in stderr
    assert all(TIMESTAMP.match(line) for line in stdout.splitlines())

    # the planted file: in the diff listing, its copied content and the export, byte for byte
    changes = json.loads(member(bundle, f"{base}/diff/diff.json"))["changes"]
    planted = next(c for c in changes if c["path"] == "/tmp/planted.bin")
    assert planted["kind"] == "added"
    assert member(bundle, planted["content"].removeprefix("artifacts/")) == PLANTED
    assert exported_file(bundle, f"{base}/export.tar", "tmp/planted.bin") == PLANTED

    # the process whose binary was deleted is hashed through /proc/PID/exe
    processes = json.loads(member(bundle, f"{base}/processes.json"))["processes"]
    implant = next(p for p in processes if p["exe_deleted"])
    assert implant["exe"] == scene.deleted_exe
    assert implant["exe_sha256"] == BUSYBOX_SHA256
    assert steps["processes"]["detail"]["deleted_binaries"] == [implant["pid"]]

    # inspect and host context
    inspect = json.loads(member(bundle, f"{base}/inspect/container.json"))
    assert inspect["Id"] == scene.victim.id
    assert b"*filter" in member(bundle, "host/iptables-save.txt")


def test_paused_container_is_read_and_left_paused(
    make_container: Callable[..., Any],
    irkit_cli: Callable[..., Any],
    keys: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    victim = make_container(["nc", "-l", "-p", "4444"])
    _wait_for(_top_has(victim, "nc -l"), "listener")
    victim.pause()
    bundle = tmp_path / "paused.zip"
    code, events = collect(irkit_cli, keys, bundle, victim.name, "--artifacts", "processes,netstat")
    assert code == 0, events
    victim.reload()
    assert victim.status == "paused"
    sockets = json.loads(member(bundle, f"containers/{victim.name}/netstat.json"))["sockets"]
    assert any(s["state"] == "LISTEN" and s["local_port"] == 4444 for s in sockets)
    victim.unpause()


def test_stopped_container_says_what_could_not_be_collected(
    make_container: Callable[..., Any],
    irkit_cli: Callable[..., Any],
    keys: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    victim = make_container(["sh", "-c", "echo gone > /tmp/left; echo last-words"])
    _wait_for(lambda: victim.reload() or victim.status == "exited", "exit")
    bundle = tmp_path / "stopped.zip"
    code, events = collect(irkit_cli, keys, bundle, victim.name)
    steps = _steps(events)
    assert code == 0
    for name in ("processes", "netstat"):
        assert steps[name]["status"] == "skipped"
        assert "container is exited" in steps[name]["error"]
    assert {steps[n]["status"] for n in ("inspect", "logs", "diff", "export", "host")} == {"ok"}
    assert b"last-words" in member(bundle, f"containers/{victim.name}/logs/stdout.log")
    victim.reload()
    assert victim.status == "exited"


def test_several_containers_share_one_bundle_and_unknown_is_exit_2(
    make_container: Callable[..., Any],
    irkit_cli: Callable[..., Any],
    keys: tuple[Path, Path],
    state_dir: Path,
    tmp_path: Path,
) -> None:
    first, second = make_container(), make_container()
    bundle = tmp_path / "two.zip"
    code, _ = collect(
        irkit_cli, keys, bundle, first.name, second.id, "--artifacts", "inspect,processes"
    )
    assert code == 0
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
    for c in (first, second):
        assert f"artifacts/containers/{c.name}/inspect/container.json" in names
    assert not (state_dir / "spool").exists(), "no pcap asked for, yet a spool was made"
    missing = tmp_path / "none.zip"
    result = irkit_cli("collect", "irkit-test-no-such", "--out", str(missing), "--no-sign")
    assert result.returncode == 2
    assert "no such container" in result.stderr
    assert not missing.exists()


def test_triage_flags_the_risks(
    make_container: Callable[..., Any], irkit_cli: Callable[..., Any]
) -> None:
    script = "cp /bin/busybox /tmp/sleep; /tmp/sleep 1000 & sleep 0.3; rm /tmp/sleep; nc -l -p 4444"
    victim = make_container(
        ["sh", "-c", script], cap_add=["NET_ADMIN"], ports={"4444/tcp": ("0.0.0.0", None)}
    )
    _wait_for(_top_has(victim, "/tmp/sleep 1000", "nc -l"), "victim")
    result = irkit_cli("triage", victim.name, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    checks = {f["check"]: f for f in report["findings"]}
    assert checks["capability"]["severity"] == "high"
    assert checks["deleted-binary"]["severity"] == "high"
    assert "/tmp/sleep" in checks["deleted-binary"]["message"]
    assert checks["published-port"]["severity"] == "medium"
    assert "4444" in checks["listening"]["message"]
    assert {"root-user", "no-memory-limit"} <= set(checks)
    human = irkit_cli("triage", victim.name)
    assert "deleted-binary" in human.stderr and human.stdout == ""
    victim.reload()
    assert victim.status == "running"


def test_pcap_runs_around_the_collection_and_lands_in_the_bundle(
    make_container: Callable[..., Any],
    make_network: Callable[..., Any],
    capture_image: str,
    irkit_cli: Callable[..., Any],
    keys: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    network = make_network().name
    peer_ip = _peer(make_container, network)
    victim = make_container(
        ["sh", "-c", f"while true; do ping -c 1 -W 1 {peer_ip}; done"], network=network
    )
    stopped = make_container(["true"])
    _wait_for(lambda: stopped.reload() or stopped.status == "exited", "exit")
    bundle = tmp_path / "pcap.zip"
    result = irkit_cli(
        "collect",
        victim.name,
        stopped.name,
        "--artifacts",
        "inspect,pcap",
        "--pcap-seconds",
        "2",
        "--out",
        str(bundle),
        "--key",
        str(keys[0]),
        "--json",
        env={"IRKIT_CAPTURE_IMAGE": capture_image},
    )
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0, result.stderr
    steps = {e["name"]: e for e in events if e["event"] == "step"}
    assert steps[f"pcap:{stopped.name}"]["status"] == "skipped"
    capture = steps[f"pcap:{victim.name}"]
    assert capture["status"] == "ok" and capture["detail"]["method"] == "sidecar"
    pcap = tmp_path / "victim.pcap"
    pcap.write_bytes(member(bundle, f"containers/{victim.name}/pcap/capture.pcap"))
    assert hashlib.sha256(pcap.read_bytes()).hexdigest() == capture["detail"]["sha256"]
    text = subprocess.run(["tcpdump", "-nr", str(pcap)], capture_output=True, text=True).stdout
    assert f"> {peer_ip}: ICMP echo request" in text
    verify = irkit_cli("bundle", "verify", str(bundle), "--pubkey", str(keys[1]))
    assert verify.returncode == 0, verify.stdout
