"""What the playbook engine costs on top of the work it drives.

1. Loading: `irkit.playbook.parse` (bounded YAML with line numbers, JSON Schema,
   semantic checks) against plain `yaml.safe_load` of the same shipped playbook.
2. Running: a 100-step playbook of no-op actions through the Runner (a thread
   per step, events, step records) against calling the same no-op 100 times.
3. For real (needs a Docker engine, run as root): `irkit run collect-only` in
   process against calling `collect()` into a BundleWriter directly, same container.

    .venv/bin/python bench/playbook.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from irkit import collect
from irkit.bundle.manifest import CaseInfo
from irkit.bundle.writer import BundleWriter
from irkit.engine.host import real_host
from irkit.playbook import ActionSpec, Registry, Runner, load, parse, resolve
from irkit.playbook.builtin import default_registry
from irkit.playbook.evidence import BundleSettings, writer_opener
from tests.support import cleanup, images
from tests.support.memory_bundle import MemoryBundle

STEPS = 100


def best(rounds: int, func: Callable[[], Any]) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        func()
        times.append(time.perf_counter() - started)
    return min(times)


def bench_load(rounds: int) -> None:
    text = load("contain-and-collect").text
    raw = best(rounds, lambda: [yaml.safe_load(text) for _ in range(50)]) / 50
    ours = best(rounds, lambda: [parse(text) for _ in range(50)]) / 50
    print(f"load contain-and-collect: safe_load {raw * 1e3:.2f} ms, parse+validate "
          f"{ours * 1e3:.2f} ms, ratio {ours / raw:.1f}x")  # fmt: skip


def bench_runner(rounds: int) -> None:
    def noop(ctx: Any, params: Any) -> dict[str, Any]:
        return {}

    text = "name: b\nsteps:\n" + "  - action: notify.syslog\n" * STEPS
    book = parse(text)
    registry = Registry([ActionSpec("notify.syslog", noop, "no-op")])

    def run() -> None:
        inputs = resolve(book.inputs, {"target": "web"})
        runner = Runner(book, inputs, registry, clock=real_host().clock,
                        emit=lambda e: None, open_bundle=MemoryBundle)  # fmt: skip
        runner.run()

    raw = best(rounds, lambda: [noop(None, {}) for _ in range(STEPS)])
    ours = best(rounds, run)
    print(f"runner, {STEPS} no-op steps: {ours * 1e3:.1f} ms in all, "
          f"{(ours - raw) / STEPS * 1e3:.3f} ms overhead per step")  # fmt: skip


def bench_real(rounds: int) -> None:
    host = real_host()
    client = host.docker
    label = {**images.TEST_LABEL, "irkit.test.run": uuid.uuid4().hex[:10]}
    image = images.ensure_victim_image(client)
    container = client.containers.run(image, name=f"irkit-bench-{label['irkit.test.run']}",
                                      labels=label, detach=True)  # fmt: skip
    try:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)

            def direct() -> None:
                path = folder / f"direct-{uuid.uuid4().hex[:6]}.zip"
                case = CaseInfo("bench", "bench")
                with BundleWriter(path, case, host.clock) as writer:
                    collect.collect(host, [container.name], writer)
                    writer.seal()

            def playbook() -> None:
                book = load("collect-only")
                inputs = resolve(book.inputs, {"target": container.name})
                settings = BundleSettings(folder, signer=None)
                opener = writer_opener(host, settings)
                Runner(book, inputs, default_registry(host), clock=host.clock,
                       emit=lambda e: None, open_bundle=opener).run()  # fmt: skip

            raw = statistics.median(best(1, direct) for _ in range(rounds))
            ours = statistics.median(best(1, playbook) for _ in range(rounds))
            print(f"collect-only on a busybox container: collect() {raw:.2f} s, "
                  f"irkit run {ours:.2f} s, ratio {ours / raw:.2f}x")  # fmt: skip
    finally:
        cleanup.remove_labelled(client, f"irkit.test.run={label['irkit.test.run']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    bench_load(args.rounds)
    bench_runner(args.rounds)
    bench_real(args.rounds)


if __name__ == "__main__":
    main()
