"""Input validation of containment: what may reach an iptables argument."""

from __future__ import annotations

import ipaddress

import pytest

from irkit.contain.block import ssh_client
from irkit.contain.spec import (
    Direction,
    Mode,
    block_spec,
    parse_allow,
    refusal,
    validate_case,
    validate_modes,
)
from irkit.errors import UsageError


@pytest.mark.parametrize("case", ["IR-2026.001", "a", "x" * 64, "t0123abcd"])
def test_good_case_ids(case: str) -> None:
    assert validate_case(case) == case


@pytest.mark.parametrize(
    "case", ["", "x" * 65, 'a" -j ACCEPT', "a b", "-j", "a:b", "é", "../etc", "a\nb"]
)
def test_case_ids_that_could_inject_are_refused(case: str) -> None:
    with pytest.raises(UsageError, match="invalid case id"):
        validate_case(case)


def test_default_case() -> None:
    assert validate_case(None) == "adhoc"


def test_modes_default_dedupe_and_order() -> None:
    assert validate_modes([]) == (Mode.FIREWALL,)
    assert validate_modes(["stop", "firewall", "stop"]) == (Mode.FIREWALL, Mode.STOP)
    with pytest.raises(UsageError, match="exclude"):
        validate_modes(["pause", "stop"])
    with pytest.raises(UsageError, match="unknown isolation mode"):
        validate_modes(["explode"])


@pytest.mark.parametrize(
    ("text", "network", "port"),
    [
        ("10.0.0.5", "10.0.0.5/32", None),
        ("10.0.0.0/24:514", "10.0.0.0/24", 514),
        ("2001:db8::1", "2001:db8::1/128", None),
        ("[2001:db8::1]:22", "2001:db8::1/128", 22),
        ("[2001:db8::/64]:22", "2001:db8::/64", 22),
        ("[2001:db8::/64]", "2001:db8::/64", None),
    ],
)
def test_allow_specs(text: str, network: str, port: int | None) -> None:
    allow = parse_allow(text)
    assert allow.network == ipaddress.ip_network(network)
    assert allow.port == port


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.0.0.5:0", "port out of range"),
        ("10.0.0.5:70000", "port out of range"),
        ("10.0.0.5:ssh", "invalid port"),
        ("10.0.0.300", "invalid address"),
        ("10.0.0.5/24", "host bits set"),
        ("[2001:db8::1", "invalid --allow"),
        ("host.example", "invalid address"),
    ],
)
def test_bad_allow_specs(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_allow(text)


def test_block_spec_defaults_and_key() -> None:
    spec = block_spec("203.0.113.0/24", port=22)
    assert spec.proto == "tcp"
    assert spec.direction is Direction.BOTH
    assert spec.key == "203.0.113.0/24,tcp/22,both"
    assert block_spec("2001:db8::/32", direction="in").key == "2001:db8::/32,in"
    with pytest.raises(UsageError, match="host bits"):
        block_spec("203.0.113.7/24")
    with pytest.raises(UsageError, match="direction"):
        block_spec("203.0.113.7", direction="sideways")
    with pytest.raises(UsageError, match="protocol"):
        block_spec("203.0.113.7", proto="icmp")


OWN = [ipaddress.ip_address("192.0.2.10"), ipaddress.ip_address("172.17.0.1")]


@pytest.mark.parametrize(
    ("network", "reason"),
    [
        ("0.0.0.0/0", "every address"),
        ("::/0", "every address"),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("192.0.2.10", "this host's address"),
        ("172.16.0.0/12", "this host's address"),
        ("198.51.100.0/24", "SSH client"),
    ],
)
def test_refusals(network: str, reason: str) -> None:
    ssh = ipaddress.ip_address("198.51.100.7")
    message = refusal(ipaddress.ip_network(network), OWN, ssh)
    assert message is not None and reason in message


def test_attacker_address_is_not_refused() -> None:
    assert refusal(ipaddress.ip_network("203.0.113.0/24"), OWN, None) is None


def test_ssh_client_from_environment() -> None:
    env = {"SSH_CONNECTION": "198.51.100.7 50022 192.0.2.10 22"}
    assert ssh_client(env) == ipaddress.ip_address("198.51.100.7")
    assert ssh_client({}) is None
    assert ssh_client({"SSH_CONNECTION": "garbage"}) is None
