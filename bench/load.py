"""Load: N running containers (default 200); irkit status, triage, isolate and
release of 50 at once, against the raw cost of `docker inspect` of the same 50
(one CLI call) measured in the same run.

Checks the state file and the rule set after each change (as the test does).
Cleans up its containers, network and rules.

Run: .venv/bin/python bench/load.py [--running 200] [--isolate 50]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.cleanup import remove_labelled, remove_rules  # noqa: E402
from tests.support.images import ensure_victim_image  # noqa: E402
from tests.support.load import exercise, start_many  # noqa: E402

LABEL = {"irkit.bench": "load"}  # not irkit.test: test sweeps must not take these


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--running", type=int, default=200)
    parser.add_argument("--isolate", type=int, default=50)
    args = parser.parse_args()
    client = docker.from_env(timeout=120)
    run_label = uuid.uuid4().hex[:10]
    labels = {**LABEL, "irkit.bench.run": run_label}
    case = f"bench{run_label}"
    with tempfile.TemporaryDirectory() as tmp:
        image = ensure_victim_image(client)
        env = {**os.environ, "IRKIT_STATE_DIR": f"{tmp}/state", "NO_COLOR": "1"}

        def run(*argv: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "irkit", *argv], env=env, capture_output=True, text=True
            )

        network = client.networks.create(f"irkit-load-{run_label}", labels=labels)
        try:
            start = time.perf_counter()
            containers = start_many(client, image, args.running, labels, network.name)
            created = time.perf_counter() - start
            chosen = [c.name for c in containers[: args.isolate]]
            start = time.perf_counter()
            subprocess.run(["docker", "inspect", *chosen], capture_output=True, check=True)
            baseline = time.perf_counter() - start
            figures = exercise(run, containers, args.isolate, case)
        finally:
            remove_labelled(client, f"irkit.bench.run={run_label}")
            remove_rules(f"irkit:{case}:")
    print(f"{figures.running} running containers (started in {created:.1f} s, 8 at a time)")
    print(f"baseline: docker inspect of {args.isolate} (one CLI call): {baseline:.2f} s")
    for name, seconds in figures.seconds.items():
        print(f"  irkit {name:<18} {seconds:6.2f} s  ({seconds / baseline:5.1f}x baseline)")
    for problem in figures.problems:
        print(f"PROBLEM: {problem}")
    return 1 if figures.problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
