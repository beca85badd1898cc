"""Capture overhead on a bulk TCP transfer between two containers.

A server container serves a 512 MiB file with busybox httpd; a client fetches
it with busybox wget. Each round times the fetch without capture (baseline),
with a sidecar capture and with a host capture of the client, all in the same
run, and reports throughput ratios, the pcap write rate and tcpdump's own
counters (captured, dropped by kernel). Run as root with the project's venv:
    .venv/bin/python bench/capture.py [--rounds 3] [--mib 512]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import docker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from irkit.capture import CaptureOptions, CaptureResult, Method, start_capture
from irkit.capture.model import parse_counters, tcpdump_args
from irkit.engine.host import real_host
from tests.support import cleanup, images

LABEL = {"irkit.test": "1", "irkit.bench": uuid.uuid4().hex[:10]}


def fetch(client_container: Any, url: str) -> float:
    started = time.perf_counter()
    result = client_container.exec_run(["wget", "-q", "-O", "/dev/null", url])
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    return elapsed


def captured_fetch(
    method: Method, image: str, target: Any, url: str, workdir: Path
) -> tuple[float, CaptureResult]:
    options = CaptureOptions(method=method, image=image, allow_pull=False)
    session = start_capture(real_host(), target.id, options, workdir / f"{method.value}.pcap")
    elapsed = fetch(target, url)
    result = session.stop()
    result.path.unlink()
    return elapsed, result


def raw_tcpdump_fetch(target: Any, url: str, workdir: Path) -> tuple[float, str, int]:
    """The reference: the same tcpdump flags writing straight to a file, no irkit."""
    pid = target.attrs["State"]["Pid"]
    pcap = workdir / "raw.pcap"
    args = tcpdump_args(CaptureOptions())[:-1]  # without the "-" of "-w -"
    argv = ["nsenter", f"--net=/proc/{pid}/ns/net", "tcpdump", "-Z", "root", *args, str(pcap)]
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    time.sleep(1)
    elapsed = fetch(target, url)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    size = pcap.stat().st_size
    pcap.unlink()
    return elapsed, stderr, size


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mib", type=int, default=512)
    args = parser.parse_args()
    client = docker.from_env(timeout=300)
    victim = images.ensure_victim_image(client)
    capture_image = images.ensure_capture_image(client)
    network = client.networks.create(f"irkit-bench-{LABEL['irkit.bench']}", labels=LABEL)
    try:
        serve = (
            f"mkdir -p /tmp/w && dd if=/dev/zero of=/tmp/w/big bs=1M count={args.mib} "
            "2>/dev/null && httpd -f -p 8000 -h /tmp/w"
        )
        server = client.containers.run(
            victim, ["sh", "-c", serve], detach=True, labels=LABEL, network=network.name
        )
        target = client.containers.run(victim, detach=True, labels=LABEL, network=network.name)
        server.reload()
        url = f"http://{server.attrs['NetworkSettings']['Networks'][network.name]['IPAddress']}:8000/big"
        deadline = time.monotonic() + 60
        while target.exec_run(["wget", "-q", "--spider", url]).exit_code != 0:
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.5)
        fetch(target, url)  # warm-up
        size = args.mib * 1024 * 1024
        times: dict[str, list[float]] = {"baseline": [], "raw": [], "sidecar": [], "host": []}
        raw: list[tuple[str, int]] = []
        results: dict[str, list[CaptureResult]] = {"sidecar": [], "host": []}
        with tempfile.TemporaryDirectory(prefix="irkit-bench-") as tmp:
            for _ in range(args.rounds):
                times["baseline"].append(fetch(target, url))
                target.reload()
                elapsed, stderr, written = raw_tcpdump_fetch(target, url, Path(tmp))
                times["raw"].append(elapsed)
                raw.append((stderr, written))
                for method in (Method.SIDECAR, Method.HOST):
                    elapsed, result = captured_fetch(method, capture_image, target, url, Path(tmp))
                    times[method.value].append(elapsed)
                    results[method.value].append(result)
        base = statistics.median(times["baseline"])
        print(f"bulk TCP fetch of {args.mib} MiB, median of {args.rounds} rounds")
        print(f"  baseline (no capture): {size / base / 1e6:8.1f} MB/s ({base:.3f} s)")
        t = statistics.median(times["raw"])
        counters = [parse_counters(err) for err, _ in raw]
        print(
            f"  raw tcpdump -w FILE:   {size / t / 1e6:8.1f} MB/s ({t:.3f} s), "
            f"throughput ratio {base / t:.2f}; pcap {raw[-1][1] / 1e6:.0f} MB; "
            f"captured {counters[-1].captured}, "
            f"dropped by kernel per round {[c.dropped_by_kernel for c in counters]}"
        )
        for name in ("sidecar", "host"):
            t = statistics.median(times[name])
            last = results[name][-1]
            dropped = [r.counters.dropped_by_kernel for r in results[name]]
            print(
                f"  {name:8s} capture:      {size / t / 1e6:8.1f} MB/s ({t:.3f} s), "
                f"throughput ratio {base / t:.2f}; pcap {last.bytes / 1e6:.0f} MB "
                f"written at {last.bytes / t / 1e6:.0f} MB/s, {last.packets} packets; "
                f"captured {last.counters.captured}, dropped by kernel per round {dropped}"
            )
    finally:
        cleanup.remove_labelled(client, f"irkit.bench={LABEL['irkit.bench']}")


if __name__ == "__main__":
    main()
