"""Containment speed: `irkit isolate` against the same rules applied by a shell script.

Measures, in one run on this host (root, Docker engine, iptables):
  1. one container: `irkit isolate C --mode firewall` wall time (process start to
     rules in force) vs a `sh` script running the four `iptables -w -I` commands;
  2. fifty containers: one `irkit isolate c1 ... c50` vs fifty single calls,
     and vs the shell script for all fifty.
Prints medians and ratios. Cleans up its containers, network and rules.

Run: .venv/bin/python bench/contain.py [--repeat N] [--count 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.cleanup import remove_labelled, remove_rules  # noqa: E402
from tests.support.images import ensure_victim_image  # noqa: E402

LABEL = {"irkit.test": "1", "irkit.bench": "contain"}


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def irkit(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "-m", "irkit", *args], env=env, check=True, capture_output=True)


def shell_script(case: str, containers: list[tuple[str, str]]) -> str:
    lines = []
    for cid, ip in containers:
        tag = f"irkit:{case}:{cid[:12]}"
        for chain, flag in (
            ("DOCKER-USER", "-s"),
            ("DOCKER-USER", "-d"),
            ("INPUT", "-s"),
            ("OUTPUT", "-d"),
        ):
            lines.append(
                f"iptables -w -I {chain} 1 {flag} {ip}/32 -m comment --comment {tag} -j DROP"
            )
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--count", type=int, default=50)
    options = parser.parse_args()

    client = docker.from_env()
    image = ensure_victim_image(client)
    run_id = uuid.uuid4().hex[:8]
    labels = {**LABEL, "irkit.test.run": f"bench-{run_id}"}
    state = tempfile.mkdtemp(prefix="irkit-bench-")
    env = {**os.environ, "IRKIT_STATE_DIR": state, "NO_COLOR": "1", "PYTHONPATH": str(ROOT)}
    net = client.networks.create(f"irkit-bench-{run_id}", labels=labels)
    cases: list[str] = []
    try:
        print(f"starting {options.count} containers ...", file=sys.stderr)
        containers = [
            client.containers.run(
                image,
                detach=True,
                name=f"irkit-bench-{run_id}-{i}",
                network=net.name,
                labels=labels,
            )
            for i in range(options.count)
        ]
        names = [c.name for c in containers]
        targets = []
        for c in containers:
            c.reload()
            targets.append((c.id, c.attrs["NetworkSettings"]["Networks"][net.name]["IPAddress"]))

        def case() -> str:
            cases.append(f"bench{uuid.uuid4().hex[:8]}")
            return cases[-1]

        one_sh, one_irkit, startup = [], [], []
        for _ in range(options.repeat):
            startup.append(timed(lambda: irkit(env, "--version")))
            c = case()
            script = shell_script(c, targets[:1])
            one_sh.append(timed(lambda s=script: subprocess.run(["sh", "-c", s], check=True)))
            remove_rules(f"irkit:{c}:")
            c = case()
            one_irkit.append(timed(lambda c=c: irkit(env, "isolate", names[0], "--case", c)))
            irkit(env, "release", names[0])

        c = case()
        script = shell_script(c, targets)
        many_sh = timed(lambda: subprocess.run(["sh", "-c", script], check=True))
        remove_rules(f"irkit:{c}:")
        c = case()
        many_one_call = timed(lambda: irkit(env, "isolate", *names, "--case", c))
        release_one_call = timed(lambda: irkit(env, "release", *names))
        c = case()
        many_single = timed(lambda: [irkit(env, "isolate", n, "--case", c) for n in names])
        irkit(env, "release", *names)

        sh1, ir1 = statistics.median(one_sh), statistics.median(one_irkit)
        n = options.count
        print(f"one container, median of {options.repeat}:")
        print(f"  shell script (4 x iptables -w -I)  {sh1 * 1000:8.1f} ms")
        boot = statistics.median(startup)
        print(f"  irkit --version (start-up alone)   {boot * 1000:8.1f} ms")
        print(
            f"  irkit isolate --mode firewall       {ir1 * 1000:8.1f} ms   ratio {ir1 / sh1:6.1f}x"
        )
        print(f"{n} containers:")
        print(f"  shell script ({4 * n} x iptables)    {many_sh * 1000:8.1f} ms")
        print(
            f"  irkit isolate c1..c{n} (one call)  {many_one_call * 1000:8.1f} ms   "
            f"ratio {many_one_call / many_sh:6.2f}x vs shell"
        )
        print(
            f"  {n} x irkit isolate (single calls) {many_single * 1000:8.1f} ms   "
            f"one call is {many_single / many_one_call:5.1f}x faster"
        )
        print(f"  irkit release c1..c{n} (one call)  {release_one_call * 1000:8.1f} ms")
        print(
            f"targets: one < 1000 ms: {'met' if ir1 < 1 else 'MISSED'}; "
            f"{n} < 5000 ms: {'met' if many_one_call < 5 else 'MISSED'}"
        )
    finally:
        remove_labelled(client, f"irkit.test.run=bench-{run_id}")
        for c in cases:
            remove_rules(f"irkit:{c}:")
    return 0


if __name__ == "__main__":
    sys.exit(main())
