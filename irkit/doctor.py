"""Host readiness checks: can irkit contain and collect here, and if not, why."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass
from pathlib import Path

from irkit import config
from irkit.engine.commands import CommandRunner
from irkit.engine.host import Host
from irkit.errors import IrkitError


class Status(str, enum.Enum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


@dataclass(frozen=True)
class Report:
    checks: tuple[Check, ...]

    @property
    def ready(self) -> bool:
        return all(c.status is not Status.FAIL for c in self.checks)


def run_checks(host: Host) -> Report:
    checks: list[Check] = []
    engine_ok, ipv6 = _check_engine(host, checks)
    checks.append(_check_root())
    checks.extend(_check_iptables(host.commands, ipv6))
    checks.append(_check_br_netfilter(host.proc_root))
    checks.append(_check_capture(host, engine_ok))
    checks.append(_check_state_dir(host.state_dir))
    return Report(tuple(checks))


def _check_engine(host: Host, checks: list[Check]) -> tuple[bool, bool]:
    try:
        version = host.docker.version()
        info = host.docker.info()
    except IrkitError as e:
        checks.append(Check("docker engine", Status.FAIL, e.message, e.hint or ""))
        return False, False
    detail = (
        f"Docker {version.get('Version', '?')}, API {version.get('ApiVersion', '?')}, "
        f"storage {info.get('Driver', '?')}"
    )
    checks.append(Check("docker engine", Status.OK, detail))
    ipv6 = any(
        cfg.get("Subnet", "").count(":") > 0
        for net in host.docker.networks.list()
        for cfg in (net.attrs.get("IPAM") or {}).get("Config") or []
    )
    return True, ipv6


def _check_root() -> Check:
    if os.geteuid() == 0:
        return Check("root", Status.OK, "running as root")
    return Check(
        "root",
        Status.FAIL,
        "not running as root: iptables and /proc need it",
        "run irkit with sudo",
    )


def _check_iptables(commands: CommandRunner, ipv6: bool) -> list[Check]:
    result: list[Check] = []
    tools = [("iptables", True), ("ip6tables", ipv6)]
    for tool, required in tools:
        if commands.which(tool) is None:
            status = Status.FAIL if required else Status.WARN
            result.append(Check(tool, status, f"{tool} not found", "apt-get install iptables"))
            continue
        probe = commands.run([tool, "-w", "-n", "-L", "DOCKER-USER"], check=False, timeout=10)
        if probe.ok:
            result.append(Check(f"{tool} DOCKER-USER", Status.OK, "chain present"))
        else:
            status = Status.FAIL if required else Status.WARN
            result.append(
                Check(
                    f"{tool} DOCKER-USER",
                    status,
                    f"chain missing ({probe.stderr_line()}): the engine runs with iptables off",
                    "enable Docker's iptables integration, or use --mode disconnect",
                )
            )
    return result


def _check_br_netfilter(proc_root: Path) -> Check:
    knob = proc_root / "sys/net/bridge/bridge-nf-call-iptables"
    try:
        on = knob.read_text().strip() == "1"
    except OSError:
        on = False
    if on:
        return Check("br_netfilter", Status.OK, "bridged traffic passes iptables")
    return Check(
        "br_netfilter",
        Status.WARN,
        "off: firewall isolation cannot stop traffic between containers on the same bridge",
        "modprobe br_netfilter && sysctl -w net.bridge.bridge-nf-call-iptables=1",
    )


def _check_capture(host: Host, engine_ok: bool) -> Check:
    images = [config.capture_image(), config.LOCAL_CAPTURE_IMAGE]
    if engine_ok:
        present = {tag for image in host.docker.images.list() for tag in image.tags}
        for name in images:
            if name in present:
                return Check("capture", Status.OK, f"capture image {name} present")
    tcpdump = host.commands.which("tcpdump")
    nsenter = host.commands.which("nsenter")
    if tcpdump and nsenter:
        return Check(
            "capture",
            Status.OK,
            "no capture image; host fallback available (tcpdump + nsenter)",
            "irkit capture-image build",
        )
    return Check(
        "capture",
        Status.WARN,
        "no capture image and no host tcpdump/nsenter",
        "irkit capture-image build, or apt-get install tcpdump util-linux",
    )


def _check_state_dir(state_dir: Path) -> Check:
    try:
        state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe = state_dir / f".doctor-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        return Check(
            "state directory",
            Status.FAIL,
            f"{state_dir} not writable: {e.strerror}",
            "set IRKIT_STATE_DIR to a writable directory",
        )
    return Check("state directory", Status.OK, f"{state_dir} writable")
