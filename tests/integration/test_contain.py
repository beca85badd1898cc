"""Containment against the real engine and iptables, judged by real traffic.

Every irkit call passes --case with this test's case id, so `iptables_guard`
removes whatever a failing test leaves behind.
"""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

pytestmark = pytest.mark.docker

HTTP_PORT = 8080


def pings(container: Any, address: str) -> bool:
    return container.exec_run(["ping", "-c", "1", "-W", "1", address]).exit_code == 0


def host_connects(address: str) -> bool:
    """The host itself opening a TCP connection (OUTPUT chain) to the victim's httpd."""
    try:
        socket.create_connection((address, HTTP_PORT), timeout=1).close()
    except OSError:
        return False
    return True


def probe(checks: dict[str, Callable[[], bool]]) -> dict[str, bool]:
    """Run reachability checks at once (a failing one costs its 1 s timeout)."""
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        futures = {name: pool.submit(check) for name, check in checks.items()}
        return {name: f.result() for name, f in futures.items()}


def irkit_rules(case: str) -> list[str]:
    lines: list[str] = []
    for tool in ("iptables", "ip6tables"):
        dump = subprocess.run([f"{tool}-save"], capture_output=True, text=True)
        lines += [ln for ln in dump.stdout.splitlines() if f"irkit:{case}:" in ln]
    return lines


def ip_of(container: Any, network: str) -> str:
    container.reload()
    return str(container.attrs["NetworkSettings"]["Networks"][network]["IPAddress"])


def gateway_of(container: Any, network: str) -> str:
    container.reload()
    return str(container.attrs["NetworkSettings"]["Networks"][network]["Gateway"])


@dataclass
class World:
    victim: Any
    peer: Any
    other: Any
    net: str
    other_net: str


@pytest.fixture
def world(make_network: Callable[..., Any], make_container: Callable[..., Any]) -> World:
    net = make_network()
    other_net = make_network()
    victim = make_container(["httpd", "-f", "-p", str(HTTP_PORT)], network=net.name)
    peer = make_container(network=net.name)
    other = make_container(network=other_net.name)
    return World(victim, peer, other, net.name, other_net.name)


def _traffic(w: World) -> dict[str, bool]:
    victim_ip = ip_of(w.victim, w.net)
    peer_ip = ip_of(w.peer, w.net)
    gateway = gateway_of(w.victim, w.net)
    other_gateway = gateway_of(w.other, w.other_net)
    return probe(
        {
            "victim->peer": lambda: pings(w.victim, peer_ip),
            "victim->host": lambda: pings(w.victim, gateway),
            "peer->victim": lambda: pings(w.peer, victim_ip),
            "host->victim": lambda: host_connects(victim_ip),
            "peer->host": lambda: pings(w.peer, gateway),
            "other->host": lambda: pings(w.other, other_gateway),
        }
    )


ALL_OPEN = dict.fromkeys(
    ["victim->peer", "victim->host", "peer->victim", "host->victim", "peer->host", "other->host"],
    True,
)


def test_firewall_isolation_stops_traffic_and_release_restores_it(
    world: World, irkit_cli: Callable[..., Any], iptables_guard: str
) -> None:
    case = iptables_guard
    assert _traffic(world) == ALL_OPEN

    result = irkit_cli("isolate", world.victim.name, "--case", case, "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert document["containers"][0]["modes"] == ["firewall"]
    assert len(irkit_rules(case)) == 4

    isolated = _traffic(world)
    assert isolated == {
        **dict.fromkeys(["victim->peer", "victim->host", "peer->victim", "host->victim"], False),
        "peer->host": True,
        "other->host": True,
    }

    status = json.loads(irkit_cli("status", "--json").stdout)
    mine = [i for i in status["isolations"] if i["case"] == case]
    assert [i["name"] for i in mine] == [world.victim.name]
    assert not [d for d in status["drift"] if world.victim.id[:12] in d["subject"]]

    released = irkit_cli("release", world.victim.name, "--json")
    assert released.returncode == 0, released.stderr
    assert _traffic(world) == ALL_OPEN
    assert irkit_rules(case) == []
    after = json.loads(irkit_cli("status", "--json").stdout)
    assert not [i for i in after["isolations"] if i["case"] == case]


def test_isolate_twice_adds_nothing_and_repairs_drift(
    make_container: Callable[..., Any], irkit_cli: Callable[..., Any], iptables_guard: str
) -> None:
    case = iptables_guard
    victim = make_container()
    first = json.loads(irkit_cli("isolate", victim.name, "--case", case, "--json").stdout)
    second = json.loads(irkit_cli("isolate", victim.id, "--case", case, "--json").stdout)
    assert first["rules_added"] == 4
    assert second["rules_added"] == 0
    rules = irkit_rules(case)
    assert len(rules) == 4

    # Someone deletes one rule by hand: status reports it, isolate puts it back.
    gone = next(r for r in rules if r.startswith("-A INPUT"))
    subprocess.run(["iptables", "-w", "-D", *shlex.split(gone)[1:]], check=True)
    status = json.loads(irkit_cli("status", "--json").stdout)
    kinds = [d["kind"] for d in status["drift"] if victim.id[:12] in d["subject"]]
    assert kinds == ["missing-rule"]
    irkit_cli("isolate", victim.name, "--case", case)
    assert sorted(irkit_rules(case)) == sorted(rules)
    assert irkit_cli("release", victim.name).returncode == 0
    assert irkit_rules(case) == []


def test_disconnect_and_release_restore_aliases_and_static_ip(
    make_network: Callable[..., Any],
    make_container: Callable[..., Any],
    docker_client: Any,
    irkit_cli: Callable[..., Any],
    iptables_guard: str,
) -> None:
    import uuid

    import docker.types

    octet = int(uuid.uuid4().hex[:2], 16) % 200 + 20
    subnet = f"10.{octet}.{int(uuid.uuid4().hex[:2], 16)}.0/24"
    pool = docker.types.IPAMPool(subnet=subnet)
    net = make_network(ipam=docker.types.IPAMConfig(pool_configs=[pool]))
    static = subnet.replace(".0/24", ".77")
    victim = make_container()
    net.connect(victim, ipv4_address=static, aliases=["web", "api"])
    peer = make_container(network=net.name)
    assert pings(peer, static)

    result = irkit_cli("isolate", victim.name, "--mode", "disconnect", "--case", iptables_guard)
    assert result.returncode == 0, result.stderr
    victim.reload()
    assert victim.attrs["NetworkSettings"]["Networks"] == {}
    assert not pings(peer, static)

    assert irkit_cli("release", victim.name).returncode == 0, result.stderr
    victim.reload()
    networks = victim.attrs["NetworkSettings"]["Networks"]
    assert set(networks) == {"bridge", net.name}
    endpoint = networks[net.name]
    assert endpoint["IPAMConfig"]["IPv4Address"] == static
    assert endpoint["IPAddress"] == static
    assert {"web", "api"} <= set(endpoint["Aliases"])
    assert pings(peer, "web")


@pytest.mark.parametrize("mode", ["pause", "stop"])
def test_pause_or_stop_and_release_restore_restart_policy(
    mode: str,
    make_container: Callable[..., Any],
    irkit_cli: Callable[..., Any],
    iptables_guard: str,
) -> None:
    victim = make_container(restart_policy={"Name": "on-failure", "MaximumRetryCount": 3})
    result = irkit_cli(
        "isolate", victim.name, "--mode", mode, "--stop-timeout", "1", "--case", iptables_guard
    )
    assert result.returncode == 0, result.stderr
    victim.reload()
    assert victim.attrs["HostConfig"]["RestartPolicy"]["Name"] == "no"
    assert victim.status == ("paused" if mode == "pause" else "exited")

    assert irkit_cli("release", victim.name).returncode == 0
    victim.reload()
    assert victim.status == "running"
    assert victim.attrs["HostConfig"]["RestartPolicy"] == {
        "Name": "on-failure",
        "MaximumRetryCount": 3,
    }


def test_block_ip_refuses_host_address_and_blocks_an_attacker(
    world: World, irkit_cli: Callable[..., Any], iptables_guard: str
) -> None:
    case = iptables_guard
    host_address = gateway_of(world.victim, world.net)
    refused = irkit_cli("block-ip", host_address, "--case", case, "--json")
    assert refused.returncode == 2
    assert "this host's address" in json.loads(refused.stdout)["error"]["message"]
    assert irkit_rules(case) == []

    # The peer plays the attacker: the victim stops answering it, the host too.
    attacker = ip_of(world.peer, world.net)
    victim_ip = ip_of(world.victim, world.net)
    blocked = irkit_cli("block-ip", attacker, "--case", case)
    assert blocked.returncode == 0, blocked.stderr
    assert len(irkit_rules(case)) == 4
    gateway = gateway_of(world.peer, world.net)
    assert probe(
        {
            "attacker->victim": lambda: pings(world.peer, victim_ip),
            "attacker->host": lambda: pings(world.peer, gateway),
            "other->host": lambda: pings(world.other, gateway_of(world.other, world.other_net)),
        }
    ) == {"attacker->victim": False, "attacker->host": False, "other->host": True}

    assert irkit_cli("unblock-ip", attacker).returncode == 0
    assert irkit_rules(case) == []
    assert pings(world.peer, victim_ip)


def test_bad_input_is_exit_2_and_applies_nothing(
    make_container: Callable[..., Any], irkit_cli: Callable[..., Any], iptables_guard: str
) -> None:
    case = iptables_guard
    running = make_container()
    stopped = make_container()
    stopped.stop(timeout=0)

    unknown = irkit_cli("isolate", running.name, "irkit-test-no-such", "--case", case)
    assert unknown.returncode == 2
    assert "no such container: irkit-test-no-such" in unknown.stderr

    not_running = irkit_cli("isolate", running.name, stopped.name, "--case", case)
    assert not_running.returncode == 2
    assert "is not running" in not_running.stderr
    assert "--mode disconnect" in not_running.stderr

    for bad in (["--allow", "10.0.0.1:70000"], ["--allow", "10.0.0.300"], ["--case", "a b"]):
        result = irkit_cli("isolate", running.name, "--case", case, *bad)
        assert result.returncode == 2, bad
        assert result.stderr.count("\n") <= 2

    assert irkit_rules(case) == []
    status = json.loads(irkit_cli("status", "--json").stdout)
    assert status["isolations"] == []


def test_half_done_isolation_shows_in_status_and_release_finishes_it(
    make_container: Callable[..., Any],
    irkit_cli: Callable[..., Any],
    iptables_guard: str,
    state_dir: Any,
) -> None:
    victim = make_container()
    assert irkit_cli("isolate", victim.name, "--case", iptables_guard).returncode == 0
    # A crash between applying and recording leaves the entry in phase "applying".
    path = state_dir / "state.json"
    document = json.loads(path.read_text())
    document["isolations"][victim.id]["phase"] = "applying"
    path.write_text(json.dumps(document))

    status = json.loads(irkit_cli("status", "--json").stdout)
    kinds = [d["kind"] for d in status["drift"] if victim.id[:12] in d["subject"]]
    assert kinds == ["incomplete"]

    assert irkit_cli("release", victim.id[:12]).returncode == 0
    assert irkit_rules(iptables_guard) == []
    assert json.loads(path.read_text())["isolations"] == {}
    audit = [json.loads(line) for line in (state_dir / "audit.jsonl").read_text().splitlines()]
    assert [a["action"] for a in audit] == ["isolate", "release"]


def test_an_open_connection_dies_at_isolation(
    make_network: Callable[..., Any],
    make_container: Callable[..., Any],
    irkit_cli: Callable[..., Any],
    iptables_guard: str,
) -> None:
    """A channel opened before isolation (an attacker's session) stops carrying data."""
    net = make_network().name
    peer = make_container(["sh", "-c", "sleep 1000 | nc -l -p 5555 > /tmp/got"], network=net)
    peer_ip = ip_of(peer, net)
    victim = make_container(
        ["sh", "-c", f"while true; do echo tick; sleep 0.2; done | nc {peer_ip} 5555"],
        network=net,
    )

    def received() -> int:
        return int(peer.exec_run(["wc", "-c", "/tmp/got"]).output.split()[0])

    deadline = time.monotonic() + 10
    while received() == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    before = received()
    time.sleep(0.6)
    assert received() > before, "the channel did not carry data before isolation"
    result = irkit_cli("isolate", victim.name, "--case", iptables_guard, "--json")
    assert result.returncode == 0, result.stderr
    time.sleep(0.5)
    frozen = received()
    time.sleep(1.5)
    assert received() == frozen, "the open connection still carried data after isolation"
    assert irkit_cli("release", victim.name).returncode == 0
