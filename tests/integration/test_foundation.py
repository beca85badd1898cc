"""The foundation against the real engine."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.docker


def test_doctor_json_shows_engine_ok(docker_client, irkit_cli) -> None:
    result = irkit_cli("doctor", "--json")
    document = json.loads(result.stdout)
    engine = next(c for c in document["checks"] if c["name"] == "docker engine")
    assert engine["status"] == "ok", engine
    assert "API" in engine["detail"]
    assert result.returncode in (0, 4)
    assert result.returncode == (0 if document["ok"] else 4)


def test_unknown_container_is_exit_2(docker_client) -> None:
    from irkit.engine.docker import connect, get_container
    from irkit.errors import ContainerNotFound

    with pytest.raises(ContainerNotFound, match="no such container: irkit-test-nope"):
        get_container(connect(), "irkit-test-nope")


def test_no_engine_is_exit_4_with_hint(irkit_cli) -> None:
    env = {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    human = irkit_cli("doctor", env=env)
    assert human.returncode == 4
    assert "not ready" in human.stderr
    assert "Traceback" not in human.stderr
    document = json.loads(irkit_cli("doctor", "--json", env=env).stdout)
    engine = next(c for c in document["checks"] if c["name"] == "docker engine")
    assert engine["detail"].startswith("no Docker engine answers")
    assert "dockerd" in engine["fix"]


def test_victim_and_capture_images_run(make_container, capture_image) -> None:
    victim = make_container(["sh", "-c", "echo hello; sleep 30"])
    peer_capture = make_container(
        ["-c", "1", "-i", "any", "-w", "/dev/null", "-G", "1"],
        image=capture_image,
        network_mode=f"container:{victim.id}",
        cap_add=["NET_RAW", "NET_ADMIN"],
    )
    peer_capture.reload()
    victim.reload()
    assert victim.status == "running"
