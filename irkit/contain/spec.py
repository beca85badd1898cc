"""Validated inputs of containment: case ids, modes, allow holes, block specs.

Everything that ends up in an iptables argument or rule comment passes through
here first, so a hostile container name or case id cannot inject options.
"""

from __future__ import annotations

import enum
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from irkit.errors import UsageError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_CASE = "adhoc"
_CASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


class Mode(str, enum.Enum):
    """How a container is isolated; modes combine (pause and stop excepted)."""

    FIREWALL = "firewall"
    DISCONNECT = "disconnect"
    PAUSE = "pause"
    STOP = "stop"


class Direction(str, enum.Enum):
    IN = "in"
    OUT = "out"
    BOTH = "both"


def validate_case(case: str | None) -> str:
    """A case id safe inside a rule comment and a file name."""
    value = DEFAULT_CASE if case is None else case
    if not _CASE.fullmatch(value):
        raise UsageError(
            f"invalid case id: {value!r}",
            hint="use 1-64 characters: letters, digits, '.', '_' or '-', starting alphanumeric",
        )
    return value


def validate_modes(modes: Iterable[Mode | str]) -> tuple[Mode, ...]:
    """Deduplicated modes in the order they are applied; empty means firewall."""
    try:
        chosen = {Mode(m) for m in modes} or {Mode.FIREWALL}
    except ValueError as e:
        raise UsageError(
            f"unknown isolation mode: {e}", hint="use firewall, disconnect, pause or stop"
        ) from e
    if {Mode.PAUSE, Mode.STOP} <= chosen:
        raise UsageError(
            "modes pause and stop exclude each other",
            hint="pause keeps memory for capture; stop ends the processes: pick one",
        )
    return tuple(m for m in Mode if m in chosen)


def parse_network(text: str) -> IPNetwork:
    """An address or a network with its prefix; host bits must be clear."""
    try:
        return ipaddress.ip_network(text.strip(), strict=True)
    except ValueError as e:
        try:
            loose = ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            raise UsageError(f"invalid address or prefix: {text!r}") from e
        raise UsageError(
            f"invalid address or prefix: {text!r} has host bits set",
            hint=f"did you mean {loose}?",
        ) from e


def validate_port(port: int | str) -> int:
    try:
        value = int(port)
    except (TypeError, ValueError) as e:
        raise UsageError(f"invalid port: {port!r}") from e
    if not 1 <= value <= 65535:
        raise UsageError(f"port out of range: {value}", hint="use 1-65535")
    return value


@dataclass(frozen=True)
class Allow:
    """A narrow hole in an isolation: traffic with `network`, optionally only on `port`
    (either side of the connection, TCP or UDP)."""

    network: IPNetwork
    port: int | None = None

    def __str__(self) -> str:
        if self.port is None:
            return str(self.network)
        if self.network.version == 6:
            return f"[{self.network}]:{self.port}"
        return f"{self.network}:{self.port}"


def parse_allow(text: str) -> Allow:
    """`ADDR[/PREFIX][:PORT]`, IPv6 with a port as `[ADDR[/PREFIX]]:PORT`."""
    value = text.strip()
    if value.startswith("["):
        inner, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise UsageError(f"invalid --allow: {text!r}", hint="use [ADDR[/PREFIX]]:PORT for IPv6")
        return Allow(parse_network(inner), validate_port(rest[1:]) if rest else None)
    if value.count(":") == 1:
        addr, _, port = value.partition(":")
        return Allow(parse_network(addr), validate_port(port))
    return Allow(parse_network(value))


@dataclass(frozen=True)
class BlockSpec:
    """An attacker's address to block for all containers and the host."""

    network: IPNetwork
    port: int | None = None
    proto: str | None = None
    direction: Direction = Direction.BOTH

    @property
    def key(self) -> str:
        """Stable identity, also used in rule comments (no spaces or quotes)."""
        parts = [str(self.network)]
        if self.proto:
            parts.append(f"{self.proto}/{self.port}" if self.port else self.proto)
        parts.append(self.direction.value)
        return ",".join(parts)


def block_spec(
    address: str, port: int | None = None, proto: str | None = None, direction: str = "both"
) -> BlockSpec:
    network = parse_network(address)
    if proto is not None and proto not in ("tcp", "udp"):
        raise UsageError(f"invalid protocol: {proto!r}", hint="use tcp or udp")
    checked_port = None if port is None else validate_port(port)
    if checked_port is not None and proto is None:
        proto = "tcp"
    try:
        way = Direction(direction)
    except ValueError as e:
        raise UsageError(f"invalid direction: {direction!r}", hint="use in, out or both") from e
    return BlockSpec(network, checked_port, proto, way)


def refusal(
    network: IPNetwork, own: Sequence[IPAddress], ssh_client: IPAddress | None
) -> str | None:
    """Why blocking `network` would hurt the responder or the host, or None."""
    if network.prefixlen == 0:
        return f"refusing to block {network}: that is every address"
    for loop in LOOPBACK:
        if network.version == loop.version and network.overlaps(loop):
            return f"refusing to block {network}: it covers loopback"
    if ssh_client is not None and ssh_client in network:
        return f"refusing to block {network}: it holds your SSH client address {ssh_client}"
    for address in own:
        if address in network:
            return f"refusing to block {network}: it holds this host's address {address}"
    return None
