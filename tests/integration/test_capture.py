"""Packet capture against the real engine: traffic only between test containers."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from irkit.capture import CaptureOptions, find_orphans, start_capture
from irkit.capture.model import OWNER_LABEL, ROLE_LABEL, TARGET_LABEL
from irkit.capture.sidecar import owner_tag
from irkit.engine.host import real_host
from tests.conftest import REPO_ROOT
from tests.support import cleanup

pytestmark = pytest.mark.docker


@pytest.fixture
def pair(
    make_network: Callable[..., Any],
    make_container: Callable[..., Any],
    docker_client: docker.DockerClient,
) -> Iterator[tuple[Any, str, str]]:
    """A victim and a peer that answers TCP on 8080; yields (victim, victim_ip, peer_ip)."""
    network = make_network()
    peer = make_container(
        ["sh", "-c", "while true; do echo pong | nc -l -p 8080; done"], network=network.name
    )
    victim = make_container(network=network.name)
    victim.reload()
    peer.reload()
    ip = lambda c: c.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]  # noqa: E731
    yield victim, ip(victim), ip(peer)
    cleanup.remove_labelled(docker_client, f"{TARGET_LABEL}={victim.id}")


def traffic(victim: Any, peer_ip: str) -> None:
    """Three pings and one TCP exchange from the victim to the peer."""
    assert victim.exec_run(["ping", "-c", "3", "-i", "0.2", peer_ip]).exit_code == 0
    reply = victim.exec_run(["sh", "-c", f"echo hello | nc -w 2 {peer_ip} 8080"])
    assert b"pong" in reply.output


def read_pcap(path: Path) -> str:
    result = subprocess.run(["tcpdump", "-nr", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_traffic_in(path: Path, victim_ip: str, peer_ip: str) -> None:
    text = read_pcap(path)
    assert text.count(f"IP {victim_ip} > {peer_ip}: ICMP echo request") >= 3, text
    assert f"IP {peer_ip} > {victim_ip}: ICMP echo reply" in text
    assert f"IP {victim_ip}." in text and f"> {peer_ip}.8080: Flags [S]" in text, text


def assert_sha256(path: Path, expected: str) -> None:
    assert hashlib.sha256(path.read_bytes()).hexdigest() == expected
    assert Path(f"{path}.sha256").read_text() == f"{expected}  {path.name}\n"


def sidecars(client: docker.DockerClient, target_id: str) -> list[Any]:
    return client.containers.list(all=True, filters={"label": f"{TARGET_LABEL}={target_id}"})


def wait_for_sidecar(client: docker.DockerClient, target_id: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if any(c.status == "running" for c in sidecars(client, target_id)):
            time.sleep(0.7)  # tcpdump opens its socket just after the container starts
            return
        time.sleep(0.1)
    pytest.fail("no capture sidecar came up")


def popen_irkit(state_dir: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "IRKIT_STATE_DIR": str(state_dir), "NO_COLOR": "1"}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.Popen(
        [sys.executable, "-m", "irkit", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def sidecar_cli(
    state_dir: Path, client: docker.DockerClient, victim: Any, image: str, *args: str
) -> subprocess.Popen[str]:
    """`irkit capture VICTIM --capture-image IMAGE --no-pull ARGS`, once its sidecar is up."""
    proc = popen_irkit(
        state_dir, "capture", victim.name, "--capture-image", image, "--no-pull", *args
    )
    wait_for_sidecar(client, victim.id)
    return proc


def test_background_capture_holds_pings_and_tcp_with_addresses(
    pair, capture_image, docker_client, tmp_path
) -> None:
    victim, victim_ip, peer_ip = pair
    options = CaptureOptions(image=capture_image, allow_pull=False)
    session = start_capture(real_host(), victim.name, options, tmp_path / "bg" / "v.pcap")
    assert len(sidecars(docker_client, victim.id)) == 1
    traffic(victim, peer_ip)
    result = session.stop()
    assert sidecars(docker_client, victim.id) == []
    assert result.method.value == "sidecar" and result.image == capture_image
    assert result.image_digest and result.image_digest.startswith("sha256:")
    assert result.packets >= 8 and result.counters.captured == result.packets
    assert result.counters.dropped_by_kernel == 0
    assert_traffic_in(result.path, victim_ip, peer_ip)
    assert_sha256(result.path, result.sha256)


@pytest.mark.slow
def test_cli_capture_json_manifest_matches_the_pcap(
    pair, capture_image, docker_client, state_dir, tmp_path
) -> None:
    victim, victim_ip, peer_ip = pair
    out = tmp_path / "cli.pcap"
    args = ("--out", str(out), "--seconds", "5", "--json")
    proc = sidecar_cli(state_dir, docker_client, victim, capture_image, *args)
    traffic(victim, peer_ip)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    document = json.loads(stdout)["capture"]
    assert document["method"] == "sidecar" and document["stop_reason"] == "seconds"
    assert document["limits"]["seconds"] == 5
    assert_traffic_in(out, victim_ip, peer_ip)
    assert_sha256(out, document["sha256"])
    assert document["bytes"] == out.stat().st_size
    assert sidecars(docker_client, victim.id) == []


def test_absent_image_with_no_pull_uses_the_host_method(pair, irkit_cli, tmp_path) -> None:
    victim, _, _ = pair
    out = tmp_path / "host.pcap"
    absent = f"irkit-test/absent:{uuid.uuid4().hex[:8]}"
    result = irkit_cli(
        "capture", victim.name, "--out", str(out), "--seconds", "1",
        "--capture-image", absent, "--no-pull", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)["capture"]
    assert document["method"] == "host" and document["image"] is None
    assert f"capture image {absent} not available" in result.stderr
    assert "pulling" not in result.stderr
    read_pcap(out)
    assert_sha256(out, document["sha256"])


def test_host_method_max_packets(pair, state_dir, tmp_path) -> None:
    victim, _, peer_ip = pair
    out = tmp_path / "limit.pcap"
    proc = popen_irkit(
        state_dir, "capture", victim.name, "--out", str(out), "--method", "host",
        "--filter", "icmp", "--max-packets", "4", "--json",
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while proc.poll() is None and time.monotonic() < deadline:
        victim.exec_run(["ping", "-c", "1", "-W", "1", peer_ip])
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    document = json.loads(stdout)["capture"]
    assert (document["stop_reason"], document["packets"]) == ("max-packets", 4)
    assert len(read_pcap(out).splitlines()) == 4


def test_built_capture_image_is_then_used(pair, irkit_cli, docker_client, tmp_path) -> None:
    victim, _, _ = pair
    tag = f"irkit-test/capture-build:{uuid.uuid4().hex[:10]}"
    try:
        built = irkit_cli("capture-image", "build", "--tag", tag, "--json")
        assert built.returncode == 0, built.stderr
        assert json.loads(built.stdout)["image"]["tag"] == tag
        out = tmp_path / "built.pcap"
        result = irkit_cli(
            "capture", victim.name, "--out", str(out), "--seconds", "1", "--method", "sidecar",
            "--capture-image", tag, "--no-pull", "--json",
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        document = json.loads(result.stdout)["capture"]
        assert (document["method"], document["image"]) == ("sidecar", tag)
        read_pcap(out)
    finally:
        cleanup.remove_labelled(docker_client, f"{TARGET_LABEL}={victim.id}")
        docker_client.images.remove(tag, force=True)


@pytest.mark.parametrize("method", ["sidecar", "host"])
def test_invalid_filter_is_exit_2_with_tcpdumps_message(
    method, pair, capture_image, irkit_cli, docker_client, tmp_path
) -> None:
    victim, _, _ = pair
    out = tmp_path / "bad.pcap"
    result = irkit_cli(
        "capture", victim.name, "--out", str(out), "--filter", "tcp port (",
        "--method", method, "--capture-image", capture_image, "--no-pull",
    )  # fmt: skip
    assert result.returncode == 2
    assert "invalid capture filter: tcpdump:" in result.stderr
    assert "syntax error" in result.stderr
    assert not out.exists() and not Path(f"{out}.partial").exists()
    assert sidecars(docker_client, victim.id) == []


def test_stopped_container_is_exit_2(make_container, irkit_cli, tmp_path) -> None:
    stopped = make_container(["true"])
    stopped.wait(timeout=30)
    result = irkit_cli("capture", stopped.name, "--out", str(tmp_path / "x.pcap"))
    assert result.returncode == 2
    assert "nothing to capture" in result.stderr


def test_a_capture_sidecar_is_not_a_target(make_container, irkit_cli, tmp_path) -> None:
    fake = make_container(labels={ROLE_LABEL: "capture", OWNER_LABEL: owner_tag()})
    result = irkit_cli("capture", fake.name, "--out", str(tmp_path / "x.pcap"))
    assert result.returncode == 2
    assert "itself an irkit capture sidecar" in result.stderr


def test_sigint_leaves_a_complete_pcap_and_no_sidecar(
    pair, capture_image, docker_client, state_dir, tmp_path
) -> None:
    victim, victim_ip, peer_ip = pair
    out = tmp_path / "int.pcap"
    proc = sidecar_cli(state_dir, docker_client, victim, capture_image, "--out", str(out))
    traffic(victim, peer_ip)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert "stopped by interrupt" in stderr
    assert sidecars(docker_client, victim.id) == []
    assert_traffic_in(out, victim_ip, peer_ip)
    assert_sha256(out, Path(f"{out}.sha256").read_text().split()[0])


def test_sigkill_orphan_is_reported_then_removed_by_the_next_run(
    pair, capture_image, docker_client, state_dir, irkit_cli, tmp_path
) -> None:
    victim, _, _ = pair
    killed = str(tmp_path / "killed.pcap")
    proc = sidecar_cli(state_dir, docker_client, victim, capture_image, "--out", killed)
    proc.kill()
    proc.communicate(timeout=30)
    (left,) = sidecars(docker_client, victim.id)
    assert left.id in {o.id for o in find_orphans(docker_client)}
    result = irkit_cli(
        "capture", victim.name, "--out", str(tmp_path / "next.pcap"), "--seconds", "0.5",
        "--capture-image", capture_image, "--no-pull",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"removed orphaned capture sidecar {left.name}" in result.stderr
    assert sidecars(docker_client, victim.id) == []


def test_capture_of_an_isolated_container_sees_its_dropped_attempts(
    pair: tuple[Any, str, str],
    capture_image: str,
    irkit_cli: Callable[..., Any],
    iptables_guard: str,
    tmp_path: Path,
) -> None:
    """The firewall drops after the veth: the pcap shows the attempts, and no reply."""
    victim, victim_ip, peer_ip = pair
    isolated = irkit_cli("isolate", victim.name, "--case", iptables_guard, "--json")
    assert isolated.returncode == 0, isolated.stderr
    attempt = victim.exec_run(["ping", "-c", "3", "-i", "0.2", "-W", "1", peer_ip])
    assert attempt.exit_code != 0, "the isolated victim still reached its peer"
    victim.exec_run(["ping", "-c", "40", "-i", "0.25", "-W", "1", peer_ip], detach=True)
    pcap = tmp_path / "isolated.pcap"
    capture = irkit_cli(
        "capture",
        victim.name,
        "--out",
        str(pcap),
        "--seconds",
        "3",
        "--capture-image",
        capture_image,
        "--filter",
        "icmp",
    )
    assert capture.returncode == 0, capture.stderr
    text = read_pcap(pcap)
    assert f"{victim_ip} > {peer_ip}: ICMP echo request" in text
    assert f"{peer_ip} > {victim_ip}: ICMP echo reply" not in text
    released = irkit_cli("release", victim.name, "--json")
    assert released.returncode == 0, released.stderr
