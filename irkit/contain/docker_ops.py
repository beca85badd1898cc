"""The Docker side of containment: read what a container is, change it, undo it.

Works on inspect dictionaries and the low-level API (one inspect per
container, no model reloads), with SDK errors turned into ours.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import docker

from irkit.contain.model import Step
from irkit.contain.spec import IPAddress, Mode
from irkit.contain.state import Endpoint, IsolationEntry
from irkit.engine.docker import engine_errors, get_container
from irkit.errors import IrkitError, UsageError

Attrs = Mapping[str, Any]


def inspect(client: docker.DockerClient, ref: str) -> Attrs:
    """Inspect data of a container by name or id (unknown: exit 2)."""
    attrs: Attrs = get_container(client, ref).attrs
    return attrs


def display_name(attrs: Attrs) -> str:
    return str(attrs.get("Name") or attrs["Id"][:12]).lstrip("/")


def addresses(attrs: Attrs) -> list[IPAddress]:
    """Every IPv4 and IPv6 address of the container, on every network."""
    found: list[IPAddress] = []
    networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    for net in networks.values():
        for key in ("IPAddress", "GlobalIPv6Address"):
            if net.get(key):
                address = ipaddress.ip_address(net[key])
                if address not in found:
                    found.append(address)
    return found


def firewall_addresses(attrs: Attrs) -> list[IPAddress]:
    """Addresses to firewall, or a one-line reason why this container cannot be."""
    name = display_name(attrs)
    mode = str((attrs.get("HostConfig") or {}).get("NetworkMode") or "")
    if mode == "host":
        raise UsageError(
            f"container {name} uses the host's network: firewall rules cannot single it out",
            hint="use --mode pause or --mode stop",
        )
    if mode.startswith("container:"):
        raise UsageError(
            f"container {name} shares the network of {mode[len('container:') :]}",
            hint="isolate that container, or use --mode pause or --mode stop",
        )
    if not (attrs.get("State") or {}).get("Running"):
        raise UsageError(
            f"container {name} is not running: firewall mode needs its live addresses",
            hint="use --mode disconnect (it stays off every network when started)",
        )
    found = addresses(attrs)
    if not found:
        raise UsageError(
            f"container {name} has no network address: nothing to firewall",
            hint="use --mode pause or --mode stop",
        )
    return found


def endpoints(attrs: Attrs) -> tuple[Endpoint, ...]:
    """Each network attachment with what `docker network connect` needs to redo it."""
    short_id = attrs["Id"][:12]
    result: list[Endpoint] = []
    networks = (attrs.get("NetworkSettings") or {}).get("Networks") or {}
    for name, net in networks.items():
        ipam = net.get("IPAMConfig") or {}
        result.append(
            Endpoint(
                network=name,
                network_id=str(net.get("NetworkID") or name),
                aliases=tuple(a for a in net.get("Aliases") or () if a != short_id),
                ipv4_address=ipam.get("IPv4Address") or None,
                ipv6_address=ipam.get("IPv6Address") or None,
                links=tuple(net.get("Links") or ()),
            )
        )
    return tuple(result)


def restart_policy(attrs: Attrs) -> dict[str, Any]:
    policy = (attrs.get("HostConfig") or {}).get("RestartPolicy") or {}
    return {
        "Name": policy.get("Name") or "no",
        "MaximumRetryCount": int(policy.get("MaximumRetryCount") or 0),
    }


def step(name: str, action: Callable[[], str]) -> Step:
    """Run one Docker change; its error becomes a failed step."""
    try:
        return Step(name, True, action())
    except IrkitError as e:
        return Step(name, False, e.message)


def apply_modes(
    client: docker.DockerClient, entry: IsolationEntry, attrs: Attrs, new: set[Mode], timeout: int
) -> list[Step]:
    """Disconnect, pause or stop, in that order, for the modes in `new`."""
    api = client.api
    cid = entry.container_id
    steps: list[Step] = []
    if Mode.DISCONNECT in new:
        for ep in entry.endpoints:
            steps.append(step(f"disconnect {ep.network}", partial(_disconnect, api, cid, ep)))
    if new & {Mode.PAUSE, Mode.STOP} and restart_policy(attrs)["Name"] != "no":
        steps.append(step("restart policy", lambda: _set_policy(api, cid, {"Name": "no"})))
    if Mode.PAUSE in new and not entry.was_paused:
        steps.append(step("pause", lambda: _call(api.pause, cid, what="pause")))
    if Mode.STOP in new and entry.was_running:
        steps.append(
            step("stop", lambda: _call(lambda c: api.stop(c, timeout=timeout), cid, what="stop"))
        )
    return steps


def undo_modes(client: docker.DockerClient, entry: IsolationEntry) -> list[Step]:
    """Reconnect, unpause or start, restore the restart policy; skip what is already so."""
    api = client.api
    cid = entry.container_id
    try:
        with engine_errors(f"inspecting {entry.name}"):
            now: Attrs = api.inspect_container(cid)
    except IrkitError as e:
        if "not found" in e.message:
            return [Step("container", True, "container is gone: nothing to restore")]
        return [Step("container", False, e.message)]
    steps: list[Step] = []
    if entry.restart_policy is not None:
        policy = dict(entry.restart_policy)
        steps.append(step("restart policy", lambda: _set_policy(api, cid, policy)))
    connected = (now.get("NetworkSettings") or {}).get("Networks") or {}
    for ep in entry.endpoints:
        if ep.network in connected:
            continue
        steps.append(step(f"reconnect {ep.network}", partial(_connect, api, cid, ep)))
    state = now.get("State") or {}
    if Mode.PAUSE in entry.modes and not entry.was_paused and state.get("Paused"):
        steps.append(step("unpause", lambda: _call(api.unpause, cid, what="unpause")))
    if Mode.STOP in entry.modes and entry.was_running and not state.get("Running"):
        steps.append(step("start", lambda: _call(api.start, cid, what="start")))
    return steps


def _call(func: Callable[[str], Any], cid: str, *, what: str) -> str:
    with engine_errors(f"{what} {cid[:12]}"):
        func(cid)
    return ""


def _set_policy(api: Any, cid: str, policy: Mapping[str, Any]) -> str:
    with engine_errors(f"setting restart policy of {cid[:12]}"):
        api.update_container(cid, restart_policy=dict(policy))
    return f"restart policy {policy.get('Name')}"


def _disconnect(api: Any, cid: str, ep: Endpoint) -> str:
    with engine_errors(f"disconnecting {cid[:12]} from {ep.network}"):
        api.disconnect_container_from_network(cid, ep.network_id, force=True)
    return ep.network


def _connect(api: Any, cid: str, ep: Endpoint) -> str:
    with engine_errors(f"reconnecting {cid[:12]} to {ep.network}"):
        api.connect_container_to_network(
            cid,
            ep.network_id,
            ipv4_address=ep.ipv4_address,
            ipv6_address=ep.ipv6_address,
            aliases=list(ep.aliases) or None,
            links=list(ep.links) or None,
        )
    return ep.network
